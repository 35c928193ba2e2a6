"""BARFI against its baselines with helpful and harmful auxiliary rewards (issue 9).

Usage: python benchmarks/barfi.py --grid GRID [--store runs/barfi.sqlite] [--workers 2]
       [--preset smoke] [--out benchmarks/results/barfi.md]

Runs a BARFI grid (barfi/ tasks; ``primary`` is the primary-only label) into a results
store (resumable: finished runs are skipped), then prints per task and auxiliary reward,
for each method:

- the normalised final primary return ``(R - R_random) / (R_primary - R_random)`` with
  R_random the task's reference random return and R_primary the IQM of primary-only's
  final returns on that task (the expert reference in place of R_primary where
  primary-only ends no better than random), as IQM with a 95% stratified-bootstrap CI over
  seeds (target with the harmful aux: BARFI >= 0.9, the naive blend clearly lower);
- the episodes each run took to first reach R_primary in an evaluation (the expert
  reference where primary-only ends no better than random): the median over all seeds,
  a run that never reached it counting as infinite, and how many did (target with the
  helpful aux: BARFI fewer than primary-only).

The weight and discount plots come with the grid's report:
``rewarddesign report runs/barfi.sqlite --grid GRID``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from rewarddesign.bench import (
    LocalProcessExecutor,
    ResultsStore,
    groups,
    load_grid,
    run_grid,
    stats,
)
from rewarddesign.bench.run import grid_results
from rewarddesign.common.files import write_atomic
from rewarddesign.contract.runspec import RunResult
from rewarddesign.task.registry import task_spec

PRIMARY = "primary"


def episodes_to_reach(result: RunResult, target: float) -> float:
    """Episodes trained on at the first evaluation whose mean return reaches ``target``
    (inf if none does)."""
    episodes = dict(result.series.get("episodes", []))
    for point in result.curve:
        if point.mean_return >= target and point.step in episodes:
            return episodes[point.step]
    return float("inf")


def table(results: list[tuple[str, RunResult]], reps: int = groups.REPS) -> str:
    """The markdown table of normalised returns and episodes to reach primary-only."""
    by_task = groups.by_task_and_method(results)
    lines = [
        "| task | aux | method | seeds | normalised final return, IQM [95% CI] "
        "| final return per seed | episodes to reach the target (median over seeds, reached) |",
        "| --- | --- | --- | ---: | --- | --- | --- |",
    ]
    for task, by_label in by_task.items():
        if PRIMARY not in by_label:
            continue
        ref = task_spec(task).reference
        random = ref.random
        r_primary = stats.iqm([r.final_return for r in by_label[PRIMARY]])
        scale, base, target = r_primary - random, "R_primary", r_primary
        if scale <= 0:  # primary-only learned nothing: normalise by (and reach) the expert
            scale, base = ref.expert - random, "R_expert (primary-only is not above random)"
            target = ref.expert
        norm = {
            label: np.array([[(r.final_return - random) / scale] for r in rs])
            for label, rs in by_label.items()
        }
        points, cis = stats.interval_estimates_each(norm, stats.mean_and_iqm, reps, groups.SEED)
        for label, rs in by_label.items():
            aux = rs[0].spec.method_params.get("aux", "-") if label != PRIMARY else "-"
            # median over every seed, a run that never reached the target counting as
            # infinitely slow (so a method that rarely gets there cannot look fast)
            reach = np.array([episodes_to_reach(r, target) for r in rs])
            median = f"{np.median(reach):.0f}" if np.isfinite(np.median(reach)) else "never"
            finals = " ".join(f"{r.final_return:.1f}" for r in rs)
            lines.append(
                f"| {task} | {aux} | {label} | {len(rs)} | {points[label][1]:.2f} "
                f"[{cis[label][0, 1]:.2f}, {cis[label][1, 1]:.2f}] | {finals} "
                f"| {median} ({int(np.isfinite(reach).sum())}/{len(rs)}) |"
            )
        lines.append(
            f"| {task} | | R_random = {random:.1f}, R_primary = {r_primary:.1f}; normalised "
            f"by {base}; target {target:.1f} | | | | |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="runs/barfi.sqlite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--grid", required=True, help="a grid of barfi/ tasks (name or path)")
    parser.add_argument("--preset", default=None)
    parser.add_argument("--out", help="also write the table (markdown) here")
    args = parser.parse_args()
    Path(args.store).parent.mkdir(parents=True, exist_ok=True)
    grid = load_grid(args.grid, args.preset)
    store = ResultsStore(args.store)
    run_grid(grid, store, LocalProcessExecutor(workers=args.workers, device="cpu"))
    text = table(grid_results(grid, store))
    print(text)
    if args.out:
        write_atomic(args.out, text + "\n")


if __name__ == "__main__":
    main()
