"""Reward-model size vs feedback sessions: training time and held-out accuracy.

Usage: python benchmarks/reward_model_size.py [--sessions 10] [--queries 20]

Replays ``pbrl``'s sessions on Pendulum-v1 without an agent: 10,000 random-action
steps, then ``--sessions`` sessions that each add ``--queries`` uniformly drawn pairs of
H = 50 segments labelled by a rational partial-return teacher and refit the ensemble on
every label so far (as ``pbrl`` does). Compares B-Pref's model (3 members of 256x256,
lr 3e-4, up to 200 epochs per session) with ``pbrl``'s default (3 x 64x64, lr 1e-3, up to
50 epochs), one torch thread each: seconds spent fitting, and the members' mean
accuracy on 1,000 fresh labelled pairs after the last session.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from rewarddesign.models import EnsembleConfig, RewardEnsemble, RewardTrainer
from rewarddesign.preferences import (
    PartialReturnTeacher,
    PreferenceDataset,
    cut_segments,
    random_pairs,
    rollout,
)
from rewarddesign.task.registry import make

MODELS = {
    "B-Pref: 3 x 256x256, lr 3e-4, <= 200 epochs": ((256, 256), 3e-4, 200),
    "pbrl default: 3 x 64x64, lr 1e-3, <= 50 epochs": ((64, 64), 1e-3, 50),
}


def replay(
    hidden: tuple[int, ...], lr: float, epochs: int, sessions: int, queries: int
) -> tuple[float, float]:
    """Seconds spent fitting over the sessions, and the final held-out accuracy."""
    env = make("classic/Pendulum-v1")
    traj = rollout(env, None, 10_000, seed=0)
    rng = np.random.default_rng(0)
    teacher = PartialReturnTeacher()
    test = random_pairs(cut_segments(traj, H=50, n=2000, rng=rng), 1000, rng)
    test_record = teacher.label(test, rng)
    cfg = EnsembleConfig.for_spaces(
        env.observation_space, env.action_space, members=3, hidden=hidden, bounded=True, seed=0
    )
    model = RewardEnsemble(cfg, device="cpu")
    trainer = RewardTrainer(model, lr=lr, batch_size=128, max_epochs=epochs, seed=0)
    dataset, spent = PreferenceDataset(), 0.0
    for _ in range(sessions):
        pairs = random_pairs(cut_segments(traj, H=50, n=2 * queries, rng=rng), queries, rng)
        dataset.append(pairs, teacher.label(pairs, rng))
        start = time.perf_counter()
        trainer.fit(dataset.pairs(), dataset.record())
        spent += time.perf_counter() - start
    return spent, float(trainer.accuracy(test, test_record).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--queries", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"Pendulum-v1, {args.sessions} sessions x {args.queries} labels, one thread")
    print()
    print("| reward model | fit time (s) | held-out accuracy |")
    print("| --- | ---: | ---: |")
    for name, (hidden, lr, epochs) in MODELS.items():
        spent, acc = replay(hidden, lr, epochs, args.sessions, args.queries)
        print(f"| {name} | {spent:.1f} | {acc:.3f} |")


if __name__ == "__main__":
    main()
