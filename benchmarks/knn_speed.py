"""PEBBLE's k-NN state-entropy reward per sampled batch: the current code beside the old.

Usage: python benchmarks/knn_speed.py [--pools 10000 100000] [--batch 256] [--repeats 30]

For each pool size, fills an ``EntropyReplayBuffer`` with random 17-dim float32
observations (HalfCheetah's size) and times one full reward call: ``buffer.sample(batch)``
with ``intrinsic`` set (new), and the same sampling path with the code this replaced
(``_old_knn_reward``: the buffer's copy of its whole store, then ``torch.cdist`` and
``topk`` per chunk). Calls alternate old/new (and which goes first), on one torch
thread (as runs use); prints the medians, their ratio and the largest difference of
the distances both compute on one batch. Target: at most 5 ms per call at a pool of 10k.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.buffers import ReplayBuffer

from rewarddesign.common.checks import check_int
from rewarddesign.errors import ParameterError
from rewarddesign.models.entropy import EntropyReplayBuffer, StateEntropyReward, knn_distance

K = 5  # PEBBLE's neighbour rank


def _old_knn_distance(
    x: torch.Tensor, pool: torch.Tensor, k: int, chunk: int = 65536
) -> torch.Tensor:
    """Baseline kept for measurement: ``knn_distance`` before it searched by tiles."""
    check_int(k, "k-NN state entropy: k", 1)
    if pool.shape[0] <= k:
        raise ParameterError(
            f"k-NN state entropy needs more than k={k} stored observations, got {pool.shape[0]}."
        )
    x, pool = x.reshape(x.shape[0], -1), pool.reshape(pool.shape[0], -1)
    best = torch.cat(
        [
            torch.cdist(x, pool[i : i + chunk])
            .topk(min(k + 1, pool[i : i + chunk].shape[0]), dim=1, largest=False)
            .values
            for i in range(0, pool.shape[0], chunk)
        ],
        dim=1,
    )
    return best.kthvalue(k + 1, dim=1).values


def _old_knn_reward(
    buffer: EntropyReplayBuffer, reward: StateEntropyReward, batch_inds: np.ndarray
) -> Any:
    """Baseline kept for measurement: ``EntropyReplayBuffer._get_samples`` as it was (a
    copy of the whole observation store per batch, then the old search)."""
    data = ReplayBuffer._get_samples(buffer, batch_inds)
    used = buffer.buffer_size if buffer.full else buffer.pos
    pool = buffer.to_torch(buffer.observations[:used].reshape(used * buffer.n_envs, -1))
    distance = _old_knn_distance(data.next_observations.reshape(len(batch_inds), -1), pool, K)
    reward.stats.update(distance.detach().cpu().numpy().astype(np.float64))
    value = distance / float(np.sqrt(reward.stats.var) + 1e-8)
    return data._replace(rewards=value.reshape(-1, 1).to(data.rewards.dtype))


def _filled_buffer(size: int, dim: int, rng: np.random.Generator) -> EntropyReplayBuffer:
    """A full buffer of ``size`` random transitions (stores written directly: adding
    100k transitions one by one would dominate the run)."""
    space = gym.spaces.Box(-np.inf, np.inf, (dim,), np.float32)
    buffer = EntropyReplayBuffer(size, space, gym.spaces.Box(-1, 1, (6,)), device="cpu")
    buffer.observations[:] = rng.normal(size=buffer.observations.shape)
    buffer.next_observations[:] = rng.normal(size=buffer.next_observations.shape)
    buffer.actions[:] = rng.uniform(-1, 1, size=buffer.actions.shape)
    buffer.full, buffer.pos = True, 0
    return buffer


def _row(size: int, batch: int, dim: int, repeats: int, rng: np.random.Generator) -> dict:
    """Old and new reward call on one pool, alternating (which goes first alternates too)."""
    buffer = _filled_buffer(size, dim, rng)
    # the same batch through both searches
    inds = rng.integers(0, size, batch)
    next_obs = buffer.to_torch(buffer.next_observations[inds, 0])
    pool = torch.from_numpy(buffer.observations.reshape(size, -1))
    diff = (knn_distance(next_obs, pool, K) - _old_knn_distance(next_obs, pool, K)).abs()
    old_reward, buffer.intrinsic = StateEntropyReward(K), StateEntropyReward(K)
    calls = {
        "old": lambda: _old_knn_reward(buffer, old_reward, rng.integers(0, size, batch)),
        "new": lambda: buffer.sample(batch),
    }
    times: dict[str, list[float]] = {"old": [], "new": []}
    for i in range(repeats + 2):  # two warm-up rounds
        for name in ("old", "new") if i % 2 else ("new", "old"):
            start = time.perf_counter()
            calls[name]()
            if i >= 2:
                times[name].append(time.perf_counter() - start)
    old, new = (float(np.median(times[name])) for name in ("old", "new"))
    return {
        "pool": size,
        "batch": batch,
        "dim": dim,
        "old_ms": old * 1e3,
        "new_ms": new * 1e3,
        "ratio": old / new,
        "max_abs_diff": float(diff.max()),
    }


def knn_rows(
    pools: tuple[int, ...] = (10_000, 100_000),
    batch: int = 256,
    dim: int = 17,
    repeats: int = 30,
) -> list[dict]:
    """Old and new reward call per pool size (one torch thread, restored after).

    Returns:
        One dict per pool: ``pool``, ``batch``, ``dim``, ``old_ms``, ``new_ms`` (medians
        per call), ``ratio`` (old / new) and ``max_abs_diff`` (largest difference of the
        two k-NN distances on one batch).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    try:
        return [_row(size, batch, dim, repeats, rng) for size in pools]
    finally:
        torch.set_num_threads(threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    rows = knn_rows(tuple(args.pools), args.batch, repeats=args.repeats)
    print(f"k-NN state entropy reward (k={K}), batch {args.batch}, one torch thread")
    print("| pool size | old ms per call (median) | new ms per call (median) | ratio |")
    print("|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['pool']:,} | {r['old_ms']:.2f} | {r['new_ms']:.2f} | {r['ratio']:.1f}x |")
    print(f"largest |old - new| distance: {max(r['max_abs_diff'] for r in rows):.2e}")


if __name__ == "__main__":
    main()
