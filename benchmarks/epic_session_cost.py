"""What logging EPIC after every feedback session adds to a preference run's wall time.

Usage: python benchmarks/epic_session_cost.py [--budget 20000] [--seed 0] [--method pbrl]

One run, pinned to one core with one torch thread: SAC (fast preset) on Pendulum-v1 from
preference labels with the settings of the ``epic_pendulum`` grid's 200-label row (or
``--method heron``, the same schedule with HERON's teacher). Every call of the feedback
sessions' ``log_epic`` (the reward model against the true reward on the session's last 1000
steps, 128 coverage samples) is timed; printed beside the run's wall time as a share.
Target: at most 5%.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time

import torch

import rewarddesign as rd
from rewarddesign.bench import load_grid
from rewarddesign.methods.pbrl.sessions import FeedbackSessions

ROW = next(r for r in load_grid("epic_pendulum").runs if r.method_label == "labels-200")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--method", default="pbrl", choices=["pbrl", "heron"])
    ap.add_argument("--core", type=int, default=0)
    args = ap.parse_args()
    os.sched_setaffinity(0, {args.core})
    torch.set_num_threads(1)

    spent: list[float] = []
    log_epic = FeedbackSessions.log_epic

    def timed(self, *a):
        began = time.perf_counter()
        log_epic(self, *a)
        spent.append(time.perf_counter() - began)

    FeedbackSessions.log_epic = timed
    params = dict(ROW.spec.method_params)
    if args.method == "heron":
        params.pop("teacher", None)
    result = rd.run(
        "classic/Pendulum-v1",
        args.method,
        "sac",
        seed=args.seed,
        budget=args.budget,
        agent_preset="fast",
        eval_every=2000,
        eval_episodes=10,
        device="cpu",
        verbose=0,
        method_params=params,
    )
    total = sum(spent)
    each = 1000 * total / max(len(spent), 1)
    epic = result.series.get("reward_epic", [])
    print(
        f"{args.method}, Pendulum-v1, {args.budget} steps: wall {result.wall_time:.1f} s; "
        f"log_epic {total:.2f} s over {len(spent)} sessions ({each:.0f} ms each) = "
        f"{100 * total / result.wall_time:.2f}% (target <= 5%); "
        f"final return {result.final_return:.1f}; last reward_epic "
        f"{epic[-1][1] if epic else float('nan'):.3f}"
    )


if __name__ == "__main__":
    main()
