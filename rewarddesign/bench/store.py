"""The results store: one SQLite file, written by the driver process alone.

Tables:

* ``runs``: one row per run key (grid, method label, spec JSON, status, RunResult JSON,
  final return and success, error and traceback, start/finish times, wall time, versions,
  device, attempts). Status is ``running`` while a run is in flight, then ``done`` or
  ``failed``; ``attempts`` counts the times a worker started it. A complete run rerun
  (``--force``) stays ``done`` with its old result until the new one replaces it.
* ``series``: ``(run key, series name, step, value)``; the evaluation curve is stored as
  the series ``true_return`` next to the method's own series.

Complete runs move between stores as :class:`StoredRun` objects
(:meth:`ResultsStore.complete_runs` reads them, :meth:`ResultsStore.record_complete` writes
them; the file format is :mod:`rewarddesign.bench.transfer`'s).

Every state change is one transaction, so a killed driver leaves the file consistent and
loses at most the runs that were in flight (they are still ``running`` and rerun next
time; a forced rerun in flight leaves the old result, complete).

Example:
    >>> import tempfile, os
    >>> store = ResultsStore(os.path.join(tempfile.mkdtemp(), "results.sqlite"))
    >>> store.integrity_check()
    'ok'
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rewarddesign.contract.runspec import RunResult, RunSpec
from rewarddesign.errors import SpecError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    grid TEXT NOT NULL,
    method_label TEXT NOT NULL,
    spec TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    result TEXT,
    final_return REAL,
    final_success REAL,
    error TEXT,
    traceback TEXT,
    started REAL,
    finished REAL,
    wall_time REAL,
    versions TEXT,
    device TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS series (
    run_key TEXT NOT NULL REFERENCES runs(key) ON DELETE CASCADE,
    name TEXT NOT NULL,
    step INTEGER NOT NULL,
    value REAL,
    PRIMARY KEY (run_key, name, step)
);
CREATE INDEX IF NOT EXISTS runs_by_grid ON runs (grid, status);
"""

DONE, RUNNING, FAILED = "done", "running", "failed"


@dataclass(frozen=True)
class StoredRun:
    """One complete run as a store's row holds it: what moves between stores.

    The wall time, versions and device are the result's own (the row's columns are copies).

    Attributes:
        key: The run key.
        grid: The grid it ran in.
        method_label: Its method label in that grid.
        result: The result, series and curve included.
        position: Its place among all the store's runs (0 first): the order
            :meth:`ResultsStore.results` lists them in, kept by an import.
        started: When it started (seconds since the epoch), None if unknown.
        finished: When it finished, None if unknown.
        attempts: How many times a worker started it.

    Example:
        >>> from rewarddesign.contract.runspec import RunSpec
        >>> spec = RunSpec(task="classic/Pendulum-v1", method="true", agent="sac", seed=0)
        >>> run = StoredRun("0" * 20, "g", "true", RunResult(spec, [], -1.0), 0, None, None, 1)
        >>> run.result.final_return
        -1.0
    """

    key: str
    grid: str
    method_label: str
    result: RunResult
    position: int
    started: float | None
    finished: float | None
    attempts: int


def _series_rows(key: str, result: RunResult) -> list[tuple[str, str, int, float]]:
    """The ``series`` rows of a result: its curve as ``true_return``, then its series."""
    rows = [(key, "true_return", p.step, p.mean_return) for p in result.curve]
    return rows + [(key, name, s, v) for name, pts in result.series.items() for s, v in pts]


