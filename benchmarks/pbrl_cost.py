"""The cost of learning the reward: wall time of a ``pbrl`` run vs a ``true`` run.

Usage: python benchmarks/pbrl_cost.py [--budget 30000] [--seed 0] [--sequential]

Runs SAC (fast preset) on Pendulum-v1 for the same env steps and seed twice in one
invocation: on the true reward (method ``true``) and from 200 preference labels
(method ``pbrl``, the settings of the ``pbrl_pendulum`` grid). By default the two runs
go side by side in two spawned processes, one core and one torch thread each (so they
do not compete); ``--sequential`` runs them one after the other in this process.
Prints both wall times (``RunResult.wall_time``), their ratio and the final true
returns. Target: pbrl at most 1.25x the wall time of true.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor

import rewarddesign as rd
from rewarddesign.bench import load_grid

PBRL = next(r for r in load_grid("pbrl_pendulum").runs if r.method_label == "pbrl-200")


def one(method: str, budget: int, seed: int) -> tuple[float, float, int]:
    params = dict(PBRL.spec.method_params) if method == "pbrl" else {}
    result = rd.run(
        "classic/Pendulum-v1",
        method,
        "sac",
        seed=seed,
        budget=budget,
        agent_preset="fast",
        eval_every=budget,
        eval_episodes=10,
        device="cpu",
        method_params=params,
    )
    return result.wall_time, result.final_return, result.labels_used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sequential", action="store_true")
    args = parser.parse_args()
    methods = ("true", "pbrl")
    if args.sequential:
        out = [one(m, args.budget, args.seed) for m in methods]
    else:
        with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
            out = list(pool.map(one, methods, [args.budget] * 2, [args.seed] * 2))
    (t_true, r_true, _), (t_pbrl, r_pbrl, labels) = out
    mode = "one after the other" if args.sequential else "side by side, one core each"
    print(f"Pendulum-v1, SAC fast preset, {args.budget} env steps, seed {args.seed}, {mode}")
    print()
    print("| method | wall time (s) | final true return | labels |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| true | {t_true:.1f} | {r_true:.1f} | 0 |")
    print(f"| pbrl | {t_pbrl:.1f} | {r_pbrl:.1f} | {labels} |")
    ratio = t_pbrl / t_true
    print()
    print(
        f"ratio pbrl / true: {ratio:.2f} (target <= 1.25: {'met' if ratio <= 1.25 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
