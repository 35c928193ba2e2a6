"""The benchmark driver: grid -> run keys -> store lookups -> executor -> store.

The driver process alone writes the store. Complete runs are skipped (unless ``force``);
runs left ``running`` by a killed driver and ``failed`` runs are run again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from rewarddesign.bench.executors import Executor, Outcome
from rewarddesign.bench.grid import Grid, GridRun
from rewarddesign.bench.keys import run_key
from rewarddesign.bench.store import DONE, ResultsStore
from rewarddesign.contract.runspec import RunResult
from rewarddesign.experiment.runner import validate


@dataclass
class GridProgress:
    """Counts of a grid in progress (what the live display shows)."""

    total: int
    skipped: int = 0
    done: int = 0
    failed: int = 0
    submitted: int = 0
    wall_times: list[float] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        """Runs neither finished nor skipped."""
        return self.total - self.skipped - self.done - self.failed

    def eta(self, workers: int) -> float | None:
        """Seconds left, from the mean wall time of finished runs; None before the first."""
        if not self.wall_times:
            return None
        mean = sum(self.wall_times) / len(self.wall_times)
        return mean * self.remaining / max(1, workers)


def run_grid(
    grid: Grid,
    store: ResultsStore,
    executor: Executor,
    *,
    force: bool = False,
    on_update: Callable[[GridProgress, Outcome | None], None] | None = None,
) -> list[tuple[str, RunResult]]:
    """Run every run of ``grid`` not already complete in ``store``.

    Every spec is validated before any run starts. A run that raises is recorded with its
    error and traceback, and the grid goes on.

    Args:
        grid: The expanded grid.
        store: Where results go (and where completed runs are looked up).
        executor: How runs execute (local processes, in this process, or a cluster).
        force: Rerun runs that are already complete.
        on_update: Called with the progress after each finished run (and once at start).

    Returns:
        ``(method label, result)`` of every complete run of the grid, in grid order.
    """
    for run in grid.runs:  # fail on a bad name before spending any compute
        validate(run.spec)
    keys = [run_key(run.spec) for run in grid.runs]
    keyed: dict[str, GridRun] = {}
    for key, run in zip(keys, grid.runs, strict=True):
        keyed.setdefault(key, run)  # identical runs run once
    status = store.statuses(keyed)
    todo = [(k, r) for k, r in keyed.items() if force or status.get(k) != DONE]
    progress = GridProgress(total=len(keyed), skipped=len(keyed) - len(todo))
    for key, run in todo:
        store.mark_running(key, grid.name, run.method_label, run.spec)
    progress.submitted = len(todo)
    if on_update:
        on_update(progress, None)
    # closing(): on Ctrl-C or any error the executor stops its workers at once
    with contextlib.closing(executor.run([(k, r.spec) for k, r in todo])) as outcomes:
        for outcome in outcomes:
            if outcome.result is not None:
                store.record_result(outcome.key, outcome.result)
                progress.done += 1
                progress.wall_times.append(outcome.result.wall_time)
            else:
                store.record_failure(outcome.key, outcome.error or "", outcome.traceback or "")
                progress.failed += 1
            if on_update:
                on_update(progress, outcome)
    return grid_results(grid, store, keys)


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