class ResultsStore:
    """SQLite store of benchmark runs (see the module docstring for the tables).

    Args:
        path: The database file; its folder must exist. Created if missing.

    Raises:
        SpecError: If the folder is missing or the file is not a usable SQLite database.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise SpecError(
                f"store folder {str(self.path.parent)!r} does not exist; create it or pass "
                "--store with a path in an existing folder."
            )
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            check = self.integrity_check()
            if check != "ok":
                raise sqlite3.DatabaseError(check)
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise SpecError(
                f"results store {str(self.path)!r} is not a usable SQLite database ({exc}); "
                "move it aside or pass --store with another path."
            ) from exc

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``'ok'`` for a sound file."""
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def statuses(self, keys: Iterable[str]) -> dict[str, str]:
        """Status of each known key (keys never run are absent)."""
        return dict(self._select("key, status", keys))

    def _select(self, columns: str, keys: Iterable[str], where: str = "") -> list[tuple]:
        """``columns`` of the rows among ``keys`` (in chunks SQLite's limits allow)."""
        keys = list(keys)
        found: list[tuple] = []
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT {columns} FROM runs WHERE {where} key IN ({marks})", chunk
            )
            found += rows.fetchall()
        return found

    def mark_running(self, key: str, grid: str, label: str, spec: RunSpec) -> None:
        """Record that a worker started a run (a new row, or a rerun of an old one).

        A complete run rerun (``--force``) stays ``done`` with its result, reported, until
        :meth:`record_result` replaces it in one transaction: a driver killed during
        ``--force`` loses nothing that had finished. Only its attempt count goes up.
        """
        with self._transaction():
            self._db.execute(
                """INSERT INTO runs (key, grid, method_label, spec, status, started, attempts)
                   VALUES (?, ?, ?, ?, 'running', ?, 1)
                   ON CONFLICT(key) DO UPDATE SET attempts = attempts + 1,
                     status = CASE WHEN status = 'done' THEN 'done' ELSE 'running' END,
                     started = CASE WHEN status = 'done' THEN started
                                    ELSE excluded.started END,
                     grid = excluded.grid, method_label = excluded.method_label""",
                (key, grid, label, spec.to_json(), time.time()),
            )

    def record_result(self, key: str, result: RunResult) -> None:
        """Store a finished run and its series in one transaction (over an old result)."""
        rows = _series_rows(key, result)
        finished = time.time()
        with self._transaction():
            self._db.execute(
                """UPDATE runs SET status = 'done', result = ?, final_return = ?,
                     final_success = ?, started = ?, finished = ?, wall_time = ?,
                     versions = ?, device = ?, error = NULL, traceback = NULL
                   WHERE key = ?""",
                (
                    result.to_json(),
                    result.final_return,
                    result.final_success,
                    finished - result.wall_time,
                    finished,
                    result.wall_time,
                    json.dumps(result.versions),
                    result.device,
                    key,
                ),
            )
            self._db.execute("DELETE FROM series WHERE run_key = ?", (key,))
            self._db.executemany("INSERT OR REPLACE INTO series VALUES (?, ?, ?, ?)", rows)

    def record_failure(self, key: str, error: str, traceback: str) -> None:
        """Store the error and traceback of a run that raised.

        A forced rerun of a complete run that fails keeps the old result, ``done``; its
        error and traceback are stored beside it.
        """
        with self._transaction():
            self._db.execute(
                """UPDATE runs SET error = ?, traceback = ?,
                     finished = CASE WHEN status = 'done' THEN finished ELSE ? END,
                     status = CASE WHEN status = 'done' THEN 'done' ELSE 'failed' END
                   WHERE key = ?""",
                (error, traceback, time.time(), key),
            )

    def attempts(self, keys: Iterable[str]) -> dict[str, int]:
        """How many times a worker started each known key."""
        return dict(self._select("key, attempts", keys))

    def wall_times(self) -> list[tuple[RunSpec, float]]:
        """``(spec, wall time in seconds)`` of every complete run."""
        rows = self._db.execute("SELECT spec, wall_time FROM runs WHERE status = 'done'")
        return [(RunSpec.from_json(spec), wall) for spec, wall in rows.fetchall()]

    def results(self) -> list[tuple[str, RunResult]]:
        """``(method label, result)`` of every finished run."""
        rows = self._db.execute(
            "SELECT method_label, result FROM runs WHERE status = 'done' ORDER BY rowid"
        ).fetchall()
        return [(label, RunResult.from_json(text)) for label, text in rows]

    def results_by_key(self, keys: Iterable[str]) -> list[tuple[str, RunResult]]:
        """``(key, result)`` of the finished runs among ``keys``."""
        rows = self._select("key, result", keys, "status = 'done' AND")
        return [(k, RunResult.from_json(text)) for k, text in rows]

    def failures(self, keys: Iterable[str] | None = None) -> list[tuple[str, str, str]]:
        """``(key, error, traceback)`` of the failed runs (among ``keys``, if given), and
        of complete runs whose forced rerun failed (their old result is kept)."""
        rows = self._db.execute(
            "SELECT key, error, traceback FROM runs WHERE status = 'failed' OR error IS NOT NULL"
        ).fetchall()
        if keys is None:
            return rows
        keys = set(keys)
        return [row for row in rows if row[0] in keys]

    def complete_runs(self, grid: str | None = None) -> list[StoredRun]:
        """Every complete run (of ``grid`` alone, if given), in the store's order."""
        rows = self._db.execute(
            """SELECT key, grid, method_label, status, result, started, finished, attempts
               FROM runs ORDER BY rowid"""
        ).fetchall()
        return [
            StoredRun(key, g, label, RunResult.from_json(text), i, started, finished, attempts)
            for i, (key, g, label, status, text, started, finished, attempts) in enumerate(rows)
            if status == DONE and (grid is None or g == grid)
        ]

    def record_complete(self, runs: Sequence[StoredRun]) -> list[str]:
        """Write complete runs from another store, all in one transaction.

        Keys already complete here are left as they are; a ``running`` or ``failed`` row
        is replaced by the run. New rows are added in ``position`` order, so
        :meth:`results` lists them in the order their own store did.

        Returns:
            The keys written.
        """
        with self._transaction():
            # looked up inside the transaction: no other writer can complete a key meanwhile
            status = self.statuses(r.key for r in runs)
            done = {k for k, s in status.items() if s == DONE}
            todo = sorted((r for r in runs if r.key not in done), key=lambda r: r.position)
            for run in todo:
                self._write_complete(run)
        return [run.key for run in todo]

    def _write_complete(self, run: StoredRun) -> None:
        result = run.result
        self._db.execute(
            """INSERT INTO runs (key, grid, method_label, spec, status, result, final_return,
                 final_success, started, finished, wall_time, versions, device, attempts)
               VALUES (?, ?, ?, ?, 'done', ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(key) DO UPDATE SET grid = excluded.grid,
                 method_label = excluded.method_label, spec = excluded.spec, status = 'done',
                 result = excluded.result, final_return = excluded.final_return,
                 final_success = excluded.final_success, started = excluded.started,
                 finished = excluded.finished, wall_time = excluded.wall_time,
                 versions = excluded.versions, device = excluded.device,
                 attempts = excluded.attempts, error = NULL, traceback = NULL""",
            (
                run.key,
                run.grid,
                run.method_label,
                result.spec.to_json(),
                result.to_json(),
                result.final_return,
                result.final_success,
                run.started,
                run.finished,
                result.wall_time,
                json.dumps(result.versions),
                result.device,
                run.attempts,
            ),
        )
        self._db.execute("DELETE FROM series WHERE run_key = ?", (run.key,))
        self._db.executemany(
            "INSERT OR REPLACE INTO series VALUES (?, ?, ?, ?)", _series_rows(run.key, result)
        )

    def grids(self) -> list[str]:
        """Names of the grids with runs in the store."""
        return [g for (g,) in self._db.execute("SELECT DISTINCT grid FROM runs ORDER BY grid")]

    def _transaction(self):
        return _Transaction(self._db)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on an exception)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
