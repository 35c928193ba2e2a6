"""Run a grid's specs one after another in this process."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from rewarddesign.bench.grid import Grid, GridRun
from rewarddesign.methods.base import Progress
from rewarddesign.resources import write_atomic
from rewarddesign.runner import execute, validate
from rewarddesign.runspec import RunResult


def _file_name(i: int, run: GridRun) -> str:
    s = run.spec
    stem = f"{i:04d}_{s.task}_{run.method_label}_{s.agent}_s{s.seed}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem) + ".json"


def run_grid(
    grid: Grid,
    *,
    device: str = "auto",
    out_dir: str | Path | None = None,
    progress: Callable[[int, GridRun], Progress | None] | None = None,
    on_result: Callable[[int, GridRun, RunResult], None] | None = None,
) -> list[tuple[str, RunResult]]:
    """Validate every run of a grid, then execute them in order.

    Args:
        grid: The expanded grid.
        device: Torch device for the agents.
        out_dir: If given, each result is written there as JSON (atomically).
        progress: Optional factory of a per-run progress hook.
        on_result: Called after each run.

    Returns:
        ``(method label, result)`` for every run, in grid order.
    """
    for run in grid.runs:  # fail on a bad name before spending any compute
        validate(run.spec)
    results = []
    for i, run in enumerate(grid.runs):
        result = execute(run.spec, device=device, progress=progress(i, run) if progress else None)
        if out_dir is not None:
            write_atomic(Path(out_dir) / _file_name(i, run), result.to_json(indent=2))
        results.append((run.method_label, result))
        if on_result is not None:
            on_result(i, run, result)
    return results
