"""Benchmarks: grids of runs, executed in order, summarised as task x method tables."""

from __future__ import annotations

from rewarddesign.bench.grid import Grid, GridRun, grids, load_grid
from rewarddesign.bench.run import run_grid
from rewarddesign.bench.table import Row, mean_ci, summarize, to_markdown

__all__ = ["Grid", "GridRun", "Row", "grids", "load_grid", "mean_ci", "run_grid", "summarize",
           "to_markdown"]  # fmt: skip
