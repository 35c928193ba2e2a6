"""Reward-model training throughput: this project's RewardTrainer vs imitation's.

Usage: python benchmarks/reward_training.py [--pairs 5000] [--H 50] [--repeats 3]

Makes 5,000 pairs of H = 50 segments (Pendulum-sized: 3 observation and 1 action
entries, random states, rational labels from a known linear reward), then trains on them
for one epoch with the same network (one 32x32 MLP on (obs, action)), batch size 32 and
learning rate, one CPU thread: imitation 1.0.1's BasicRewardNet with its
preference-comparisons BasicRewardTrainer (in its own venv,
benchmarks/peers/.venv-imitation, created on first use: imitation pins gymnasium < 1
and stable-baselines3 2.2) and this project's RewardTrainer (members=1). Prints pairs
per second of each (median of --repeats) and the ratio. Target: at least 10x imitation.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from rewarddesign.models import EnsembleConfig, RewardEnsemble, RewardTrainer
from rewarddesign.preferences import Pairs, PartialReturnTeacher, Segments

sys.path.insert(0, str(Path(__file__).parent / "peers"))
from imitation_venv import PEERS, peer_python


def make_pairs(n: int, H: int, rng: np.random.Generator) -> Pairs:
    def segs() -> Segments:
        obs = rng.normal(size=(n, H, 3)).astype(np.float32)
        act = rng.uniform(-1, 1, size=(n, H, 1)).astype(np.float32)
        flags = np.zeros((n, H), bool)
        return Segments(
            obs=obs,
            actions=act,
            rewards=obs @ [1.0, -2.0, 0.5] + act @ [1.5],
            factors=np.zeros((n, H, 1)),
            terminated=flags,
            truncated=flags,
            mask=~flags,
            start_obs=obs[:, 0],
            end_obs=obs[:, -1],
        )

    return Pairs(segs(), segs())


def ours(pairs: Pairs, record, batch: int, lr: float) -> float:
    torch.manual_seed(0)
    model = RewardEnsemble(EnsembleConfig((3,), (1,), members=1, hidden=(32, 32)), "cpu")
    trainer = RewardTrainer(model, lr=lr, batch_size=batch, max_epochs=1, seed=0)
    start = time.perf_counter()
    trainer.fit(pairs, record)
    return pairs.n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5000)
    parser.add_argument("--H", type=int, default=50)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    pairs = make_pairs(args.pairs, args.H, rng)
    record = PartialReturnTeacher().label(pairs, rng)
    python = peer_python()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pairs.npz"
        f, s = pairs.first, pairs.second
        np.savez(
            path,
            obs1=f.obs,
            act1=f.actions,
            end1=f.end_obs,
            obs2=s.obs,
            act2=s.actions,
            end2=s.end_obs,
            labels=record.label,
        )
        theirs = []
        for _ in range(args.repeats):
            out = subprocess.run(
                [
                    str(python),
                    str(PEERS / "imitation_rt" / "train_imitation.py"),
                    str(path),
                    "--batch",
                    str(args.batch),
                    "--lr",
                    str(args.lr),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            theirs.append(json.loads(out.stdout.strip().splitlines()[-1])["pairs_per_s"])
    mine = [ours(pairs, record, args.batch, args.lr) for _ in range(args.repeats)]
    a, b = float(np.median(mine)), float(np.median(theirs))
    print(
        f"{args.pairs} pairs, H = {args.H}, 32x32 MLP, batch {args.batch}, one epoch, one "
        f"thread, median of {args.repeats}"
    )
    print()
    print("| trainer | pairs/s | ratio |")
    print("| --- | ---: | ---: |")
    print(f"| imitation 1.0.1 BasicRewardTrainer | {b:,.0f} | 1.0x |")
    print(f"| rewarddesign RewardTrainer | {a:,.0f} | {a / b:.1f}x |")
    print()
    print(f"target >= 10x: {'met' if a >= 10 * b else 'NOT met'}")


if __name__ == "__main__":
    main()
