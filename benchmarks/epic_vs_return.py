"""Does a learned reward's EPIC distance to the true reward go with the return of the agent
trained on it? Reads the runs of a grid (default ``epic_pendulum``) from a results store or
an export and prints, per run, its last ``reward_epic`` (after its last feedback session)
and its final true return; then Spearman's rank correlation across runs with a 95%
percentile-bootstrap interval over runs (10,000 resamples, seed 0). A negative rho: a
smaller distance goes with a higher return.

Usage:
    python benchmarks/epic_vs_return.py STORE_OR_EXPORT.jsonl [--grid epic_pendulum] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import stats

from rewarddesign.bench.store import ResultsStore
from rewarddesign.contract.runspec import RunResult


def load(path: str, grid: str) -> list[tuple[str, RunResult]]:
    """``(method label, result)`` of the grid's complete runs in a store or an export."""
    if path.endswith(".jsonl"):
        rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line]
        return [
            (r["method_label"], RunResult.from_dict(r["result"]))
            for r in rows
            if r.get("grid") == grid
        ]
    store = ResultsStore(path)
    return [(run.method_label, run.result) for run in store.complete_runs(grid)]


def spearman_ci(x: np.ndarray, y: np.ndarray, reps: int = 10_000, seed: int = 0):
    """Spearman's rho and its percentile-bootstrap 95% interval over the pairs."""
    rho = stats.spearmanr(x, y).statistic
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(reps):
        i = rng.integers(len(x), size=len(x))
        if np.ptp(x[i]) > 0 and np.ptp(y[i]) > 0:
            boot.append(stats.spearmanr(x[i], y[i]).statistic)
    low, high = np.quantile(boot, [0.025, 0.975])
    return float(rho), float(low), float(high)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source")
    ap.add_argument("--grid", default="epic_pendulum")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    runs = [(label, r) for label, r in load(args.source, args.grid) if r.series.get("reward_epic")]
    if len(runs) < 3:
        raise SystemExit(f"{len(runs)} runs with a reward_epic series in {args.source}; need 3+")
    runs.sort(key=lambda lr: (lr[0], lr[1].spec.seed))
    lines = [
        "| method | seed | EPIC after the last session | final true return |",
        "|---|---:|---:|---:|",
    ]
    for label, r in runs:
        lines.append(
            f"| {label} | {r.spec.seed} | {r.series['reward_epic'][-1][1]:.3f} "
            f"| {r.final_return:.1f} |"
        )
    epic = np.array([r.series["reward_epic"][-1][1] for _, r in runs])
    ret = np.array([r.final_return for _, r in runs])
    rho, low, high = spearman_ci(epic, ret)
    lines += [
        "",
        f"Spearman rho(EPIC, final return) over {len(runs)} runs: {rho:.2f} "
        f"[{low:.2f}, {high:.2f}] (95% bootstrap over runs)",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
