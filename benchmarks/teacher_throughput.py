"""Labels per second of the teachers on 10,000-pair batches of H = 50, one CPU core.

Usage: python benchmarks/teacher_throughput.py [--pairs 10000] [--H 50] [--repeats 20]

Times ``teacher.label`` (median over repeats) for the partial-return teacher (rational,
and with B-Pref's noise modes) on random rewards, and for the regret teacher on a
50-state random MDP (value-iteration oracle, both forms). The baseline is the same
partial-return rule as a Python loop over pairs (how per-pair reference code labels),
timed on 1,000 pairs. Targets: >= 1,000,000 labels/s (partial return) and >= 200,000
labels/s (tabular regret).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, before numpy loads BLAS
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time

import numpy as np

import rewarddesign as rd
from rewarddesign.preferences import (
    Pairs,
    PartialReturnTeacher,
    RegretTeacher,
    Segments,
    ValueIterationOracle,
    pairs_from_rewards,
)


def median_rate(fn, n: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return n / float(np.median(times))


def tabular_pairs(n: int, H: int, S: int, A: int, rng: np.random.Generator) -> Pairs:
    def segs() -> Segments:
        obs = rng.integers(S, size=(n, H))
        flags = np.zeros((n, H), bool)
        return Segments(
            obs=obs,
            actions=rng.integers(A, size=(n, H)),
            rewards=rng.normal(size=(n, H)),
            factors=np.zeros((n, H, 1)),
            terminated=flags,
            truncated=flags,
            mask=~flags,
            start_obs=obs[:, 0],
            end_obs=rng.integers(S, size=n),
        )

    return Pairs(segs(), segs())


def loop_baseline(r1: np.ndarray, r2: np.ndarray) -> list[float]:
    labels = []
    for a, b in zip(r1, r2, strict=True):  # per pair, as per-pair reference code does
        s1, s2 = float(sum(a)), float(sum(b))
        labels.append(1.0 if s1 > s2 else 0.0 if s1 < s2 else 0.5)
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--H", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n, H = args.pairs, args.H
    pairs = pairs_from_rewards(rng.normal(size=(n, H)), rng.normal(size=(n, H)))
    label_rng = np.random.default_rng(1)
    rows = []
    teachers = {
        "partial return, rational": PartialReturnTeacher(),
        "partial return, beta=1 + mistakes + equal + skip, myopic 0.9": PartialReturnTeacher(
            beta=1.0, myopic_gamma=0.9, eps_mistake=0.1, eps_equal=0.1, eps_skip=0.1, margin=5.0
        ),
    }
    for name, teacher in teachers.items():
        rows.append(
            (
                name,
                median_rate(lambda t=teacher: t.label(pairs, label_rng), n, args.repeats),
                1_000_000,
            )
        )
    env = rd.make("gridworld/random-mdp", n_states=50, n_actions=4, seed=0)
    oracle = ValueIterationOracle.from_env(env, 0.99)
    tab = tabular_pairs(n, H, 50, 4, rng)
    for form in ("deterministic", "advantage"):
        teacher = RegretTeacher(oracle, 0.99, form=form)
        rows.append(
            (
                f"regret ({form}), tabular",
                median_rate(lambda t=teacher: t.label(tab, label_rng), n, args.repeats),
                200_000,
            )
        )
    m = 1000
    r1, r2 = pairs.first.rewards[:m], pairs.second.rewards[:m]
    base = median_rate(lambda: loop_baseline(r1, r2), m, 5)
    print(f"{n:,} pairs, H = {H}, one thread, median of {args.repeats}")
    print()
    print("| teacher | labels/s | target | met | x loop baseline |")
    print("| --- | ---: | ---: | --- | ---: |")
    for name, rate, target in rows:
        met = "yes" if rate >= target else "NO"
        print(f"| {name} | {rate:,.0f} | {target:,} | {met} | {rate / base:.0f}x |")
    baseline = "baseline: Python loop over pairs (partial return, rational)"
    print(f"| {baseline} | {base:,.0f} | - | - | 1x |")


if __name__ == "__main__":
    main()
