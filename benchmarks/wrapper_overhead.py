"""Per-step overhead of each reward wrapper over a plain HalfCheetah-v5, in one run.

Usage: python benchmarks/wrapper_overhead.py [--rounds 100] [--steps 200] [--out FILE]

Times ``gymnasium.make("HalfCheetah-v5")`` and the same env under each wrapper
(checks included: finite rewards and potentials), interleaved: every round visits the
wrapped envs in a shuffled order and times a chunk of ``--steps`` steps of the plain
env right before each wrapped chunk (same actions), so each ratio compares neighbours
in time on this noisy machine.
Every wrapper wraps the plain env itself; the ones that read reward factors find the
task by the env id and read the factors they need from each step. For comparison
(no target) the same factor-reading wrappers are also timed on ``rd.make``, which adds
every factor to ``info`` as an array (the ``rd.make`` row shows that alone).
Prints the median per-step time and the median over rounds of the per-round overhead
ratio. Targets: at most 10% for PotentialShaping and BlendedReward, 15% for the others.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import rewarddesign as rd
from rewarddesign.wrappers import (
    BlendedReward,
    CenteredSigmoid,
    ConstrainedReward,
    GatedReward,
    PessimisticReward,
    PotentialShaping,
)

TASK = "mujoco/HalfCheetah-v5"
TARGETS = {"PotentialShaping": 0.10, "BlendedReward": 0.10}


def candidates() -> dict[str, gym.Env]:
    """Name -> env; the first is the plain baseline."""
    plain = lambda: gym.make("HalfCheetah-v5")  # noqa: E731
    task_wrappers = {
        "BlendedReward": lambda e: BlendedReward(e, {"forward": 1.0, "ctrl": -0.1}),
        "GatedReward": lambda e: GatedReward(e, gate="return", threshold=0.0),
        "ConstrainedReward": lambda e: ConstrainedReward(e, ["ctrl"], [0.1]),
    }
    return {
        "plain gym.make": plain(),
        "PotentialShaping": PotentialShaping(plain(), lambda o: o[:, 8], 0.99),
        **{name: wrap(plain()) for name, wrap in task_wrappers.items()},
        "CenteredSigmoid": CenteredSigmoid(plain(), reference=0.0),
        "PessimisticReward": PessimisticReward(plain(), lambda o, a, o2: np.abs(a[:, 0])),
        "rd.make (factors in info)": rd.make(TASK),
        **{f"{name} on rd.make": wrap(rd.make(TASK)) for name, wrap in task_wrappers.items()},
    }


def time_chunk(env: gym.Env, actions: np.ndarray) -> float:
    """Seconds per step over ``actions`` (reset outside the timed region)."""
    env.reset(seed=0)
    step = env.step
    start = time.perf_counter()
    for a in actions:
        step(a)
    return (time.perf_counter() - start) / len(actions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--steps", type=int, default=200, help="steps per chunk (< 1000)")
    parser.add_argument("--out", help="also write the table (markdown) here")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    envs = candidates()
    names = list(envs)
    actions = rng.uniform(-1, 1, (args.steps, 6)).astype(np.float32)
    times = {n: [] for n in names}
    for name in names:  # warm-up
        time_chunk(envs[name], actions[:50])
    ratios = {n: [] for n in names[1:]}
    for _ in range(args.rounds):
        for i in rng.permutation(np.arange(1, len(names))):
            plain = time_chunk(envs[names[0]], actions)
            wrapped = time_chunk(envs[names[i]], actions)
            times[names[0]].append(plain)
            times[names[i]].append(wrapped)
            ratios[names[i]].append(wrapped / plain - 1.0)
    lines = [
        f"HalfCheetah-v5, {args.rounds} rounds x {args.steps} steps, each wrapped chunk right "
        "after a plain one",
        "",
        "| env | median us/step | overhead over plain | target | met |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for name in names:
        t = np.array(times[name])
        if name == names[0]:
            lines.append(f"| {name} | {np.median(t) * 1e6:.1f} | - | - | - |")
            continue
        overhead = float(np.median(ratios[name]))
        target = None if "rd.make" in name else TARGETS.get(name, 0.15)
        met = "-" if target is None else ("yes" if overhead <= target else "NO")
        shown = "-" if target is None else f"{target:.0%}"
        lines.append(f"| {name} | {np.median(t) * 1e6:.1f} | {overhead:+.1%} | {shown} | {met} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        rd_resources = __import__("rewarddesign.common.files", fromlist=["write_atomic"])
        rd_resources.write_atomic(args.out, text + "\n")


if __name__ == "__main__":
    main()
