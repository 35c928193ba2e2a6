"""Benchmarks: grids of runs, executed in parallel into a resumable results store,
summarised as tables and reports; complete runs move between stores as JSON lines."""

from __future__ import annotations

from rewarddesign.bench.executors import (
    LocalProcessExecutor,
    Outcome,
    RayExecutor,
    SequentialExecutor,
    Started,
)
from rewarddesign.bench.grid import Grid, GridRun, grids, load_grid
from rewarddesign.bench.keys import run_key
from rewarddesign.bench.run import GridProgress, PlannedRun, grid_results, plan_grid, run_grid
from rewarddesign.bench.store import ResultsStore, StoredRun
from rewarddesign.bench.table import Row, summarize
from rewarddesign.bench.transfer import export_runs, import_runs, read_runs

__all__ = [
    "Grid",
    "GridProgress",
    "GridRun",
    "LocalProcessExecutor",
    "Outcome",
    "PlannedRun",
    "RayExecutor",
    "ResultsStore",
    "Row",
    "SequentialExecutor",
    "Started",
    "StoredRun",
    "export_runs",
    "grid_results",
    "grids",
    "import_runs",
    "load_grid",
    "plan_grid",
    "read_runs",
    "run_grid",
    "run_key",
    "summarize",
]
