"""Per-step overhead of each reward wrapper over a plain HalfCheetah-v5, in one run.

Usage: python benchmarks/wrapper_overhead.py [--rounds 100] [--steps 200] [--out FILE]

Times ``gymnasium.make("HalfCheetah-v5")`` and the same env under each wrapper
(checks included: finite rewards and potentials), interleaved: every round visits the
wrapped envs in a shuffled order and times a chunk of ``--steps`` steps of the plain
env right before each wrapped chunk (same actions), so each ratio compares neighbours
in time on this noisy machine.
Wrappers that read reward factors sit on ``rd.make`` (which adds the factors to
``info``), so their overhead over plain includes that; the ``rd.make`` row shows it
alone, and the last column gives their overhead over ``rd.make`` (timed the same way).
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


TASK_WRAPPERS = ("BlendedReward", "GatedReward", "ConstrainedReward")


def candidates() -> dict[str, gym.Env]:
    """Name -> env; the first is the plain baseline."""
    plain = lambda: gym.make("HalfCheetah-v5")  # noqa: E731
    return {
        "plain gym.make": plain(),
        "rd.make (factors in info)": rd.make(TASK),
        "PotentialShaping": PotentialShaping(plain(), lambda o: o[:, 8], 0.99),
        "BlendedReward": BlendedReward(rd.make(TASK), {"forward": 1.0, "ctrl": -0.1}),
        "CenteredSigmoid": CenteredSigmoid(plain(), reference=0.0),
        "GatedReward": GatedReward(rd.make(TASK), gate="return", threshold=0.0),
        "ConstrainedReward": ConstrainedReward(rd.make(TASK), ["ctrl"], [0.1]),
        "PessimisticReward": PessimisticReward(plain(), lambda o, a, o2: np.abs(a[:, 0])),
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
    over_task = {n: [] for n in TASK_WRAPPERS}
    for _ in range(args.rounds):
        for i in rng.permutation(np.arange(1, len(names))):
            plain = time_chunk(envs[names[0]], actions)
            wrapped = time_chunk(envs[names[i]], actions)
            times[names[0]].append(plain)
            times[names[i]].append(wrapped)
            ratios[names[i]].append(wrapped / plain - 1.0)
            if names[i] in over_task:
                task_env = time_chunk(envs[names[1]], actions)
                over_task[names[i]].append(wrapped / task_env - 1.0)
    lines = [
        f"HalfCheetah-v5, {args.rounds} rounds x {args.steps} steps, each wrapped chunk right "
        "after a plain one",
        "",
        "| env | median us/step | overhead over plain | target | met | overhead over rd.make |",
        "| --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for name in names:
        t = np.array(times[name])
        if name == names[0]:
            lines.append(f"| {name} | {np.median(t) * 1e6:.1f} | - | - | - | - |")
            continue
        overhead = float(np.median(ratios[name]))
        target = TARGETS.get(name, 0.15) if name in envs and "rd.make" not in name else None
        met = "-" if target is None else ("yes" if overhead <= target else "NO")
        shown = "-" if target is None else f"{target:.0%}"
        task = f"{np.median(over_task[name]):+.1%}" if name in over_task else "-"
        lines.append(
            f"| {name} | {np.median(t) * 1e6:.1f} | {overhead:+.1%} | {shown} | {met} | {task} |"
        )
    text = "\n".join(lines)
    print(text)
    if args.out:
        rd_resources = __import__("rewarddesign.resources", fromlist=["write_atomic"])
        rd_resources.write_atomic(args.out, text + "\n")


if __name__ == "__main__":
    main()
