"""Speed-up of the local process pool over sequential execution, in one invocation.

Usage: python benchmarks/bench_parallel.py [--runs 10] [--budget 12288] [--workers 2]

The same grid of short real ``rd.run`` calls (PPO on CartPole-v1, a few seconds each) is
run in this process one after another (SequentialExecutor) and then by the process pool
(LocalProcessExecutor), each into a fresh store; pool start-up is included in its time.
Prints both wall times and the speed-up. Target: at least 1.7x on 2 cores. Each spawned
worker first imports torch, SB3 and gymnasium (about 4 s, in parallel), which the
in-process baseline has already paid; runs of 6-8 s amortise it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from rewarddesign.bench import (
    LocalProcessExecutor,
    ResultsStore,
    SequentialExecutor,
    load_grid,
    run_grid,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--budget", type=int, default=12288)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        grid_path = Path(tmp) / "parallel.yaml"
        grid_path.write_text(
            yaml.safe_dump(
                {
                    "name": "parallel",
                    "seeds": args.runs,
                    "budget": args.budget,
                    "agent": "ppo",
                    "eval": {"every": args.budget, "episodes": 2},
                    "tasks": ["classic/CartPole-v1"],
                    "methods": ["true"],
                }
            )
        )
        grid = load_grid(grid_path)
        times = {}
        executors = {
            "sequential": SequentialExecutor("cpu"),
            f"pool({args.workers})": LocalProcessExecutor(args.workers, "cpu"),
        }
        for name, executor in executors.items():
            store = ResultsStore(Path(tmp) / f"{name}.sqlite")
            start = time.perf_counter()
            results = run_grid(grid, store, executor)
            times[name] = time.perf_counter() - start
            per_run = sorted(r.wall_time for _, r in results)[len(results) // 2]
            print(
                f"{name:>12}: {len(results)} runs in {times[name]:.1f}s (median run {per_run:.1f}s)"
            )
    seq, par = times.values()
    print(f"speed-up {seq / par:.2f}x with {args.workers} workers (target >= 1.7x on 2 cores)")


if __name__ == "__main__":
    main()
