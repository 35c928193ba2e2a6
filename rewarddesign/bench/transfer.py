"""Moving complete runs between results stores: one JSON line per run.

A grid too long for one sitting can move to another machine: export its complete runs,
commit the ``.jsonl`` file, import it there, and ``bench`` runs only what is missing.
Each line is one object, keys sorted::

    {"attempts": 1, "finished": ..., "grid": "quick", "key": "<20 hex digits>",
     "method_label": "true", "position": 0, "result": {<RunResult.to_dict()>},
     "started": ...}

``result`` is the whole :class:`~rewarddesign.contract.runspec.RunResult` (curve, series,
wall time, versions, device); ``position`` is the run's place among the source store's
runs, so the importing store lists them (and ``report STORE`` prints its tables) in the
same order. Lines are sorted by grid, then key, so two exports of a growing store differ
by the new runs' lines alone.

Example:
    >>> import os, tempfile
    >>> from rewarddesign.contract.runspec import RunSpec
    >>> folder = tempfile.mkdtemp()
    >>> here = ResultsStore(os.path.join(folder, "here.sqlite"))
    >>> spec = RunSpec(task="classic/Pendulum-v1", method="true", agent="sac", seed=0)
    >>> run = StoredRun("0" * 20, "g", "true", RunResult(spec, [], -1.0), 0, None, None, 1)
    >>> here.record_complete([run])
    ['00000000000000000000']
    >>> export_runs(here, os.path.join(folder, "g.jsonl"))
    1
    >>> there = ResultsStore(os.path.join(folder, "there.sqlite"))
    >>> import_runs(there, os.path.join(folder, "g.jsonl"))  # (imported, skipped)
    (1, 0)
    >>> import_runs(there, os.path.join(folder, "g.jsonl"))  # already complete there
    (0, 1)
    >>> there.results()[0][1].final_return
    -1.0
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rewarddesign.bench.store import ResultsStore, StoredRun
from rewarddesign.common.checks import is_int, is_number
from rewarddesign.common.files import require_file, write_atomic
from rewarddesign.contract.runspec import RunResult
from rewarddesign.errors import FileFormatError, SpecError

FIELDS = ("attempts", "finished", "grid", "key", "method_label", "position", "result", "started")
"""The keys of every line."""

_KEY = re.compile(r"[0-9a-f]{20}")
_WRITTEN_BY = "each line is one run as `rewarddesign store export` writes it"


def run_line(run: StoredRun) -> str:
    """One run as a line of an export (no newline).

    Example:
        >>> from rewarddesign.contract.runspec import RunResult, RunSpec
        >>> spec = RunSpec(task="classic/Pendulum-v1", method="true", agent="sac", seed=0)
        >>> run = StoredRun("0" * 20, "g", "true", RunResult(spec, [], -1.0), 0, None, None, 1)
        >>> parse_line(run_line(run), "here") == run
        True
    """
    doc = {
        "attempts": run.attempts,
        "finished": run.finished,
        "grid": run.grid,
        "key": run.key,
        "method_label": run.method_label,
        "position": run.position,
        "result": run.result.to_dict(),
        "started": run.started,
    }
    return json.dumps(doc, sort_keys=True)


def export_runs(store: ResultsStore, path: str | Path, grid: str | None = None) -> int:
    """Write the complete runs of ``store`` (of ``grid`` alone, if given) to ``path``.

    One JSON line per run, sorted by grid then key; written atomically (a reader sees the
    old file or the new one). Running and failed runs are left out.

    Args:
        store: The results store.
        path: The ``.jsonl`` file to write (its folder is created if missing).
        grid: A grid name of the store's (:meth:`ResultsStore.grids`), or None for all.

    Returns:
        The number of runs written.

    Raises:
        SpecError: If ``grid`` has no runs in the store (the message lists its grids).

    Example:
        >>> import os, tempfile
        >>> store = ResultsStore(os.path.join(tempfile.mkdtemp(), "s.sqlite"))
        >>> export_runs(store, os.path.join(os.path.dirname(store.path), "all.jsonl"))
        0
    """
    if grid is not None and grid not in store.grids():
        grids = ", ".join(store.grids()) or "(none: the store is empty)"
        raise SpecError(
            f"store {str(store.path)!r} holds no runs of grid {grid!r}; its grids: {grids}. "
            "Pass one of them to --grid, or leave --grid out to export every grid."
        )
    runs = sorted(store.complete_runs(grid), key=lambda r: (r.grid, r.key))
    write_atomic(path, "".join(run_line(run) + "\n" for run in runs))
    return len(runs)


def read_runs(path: str | Path) -> list[StoredRun]:
    """Read and check every line of an export; nothing is written.

    Blank lines are skipped.

    Args:
        path: A ``.jsonl`` file as :func:`export_runs` writes it.

    Returns:
        The runs, in file order.

    Raises:
        FileFormatError: If the file is missing or unreadable, or a line is not JSON, lacks
            or adds a field, holds a value of the wrong type, a result that does not
            parse, or a key an earlier line has; the message names the file and line.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "runs.jsonl")
        >>> _ = open(path, "w").write('{"key": 1}\\n')
        >>> try:
        ...     read_runs(path)
        ... except FileFormatError as exc:
        ...     print(str(exc).split(" ['")[0].replace(repr(path), "FILE"))
        FILE, line 1: missing field(s)
    """
    path = require_file(path, "run export (.jsonl)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(
            f"cannot read {str(path)!r} as a run export: {type(exc).__name__}; {_WRITTEN_BY}."
        ) from exc
    runs: list[StoredRun] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        run = parse_line(line, f"{str(path)!r}, line {number}")
        if run.key in first_line:
            raise FileFormatError(
                f"{str(path)!r}, line {number}: run key {run.key} is also on line "
                f"{first_line[run.key]}; keep one of the two lines."
            )
        first_line[run.key] = number
        runs.append(run)
    return runs


def import_runs(store: ResultsStore, path: str | Path) -> tuple[int, int]:
    """Write the runs of an export into ``store`` as complete runs, in one transaction.

    Every line is checked before anything is written. A key already complete in ``store``
    is skipped; one that is ``running`` or ``failed`` there is replaced.

    Args:
        store: The results store to write (see :meth:`ResultsStore.record_complete`).
        path: A ``.jsonl`` file as :func:`export_runs` writes it.

    Returns:
        ``(imported, skipped)``: runs written, and runs skipped as already complete.

    Raises:
        FileFormatError: On a malformed line (see :func:`read_runs`); the store is unchanged.

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> empty = os.path.join(folder, "empty.jsonl")
        >>> _ = open(empty, "w")
        >>> import_runs(ResultsStore(os.path.join(folder, "s.sqlite")), empty)
        (0, 0)
    """
    runs = read_runs(path)
    written = store.record_complete(runs)
    return len(written), len(runs) - len(written)


def parse_line(line: str, where: str) -> StoredRun:
    """One line of an export as a run; ``where`` names the file and line in errors.

    Raises:
        FileFormatError: If the line is not such a run (see :func:`read_runs`).
    """
    try:
        doc = json.loads(line)
    except ValueError as exc:
        raise FileFormatError(f"{where} is not JSON ({exc}); {_WRITTEN_BY}.") from exc
    if not isinstance(doc, dict):
        raise FileFormatError(
            f"{where} holds a JSON {type(doc).__name__}, not an object; {_WRITTEN_BY}."
        )
    missing = sorted(set(FIELDS) - set(doc))
    if missing:
        raise FileFormatError(f"{where}: missing field(s) {missing}; {_WRITTEN_BY}.")
    extra = sorted(set(doc) - set(FIELDS))
    if extra:
        raise FileFormatError(
            f"{where}: unknown field(s) {extra}; allowed: {', '.join(FIELDS)} ({_WRITTEN_BY})."
        )
    if not isinstance(doc["key"], str) or not _KEY.fullmatch(doc["key"]):
        raise FileFormatError(f"{where}: key must be 20 hex digits, got {doc['key']!r}.")
    for name in ("grid", "method_label"):
        if not isinstance(doc[name], str) or not doc[name]:
            raise FileFormatError(f"{where}: {name} must be a non-empty string, got {doc[name]!r}.")
    for name in ("position", "attempts"):
        if not is_int(doc[name]) or doc[name] < 0:
            raise FileFormatError(f"{where}: {name} must be an integer >= 0, got {doc[name]!r}.")
    for name in ("started", "finished"):
        if doc[name] is not None and not is_number(doc[name]):
            raise FileFormatError(f"{where}: {name} must be a number or null, got {doc[name]!r}.")
    return StoredRun(
        key=doc["key"],
        grid=doc["grid"],
        method_label=doc["method_label"],
        result=_result(doc["result"], where),
        position=doc["position"],
        started=doc["started"],
        finished=doc["finished"],
        attempts=doc["attempts"],
    )


def _result(data: Any, where: str) -> RunResult:
    if not isinstance(data, dict):
        raise FileFormatError(
            f"{where}: result must be an object (a RunResult), got {type(data).__name__}."
        )
    try:
        result = RunResult.from_dict(data)
        result.spec.validate()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # ValueError covers SpecError and ParameterError from the spec's own checks
        why = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise FileFormatError(
            f"{where}: the result does not parse as a RunResult ({type(exc).__name__}: {why}); "
            f"{_WRITTEN_BY}."
        ) from exc
    return result
