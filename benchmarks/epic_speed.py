"""EPIC's cost on one CPU core: Pendulum-v1, 65,536 transitions, 512 coverage samples per
expectation, three rewards (the true reward, a blend, a 3 x 64x64 reward ensemble), the
bootstrap interval included; beside the generic path in the same run.

Usage:
    python benchmarks/epic_speed.py [--transitions 65536] [--samples 512] [--resamples 5]
        [--baseline-transitions 2048] [--core 0] [--out FILE.json]

The process pins itself to one core with one thread (numpy's BLAS and torch). A rollout
of 2 x ``--transitions`` uniform-random steps is recorded once; each of ``--resamples``
resamples draws its own ``--transitions`` of them and its own coverage (seed = its
index) and runs ``rewarddesign.diagnostics.epic`` on the three rewards (timed: the
canonicalisation of each reward, then the distance matrix with 1000 bootstrap resamples).
The target: the median total under 60 s, and the spread (max - min) of each distance over
the resamples under 0.01.

The baseline is the generic path on the same rewards: every reward called on the ``n m``
built pairs of each expectation, every state of both ends (no de-duplication of a
trajectory's shared states, no reward-model shortcut), timed on the first
``--baseline-transitions`` transitions of resample 0 and scaled linearly in n (its cost
is linear: ``2 n m`` reward calls).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy and torch load their BLAS
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import datetime
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

import rewarddesign as rd
from rewarddesign.diagnostics import (
    Transitions,
    as_reward,
    canonicalize,
    draw_coverage,
    epic,
)
from rewarddesign.diagnostics.epic import _call, distance_matrix
from rewarddesign.models import EnsembleConfig, RewardEnsemble
from rewarddesign.preferences import rollout

TASK = "classic/Pendulum-v1"
GAMMA = 0.99
BLEND = {"theta_sq": -1.0, "theta_dot_sq": -0.05, "u_sq": -0.01}


def generic_canonicalize(reward, name, t: Transitions, cov, gamma: float) -> np.ndarray:
    """EPIC's canonical reward the plain way: the reward on every built pair."""
    m = len(cov.states)
    here = _call(reward, name, t.obs, t.actions, t.next_obs)

    def mean_over(states: np.ndarray) -> np.ndarray:
        out = np.empty(len(states))
        per = max(1, (1 << 20) // m)
        for start in range(0, len(states), per):
            x = states[start : start + per]
            k = len(x)
            r = _call(
                reward,
                name,
                np.repeat(x, m, axis=0),
                np.tile(cov.actions, (k, 1)),
                np.tile(cov.next_states, (k, 1)),
            )
            out[start : start + k] = r.reshape(k, m).mean(axis=1)
        return out

    mean = _call(reward, name, cov.states, cov.actions, cov.next_states).mean()
    return here + gamma * mean_over(t.next_obs) - mean_over(t.obs) - gamma * mean


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transitions", type=int, default=65_536)
    ap.add_argument("--samples", type=int, default=512)
    ap.add_argument("--resamples", type=int, default=5)
    ap.add_argument("--baseline-transitions", type=int, default=2048)
    ap.add_argument("--core", type=int, default=0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    os.sched_setaffinity(0, {args.core})
    torch.set_num_threads(1)

    env = rd.make(TASK)
    data = rollout(env, None, 2 * args.transitions, seed=0)
    spec = rd.task_spec(TASK)
    config = EnsembleConfig.for_spaces(
        env.observation_space, env.action_space, members=3, hidden=(64, 64), seed=0
    )
    model = RewardEnsemble(config, device="cpu")
    model.fit_normalizer(model.inputs(data.obs, data.actions))
    rewards = {
        "true": as_reward(spec, "true", env.observation_space, env.action_space, GAMMA),
        "blend": as_reward(spec, BLEND, env.observation_space, env.action_space, GAMMA),
        "ensemble": as_reward(spec, model, env.observation_space, env.action_space, GAMMA),
    }
    states = np.concatenate([data.obs, data.next_obs])

    runs = []
    for r in range(args.resamples):
        rng = np.random.default_rng(r)
        start = int(rng.integers(len(data) - args.transitions + 1))
        sl = slice(start, start + args.transitions)  # consecutive: a trajectory's transitions
        t = Transitions(data.obs[sl], data.actions[sl], data.next_obs[sl])
        cov = draw_coverage(states, data.actions, args.samples, rng)
        began = time.perf_counter()
        m = epic(rewards, t, cov, GAMMA, rng, bootstrap=1000)
        seconds = time.perf_counter() - began
        pairs = {
            f"{a}-{b}": m.get(a, b)
            for a, b in (("true", "blend"), ("true", "ensemble"), ("blend", "ensemble"))
        }
        runs.append({"seconds": seconds, "distances": pairs})
        print(
            f"resample {r}: {seconds:6.1f} s  "
            + "  ".join(f"{k} {v:.4f}" for k, v in pairs.items()),
            flush=True,
        )

    # the generic path, on the first transitions of resample 0, scaled to n
    rng = np.random.default_rng(0)
    start = int(rng.integers(len(data) - args.transitions + 1))
    nb = min(args.baseline_transitions, args.transitions)
    sl = slice(start, start + nb)
    t = Transitions(data.obs[sl], data.actions[sl], data.next_obs[sl])
    cov = draw_coverage(states, data.actions, args.samples, rng)
    began = time.perf_counter()
    canon = {k: generic_canonicalize(fn, k, t, cov, GAMMA) for k, fn in rewards.items()}
    generic_small = time.perf_counter() - began
    began = time.perf_counter()
    ours_canon = {k: canonicalize(fn, t, cov, GAMMA, k) for k, fn in rewards.items()}
    ours_small = time.perf_counter() - began
    agree = max(float(np.abs(canon[k] - ours_canon[k]).max()) for k in canon)
    distance_matrix(canon, rng, bootstrap=10)  # the generic canonical rewards are usable
    scale = args.transitions / nb
    generic_total = generic_small * scale

    secs = [r["seconds"] for r in runs]
    median = statistics.median(secs)
    spread = {
        k: max(r["distances"][k] for r in runs) - min(r["distances"][k] for r in runs)
        for k in runs[0]["distances"]
    }
    print()
    print(
        f"EPIC, {TASK}, {args.transitions} transitions x {args.samples} samples, 3 rewards, 1 core"
    )
    print(
        f"  rewarddesign.diagnostics.epic : median {median:6.1f} s over {len(secs)} resamples "
        "(target < 60 s)"
    )
    print(
        f"  generic path (built pairs)    : {generic_total:6.1f} s (measured on {nb} transitions: "
        f"{generic_small:.1f} s; ours there {ours_small:.1f} s; canonical rewards agree to "
        f"{agree:.1e})"
    )
    print(f"  ratio generic / ours          : {generic_total / median:.1f}x")
    print(
        "  spread over resamples         : "
        + ", ".join(f"{k} {v:.4f}" for k, v in spread.items())
        + " (target < 0.01)"
    )
    if args.out:
        doc = {
            "date": datetime.date.today().isoformat(),
            "machine": f"{platform.machine()}, 1 core pinned, torch {torch.__version__}",
            "transitions": args.transitions,
            "samples": args.samples,
            "median_seconds": median,
            "seconds": secs,
            "generic_seconds_scaled": generic_total,
            "generic_seconds_measured": generic_small,
            "generic_transitions": nb,
            "ours_seconds_on_generic_transitions": ours_small,
            "spread": spread,
            "resamples": runs,
        }
        Path(args.out).write_text(json.dumps(doc, indent=1))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
