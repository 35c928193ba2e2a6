"""Where the packaged YAML lives, safe loading (YAML, JSON, ``.npz``, torch state dicts)
and atomic writes.

Every loader refuses a missing file, a folder, a corrupt file or a file of another kind with
one :class:`~rewarddesign.errors.FileFormatError` that names the file and what it should
be; none unpickles code (``allow_pickle=False``, ``weights_only=True``), and none passes on
a library's advice to switch that off.

The task specs (``envs/``), agent specs (``agents/``) and benchmark grids
(``benchmarks/grids/``) sit at the top of the source tree; a wheel carries copies of
them under ``rewarddesign/_data/``. Lookups prefer the wheel's copy and fall back to
the source tree, so both an installed wheel and an editable checkout work.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rewarddesign.errors import FileFormatError, SpecError

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
# kind -> (folder inside the wheel, folder in the source tree)
_FOLDERS = {
    "envs": ("_data/envs", "envs"),
    "agents": ("_data/agents", "agents"),
    "grids": ("_data/grids", "benchmarks/grids"),
}


def data_dir(kind: str) -> Path:
    """Return the folder of packaged YAML files of one kind.

    Args:
        kind: ``"envs"``, ``"agents"`` or ``"grids"``.

    Returns:
        The folder; the installed wheel's copy when present, else the source tree's.
    """
    if kind not in _FOLDERS:
        raise SpecError(f"unknown data kind {kind!r}; valid kinds: {', '.join(_FOLDERS)}.")
    packaged, source = _FOLDERS[kind]
    inside = _PACKAGE_DIR / packaged
    if inside.is_dir():
        return inside
    return _PACKAGE_DIR.parent / source


def load_yaml(path: str | Path) -> Any:
    """Load one YAML file with ``yaml.safe_load``.

    Args:
        path: The file.

    Returns:
        The parsed document.

    Raises:
        SpecError: If the file is missing or is not valid YAML.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(f"cannot read YAML file {str(path)!r}: {exc.strerror}.") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or "invalid syntax"
        raise SpecError(
            f"malformed YAML in {str(path)!r}{at}: {problem}; fix the syntax there."
        ) from exc


