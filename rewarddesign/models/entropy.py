"""PEBBLE's unsupervised pre-training reward: k-NN state entropy over the replay buffer.

Before the first feedback session PEBBLE (Lee et al. 2021) trains the agent to visit
diverse states: the reward of a sampled transition is the distance from its next
observation to the k-th nearest observation stored so far (a particle estimate of
state entropy), divided by a running standard deviation of those distances. The
rewards are computed when a batch is sampled, so they follow the growing buffer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.running_mean_std import RunningMeanStd

from rewarddesign.common.checks import check_int
from rewarddesign.errors import ParameterError


def knn_distance(x: torch.Tensor, pool: torch.Tensor, k: int, chunk: int = 65536) -> torch.Tensor:
    """Euclidean distance from each row of ``x`` to its ``k``-th nearest row of ``pool``,
    not counting one exact match (``x`` is drawn from ``pool``, as in PEBBLE).

    Args:
        x: ``(B, D)`` query points.
        pool: ``(N, D)`` points, ``N > k``.
        k: Neighbour rank (PEBBLE uses 5).
        chunk: Pool rows per distance block (bounds memory at ``B * chunk`` floats).

    Example:
        >>> pool = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
        >>> knn_distance(pool[:1], pool, k=2)
        tensor([3.])
    """
    check_int(k, "k-NN state entropy: k", 1)
    if pool.shape[0] <= k:
        raise ParameterError(
            f"k-NN state entropy needs more than k={k} stored observations, got {pool.shape[0]}."
        )
    x, pool = x.reshape(x.shape[0], -1), pool.reshape(pool.shape[0], -1)
    # keep the k+1 smallest per block, then the (k+1)-th smallest overall: the nearest
    # is the point itself
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


class StateEntropyReward:
    """``knn_distance(next_obs, pool) / running std`` (PEBBLE's normalised state entropy).

    Args:
        k: Neighbour rank.

    Example:
        >>> import torch
        >>> reward = StateEntropyReward(k=1)
        >>> pool = torch.tensor([[0.0], [1.0], [3.0]])
        >>> reward(pool, pool).shape
        torch.Size([3])
    """

    def __init__(self, k: int = 5) -> None:
        check_int(k, "StateEntropyReward: k", 1)
        self.k = k
        self.stats = RunningMeanStd(shape=())

    def __call__(self, next_obs: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
        distance = knn_distance(next_obs, pool, self.k)
        self.stats.update(distance.detach().cpu().numpy().astype(np.float64))
        return distance / float(np.sqrt(self.stats.var) + 1e-8)


class EntropyReplayBuffer(ReplayBuffer):
    """An SB3 replay buffer whose sampled rewards are the k-NN state entropy while
    ``intrinsic`` is set (PEBBLE's pre-training); the stored rewards otherwise.

    Pass it as ``replay_buffer_class`` to SAC or TD3; set ``buffer.intrinsic =
    StateEntropyReward(k)`` to start pre-training and ``None`` to end it.
    """

    intrinsic: StateEntropyReward | None = None

    def _get_samples(self, batch_inds: np.ndarray, env: Any = None) -> Any:
        data = super()._get_samples(batch_inds, env)
        if self.intrinsic is None:
            return data
        used = self.buffer_size if self.full else self.pos
        pool = self.to_torch(self.observations[:used].reshape(used * self.n_envs, -1))
        reward = self.intrinsic(data.next_observations.reshape(len(batch_inds), -1), pool)
        return data._replace(rewards=reward.reshape(-1, 1).to(data.rewards.dtype))
