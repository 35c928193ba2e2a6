"""The cost of each few-label option: wall time of a ``pbrl`` run with it beside the same
run without it (PEBBLE-default), side by side.

Usage: python benchmarks/pbrl_options_cost.py [--budget 20000] [--seed 0] [--only crop]

Takes the tuning grid's rows (benchmarks/grids/pbrl_dmc_tuning.yaml: dm-control
walker-walk, SBX SAC) with the schedule scaled to ``--budget`` (1000 random steps, 4000
of pre-training, then 25 labels every 5000 steps), and for each option (and the
combination) runs it and PEBBLE-default at once in two spawned processes, one core and
one thread each, so both see the same machine. Prints both wall times
(``RunResult.wall_time``) and their ratio. Target: no option adds more than 15%.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import statistics
from concurrent.futures import ProcessPoolExecutor

import rewarddesign as rd
from rewarddesign.bench import load_grid

SCHEDULE = {"seed_steps": 1000, "pretrain_steps": 4000, "interval": 5000, "queries": 25}
OPTIONS = ("qpa", "crop", "surf", "rune", "qpa-crop-surf-rune")


def params(label: str) -> dict:
    run = next(r for r in load_grid("pbrl_dmc_tuning").runs if r.method_label == label)
    return {**run.spec.method_params, **SCHEDULE}


def one(label: str, budget: int, seed: int) -> float:
    result = rd.run(
        "dmc/walker-walk",
        "pbrl",
        "sbx-sac",
        seed=seed,
        budget=budget,
        eval_every=budget,
        eval_episodes=1,
        device="cpu",
        method_params=params(label),
    )
    return result.wall_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=OPTIONS, action="append")
    args = parser.parse_args()
    rows = []
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        for label in args.only or OPTIONS:
            base, option = pool.map(one, ["pebble", label], [args.budget] * 2, [args.seed] * 2)
            rows.append((label, base, option, option / base))
            print(f"{label}: pebble {base:.0f} s, with it {option:.0f} s", flush=True)
    print()
    print(
        f"dm-control walker-walk, sbx-sac, {args.budget} env steps, seed {args.seed}, "
        f"side by side, one core each ({platform.processor() or platform.machine()})"
    )
    print()
    print("| option | PEBBLE-default (s) | with the option (s) | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for label, base, option, ratio in rows:
        print(f"| {label} | {base:.1f} | {option:.1f} | {ratio:.3f} |")
    print()
    worst = max(rows, key=lambda r: r[3])
    median = statistics.median(r[3] for r in rows)
    print(f"largest ratio {worst[3]:.3f} ({worst[0]}); median {median:.3f}; target <= 1.15")


if __name__ == "__main__":
    main()