def write_atomic(path: str | Path, text: str | bytes) -> None:
    """Write a text file atomically: a temporary file in the same folder, then a rename.

    A reader sees the old file or the new one, never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(text.encode() if isinstance(text, str) else text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


NPZ_KINDS: dict[str, tuple[frozenset[str], str]] = {}
"""Kinds of ``.npz`` file the package writes: kind -> (arrays it always holds, what writes
it), so a file of one kind given as another is named for what it is."""


def register_npz_kind(kind: str, keys: Iterable[str], written_by: str) -> None:
    """Declare a kind of ``.npz`` file (its module does, on import).

    Args:
        kind: Its name in messages, e.g. ``"trajectory file"``.
        keys: The arrays every file of this kind holds.
        written_by: What writes it, e.g. ``"`rewarddesign rollout`"``.
    """
    NPZ_KINDS[kind] = (frozenset(keys), written_by)


def _wanted(kind: str) -> str:
    made = NPZ_KINDS.get(kind, (None, ""))[1]
    return f"{_a(kind)} {kind}" + (f" (as {made} writes)" if made else "")


def _a(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def require_file(path: str | Path, kind: str) -> Path:
    """Return ``path`` if it is an existing file, else raise, naming what it should be.

    Raises:
        FileFormatError: The path does not exist or is a folder.
    """
    path = Path(path)
    if path.is_dir():
        raise FileFormatError(f"{str(path)!r} is a folder; expected {_wanted(kind)}.")
    if not path.exists():
        raise FileFormatError(f"no such file {str(path)!r}; expected {_wanted(kind)}.")
    return path


def require_dir(path: str | Path, kind: str) -> Path:
    """Return ``path`` if it is an existing folder, else raise, naming what it should be.

    Args:
        path: The folder.
        kind: What it should hold, with its article: ``"a reward model (...)"``.

    Raises:
        FileFormatError: The path does not exist or is a file.
    """
    path = Path(path)
    if path.is_file():
        raise FileFormatError(f"cannot load {kind} from {str(path)!r}: it is a file, not a folder.")
    if not path.is_dir():
        raise FileFormatError(f"cannot load {kind} from {str(path)!r}: no such folder.")
    return path


def load_json(path: str | Path, kind: str) -> dict[str, Any]:
    """Read a JSON file that holds one object.

    Args:
        path: The file.
        kind: What it should be, for messages (``"agent config"``).

    Raises:
        FileFormatError: Missing, a folder, unreadable, not JSON, or not an object.
    """
    path = require_file(path, kind)
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FileFormatError(
            f"{str(path)!r} is not {_wanted(kind)}: not readable JSON ({type(exc).__name__})."
        ) from exc
    if not isinstance(doc, dict):
        raise FileFormatError(
            f"{str(path)!r} is not {_wanted(kind)}: it holds a JSON "
            f"{type(doc).__name__}, not an object."
        )
    return doc


def load_npz(
    path: str | Path, kind: str, required: Iterable[str] | None = None
) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` file (``allow_pickle=False``).

    Args:
        path: The file.
        kind: What it should be (a kind given to :func:`register_npz_kind`, or any name).
        required: Arrays it must hold (default: the registered kind's).

    Returns:
        The arrays by name, all read (a truncated file fails here, not later).

    Raises:
        FileFormatError: Missing, a folder, not an ``.npz`` archive, truncated, holding
            pickled objects, or lacking arrays (named as the kind it is, if it is one).
    """
    path = require_file(path, kind)
    with open(path, "rb") as f:
        magic = f.read(6)
    if not magic.startswith(b"PK"):  # np.load would take anything else for .npy or pickle
        what = "a single .npy array" if magic == b"\x93NUMPY" else "not an .npz archive"
        raise FileFormatError(f"{str(path)!r} is not {_wanted(kind)}: {what}.")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except ValueError as exc:
        why = (
            "it holds pickled Python objects, which are never loaded (unsafe)"
            if "pickle" in str(exc)
            else "not an .npz archive of arrays"
        )
        raise FileFormatError(f"{str(path)!r} is not {_wanted(kind)}: {why}.") from exc
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise FileFormatError(
            f"{str(path)!r} is not {_wanted(kind)}: not a readable .npz archive "
            f"(truncated or corrupt: {type(exc).__name__})."
        ) from exc
    need = set(NPZ_KINDS.get(kind, ((),))[0] if required is None else required)
    missing = sorted(need - set(arrays))
    if missing:
        others = [k for k, (keys, _) in NPZ_KINDS.items() if k != kind and keys <= set(arrays)]
        what = f"it is {_wanted(others[0])}" if others else f"it lacks arrays {missing}"
        raise FileFormatError(f"{str(path)!r} is not {_wanted(kind)}: {what}.")
    return arrays


def load_state_dict(path: str | Path, kind: str, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a torch state dict (``weights_only=True``: no code is unpickled).

    Args:
        path: The ``.pt`` file.
        kind: What it should be, for messages (``"reward model"``).
        map_location: Passed to ``torch.load``.

    Returns:
        The state dict: tensor (or plain value) by parameter name.

    Raises:
        FileFormatError: Missing, a folder, corrupt or truncated, holding other Python
            objects than tensors, or not a mapping of names.
    """
    import pickle

    import torch

    path = require_file(path, kind)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's own message advises weights_only=False: never pass that on
        why = (
            "it holds Python objects besides tensors, which are never loaded (unsafe)"
            if "Unsupported global" in str(exc)
            else "not a torch file (corrupt or truncated)"
        )
        raise FileFormatError(f"{str(path)!r} is not {_a(kind)} {kind} state dict: {why}.") from exc
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise FileFormatError(
            f"{str(path)!r} is not {_a(kind)} {kind} state dict: not a readable torch file "
            f"(corrupt or truncated: {type(exc).__name__})."
        ) from exc
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise FileFormatError(
            f"{str(path)!r} is not {_a(kind)} {kind} state dict: it holds a "
            f"{type(state).__name__}, not a mapping of parameter names to tensors."
        )
    return state
