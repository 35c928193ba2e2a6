"""Measure the random-policy reference return of every registered task.

Usage: python benchmarks/reference_scores.py [--episodes 20] [TASK_OR_SUITE ...]

Uniform random actions (action_space.sample, seeded), episodes reset with seeds 0..n-1;
prints mean and std of the true return per task next to the value in the task spec.
"""

from __future__ import annotations

import argparse

import numpy as np

import rewarddesign as rd


def random_return(task: str, episodes: int) -> np.ndarray:
    env = rd.make(task)
    env.action_space.seed(0)
    returns = np.zeros(episodes)
    for i in range(episodes):
        env.reset(seed=i)
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            returns[i] += info["true_reward"]
            done = terminated or truncated
    return returns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("only", nargs="*", help="task ids or suites (e.g. dmc); default: all")
    args = parser.parse_args()
    chosen = [
        t for t in rd.tasks() if not args.only or t in args.only or t.split("/")[0] in args.only
    ]
    print(f"| task | random return (mean +- std, {args.episodes} episodes) | in spec |")
    print("|---|---:|---:|")
    for task in chosen:
        r = random_return(task, args.episodes)
        print(
            f"| {task} | {r.mean():.1f} +- {r.std():.1f} | {rd.task_spec(task).reference.random} |"
        )


if __name__ == "__main__":
    main()
