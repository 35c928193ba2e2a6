"""Acceptance check of the run contract: SAC on the true reward of Pendulum-v1.

Usage: python benchmarks/pendulum_sac.py [--budget 20000] [--seeds 0 1 2] [--workers 2]
       [--preset PRESET] [--out benchmarks/results/pendulum_sac.md]

Runs ``rd.run("classic/Pendulum-v1", "true", "sac", seed, budget)`` with the default SAC
spec for each seed (in parallel processes, one torch thread each) and prints the final
true return per seed, the median and the wall time per run. Target: >= -250 for every
seed within 20k steps.
"""

from __future__ import annotations

import argparse
import datetime
import platform
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

import rewarddesign as rd


def one(seed: int, budget: int, preset: str | None) -> rd.RunResult:
    return rd.run(
        "classic/Pendulum-v1",
        "true",
        "sac",
        seed=seed,
        budget=budget,
        agent_preset=preset,
        eval_every=2000,
        eval_episodes=10,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--preset", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(
            pool.map(
                one, args.seeds, [args.budget] * len(args.seeds), [args.preset] * len(args.seeds)
            )
        )
    finals = [r.final_return for r in results]
    lines = [
        f"Pendulum-v1, method true, agent sac (preset {args.preset}), budget {args.budget}, "
        f"{platform.node()} CPU, {datetime.date.today()}",
        "",
        "| seed | final true return (10 episodes) | curve (every 2000 steps) | wall time (s) |",
        "|---:|---:|---|---:|",
    ]
    for r in results:
        curve = " ".join(f"{p.mean_return:.0f}" for p in r.curve)
        lines.append(f"| {r.spec.seed} | {r.final_return:.1f} | {curve} | {r.wall_time:.0f} |")
    lines.append("")
    lines.append(
        f"median {np.median(finals):.1f}; min {min(finals):.1f}; "
        f"target >= -250 on every seed: {'met' if min(finals) >= -250 else 'MISSED'}"
    )
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
