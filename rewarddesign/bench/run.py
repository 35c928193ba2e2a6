"""The benchmark driver: grid -> run keys -> store lookups -> executor -> store.

The driver process alone writes the store. Complete runs are skipped (unless ``force``);
runs left ``running`` by a killed driver and ``failed`` runs are run again.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rewarddesign.bench.executors import Executor, Outcome, Started
from rewarddesign.bench.grid import Grid, GridRun
from rewarddesign.bench.keys import run_key
from rewarddesign.bench.store import DONE, ResultsStore
from rewarddesign.contract.runspec import RunResult
from rewarddesign.experiment.runner import validate


@dataclass
class GridProgress:
    """Counts of a grid in progress (what the live display and the progress lines show)."""

    total: int
    skipped: int = 0
    done: int = 0
    failed: int = 0
    submitted: int = 0
    started: int = 0
    wall_times: list[float] = field(default_factory=list)
    began: float = field(default_factory=time.perf_counter)

    @property
    def remaining(self) -> int:
        """Runs neither finished nor skipped."""
        return self.total - self.skipped - self.done - self.failed

    @property
    def running(self) -> int:
        """Runs a worker has started that have not finished."""
        return self.started - self.done - self.failed

    @property
    def elapsed(self) -> float:
        """Seconds since the grid started."""
        return time.perf_counter() - self.began

    def eta(self, workers: int) -> float | None:
        """Seconds left, from the mean wall time of finished runs; None before the first."""
        if not self.wall_times:
            return None
        mean = sum(self.wall_times) / len(self.wall_times)
        return mean * self.remaining / max(1, workers)


def _keyed(grid: Grid) -> tuple[list[str], dict[str, GridRun]]:
    """Every grid run's key, and the distinct runs by key (identical runs run once)."""
    for run in grid.runs:  # fail on a bad name before spending any compute
        validate(run.spec)
    keys = [run_key(run.spec) for run in grid.runs]
    keyed: dict[str, GridRun] = {}
    for key, run in zip(keys, grid.runs, strict=True):
        keyed.setdefault(key, run)
    return keys, keyed


def run_grid(
    grid: Grid,
    store: ResultsStore,
    executor: Executor,
    *,
    force: bool = False,
    on_update: Callable[[GridProgress, Outcome | None], None] | None = None,
) -> list[tuple[str, RunResult]]:
    """Run every run of ``grid`` not already complete in ``store``.

    Every spec is validated before any run starts. A run is marked running when a worker
    starts it (runs waiting for a worker are left as they were). A run that raises is
    recorded with its error and traceback, and the grid goes on. With ``force``, a
    complete run keeps its result, reported, until the new one replaces it.

    Args:
        grid: The expanded grid.
        store: Where results go (and where completed runs are looked up).
        executor: How runs execute (local processes, in this process, or a cluster).
        force: Rerun runs that are already complete.
        on_update: Called with the progress after each started and finished run (and
            once at start); the outcome is None but for a finished run.

    Returns:
        ``(method label, result)`` of every complete run of the grid, in grid order.
    """
    keys, keyed = _keyed(grid)
    status = store.statuses(keyed)
    todo = [(k, r) for k, r in keyed.items() if force or status.get(k) != DONE]
    progress = GridProgress(total=len(keyed), skipped=len(keyed) - len(todo))
    progress.submitted = len(todo)
    if on_update:
        on_update(progress, None)
    # closing(): on Ctrl-C or any error the executor stops its workers at once
    with contextlib.closing(executor.run([(k, r.spec) for k, r in todo])) as events:
        for event in events:
            if isinstance(event, Started):
                run = keyed[event.key]
                store.mark_running(event.key, grid.name, run.method_label, run.spec)
                progress.started += 1
                outcome = None
            elif event.result is not None:
                store.record_result(event.key, event.result)
                progress.done += 1
                progress.wall_times.append(event.result.wall_time)
                outcome = event
            else:
                store.record_failure(event.key, event.error or "", event.traceback or "")
                progress.failed += 1
                outcome = event
            if on_update:
                on_update(progress, outcome)
    return grid_results(grid, store, keys)


@dataclass(frozen=True)
class PlannedRun:
    """One distinct run of a grid as ``bench --dry-run`` lists it.

    Attributes:
        key: The run key.
        run: The grid run (spec and method label).
        status: Its status in the store (``done``, ``failed``, ``running``), None if new.
        runs: Whether :func:`run_grid` would run it (not complete, or ``force``).
        estimate: Seconds it would take, from the store's like runs (None: none there).
    """

    key: str
    run: GridRun
    status: str | None
    runs: bool
    estimate: float | None


def plan_grid(grid: Grid, store: ResultsStore | None, *, force: bool = False) -> list[PlannedRun]:
    """What :func:`run_grid` would do, without running anything.

    Each distinct run with its key, its status in ``store`` (None: no store yet), whether
    it would run and an estimate of its wall time: the median seconds per env step of
    the store's complete runs of the same task and method, times its budget (None where
    the store has none).
    """
    _, keyed = _keyed(grid)
    status = store.statuses(keyed) if store is not None else {}
    per_step: dict[tuple[str, str], list[float]] = {}
    for spec, wall in store.wall_times() if store is not None else []:
        if wall is not None:
            per_step.setdefault((spec.task, spec.method), []).append(wall / spec.budget)
    plan = []
    for key, run in keyed.items():
        rates = per_step.get((run.spec.task, run.spec.method))
        estimate = statistics.median(rates) * run.spec.budget if rates else None
        runs = force or status.get(key) != DONE
        plan.append(PlannedRun(key, run, status.get(key), runs, estimate))
    return plan


def grid_results(
    grid: Grid, store: ResultsStore, keys: list[str] | None = None
) -> list[tuple[str, RunResult]]:
    """The complete results of a grid's runs in the store, in grid order.

    ``keys`` are the runs' keys when the caller has them already (one per grid run).
    """
    keys = keys if keys is not None else [run_key(r.spec) for r in grid.runs]
    by_key = {k: r.method_label for k, r in zip(keys, grid.runs, strict=True)}
    found = dict(store.results_by_key(by_key))
    return [(label, found[k]) for k, label in by_key.items() if k in found]
