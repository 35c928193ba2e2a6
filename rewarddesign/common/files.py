"""Where the packaged YAML lives, safe YAML loading and atomic writes.

The task specs (``envs/``), agent specs (``agents/``) and benchmark grids
(``benchmarks/grids/``) sit at the top of the source tree; a wheel carries copies of
them under ``rewarddesign/_data/``. Lookups prefer the wheel's copy and fall back to
the source tree, so both an installed wheel and an editable checkout work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from rewarddesign.errors import SpecError

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
