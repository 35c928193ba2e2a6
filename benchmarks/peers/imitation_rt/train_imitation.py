"""Run inside the imitation 1.0.1 venv: train BasicRewardNet with imitation's
preference-comparisons trainer on pairs from an .npz, print pairs per second.

Usage: python train_imitation.py PAIRS.npz --batch 32 --hidden 32 --epochs 1
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch
from imitation.algorithms import preference_comparisons as pc
from imitation.data.types import TrajectoryWithRew
from imitation.rewards.reward_nets import BasicRewardNet


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pairs")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = np.load(args.pairs)
    o1, a1, o2, a2 = data["obs1"], data["act1"], data["obs2"], data["act2"]
    e1, e2, labels = data["end1"], data["end2"], data["labels"]
    n = len(labels)

    def traj(obs, act, end):
        return TrajectoryWithRew(
            obs=np.concatenate([obs, end[None]]),
            acts=act,
            infos=None,
            terminal=False,
            rews=np.zeros(len(act), np.float32),
        )

    pairs = [(traj(o1[i], a1[i], e1[i]), traj(o2[i], a2[i], e2[i])) for i in range(n)]
    obs_space = gym.spaces.Box(-np.inf, np.inf, o1.shape[2:], np.float32)
    act_space = gym.spaces.Box(-1, 1, a1.shape[2:], np.float32)
    net = BasicRewardNet(obs_space, act_space, hid_sizes=(args.hidden, args.hidden))
    rng = np.random.default_rng(0)
    trainer = pc.BasicRewardTrainer(
        pc.PreferenceModel(net),
        pc.CrossEntropyRewardLoss(),
        rng=rng,
        batch_size=args.batch,
        epochs=args.epochs,
        lr=args.lr,
    )
    dataset = pc.PreferenceDataset()
    dataset.push(pairs, labels.astype(np.float32))
    start = time.perf_counter()
    trainer.train(dataset)
    seconds = time.perf_counter() - start
    print(json.dumps({"pairs_per_s": n * args.epochs / seconds, "seconds": seconds}))


if __name__ == "__main__":
    main()
