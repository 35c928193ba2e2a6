"""Per-seed check of the PPO side-by-side: run.py's pbrl, or PPO on the true reward.

Usage: python benchmarks/peers/imitation_pc/seeds.py {pbrl,true} SEED [SEED ...]
       [--extra '{"normalize_inputs": true}']

Same settings as run.py (PPO_SETTINGS, PBRL with 1000 labels, Pendulum-v1, 100k steps, 10
deterministic evaluation episodes), one process, one torch thread. Prints one JSON line per
seed (final return, wall time, the run's series) so a failing seed can be told apart: the
learned reward (its ``reward_correlation``) or PPO itself (the ``true`` runs).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

import rewarddesign as rd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import PBRL, PPO_SETTINGS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("method", choices=("pbrl", "true"))
    parser.add_argument("seeds", type=int, nargs="+")
    parser.add_argument("--extra", type=json.loads, default={}, help="pbrl params (JSON)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    params = {**PBRL, "labels": 1000, **args.extra} if args.method == "pbrl" else None
    for seed in args.seeds:
        result = rd.run(
            "classic/Pendulum-v1",
            args.method,
            "ppo",
            seed=seed,
            budget=100_000,
            agent_overrides=PPO_SETTINGS,
            eval_every=100_000,
            eval_episodes=10,
            device="cpu",
            method_params=params,
        )
        row = {"method": args.method, "seed": seed, "extra": args.extra}
        row |= {"final_return": result.final_return, "wall_time": result.wall_time}
        print(json.dumps(row | {"series": result.to_dict().get("series")}), flush=True)


if __name__ == "__main__":
    main()
