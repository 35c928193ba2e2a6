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

# The pool is searched by the expanded squared distance ||p||^2 - 2 x.p (||x||^2 is the
# same along a row, so the order is that of the distance): one matrix product per tile
# of _TILE pool rows, small enough to stay in cache on a CPU, reduced at once to the
# minimum of each group of _GROUP rows. The k+1 nearest lie in the k+1 groups with the
# smallest minima (any other row is no nearer than the (k+1)-th of those minima, each a
# distinct row), so only those groups' rows are then measured exactly; selecting among
# the group minima recurses the same way. On a CPU a topk over every distance costs
# about twice the product (benchmarks/knn_speed.py); a pool of one tile takes it anyway.
_GROUP = 8
_TILE = 1024
_DIRECT = 256  # rows up to this width are searched by topk itself


def _smallest(values: torch.Tensor, m: int) -> torch.Tensor:
    """Column indices ``(B, m)`` of the ``m`` smallest entries of each row of ``values``."""
    rows, width = values.shape
    groups = width // _GROUP
    if width <= _DIRECT or groups < m:
        return values.topk(m, dim=1, largest=False, sorted=False).indices
    full = groups * _GROUP
    # group j holds the columns j, j + groups, j + 2 * groups, ...: a strided minimum
    # vectorises, a minimum over 8 adjacent columns does not
    best = _smallest(values[:, :full].view(rows, _GROUP, groups).amin(1), m)
    step = torch.arange(_GROUP, device=values.device) * groups
    cols = (best.unsqueeze(2) + step).view(rows, -1)
    if full < width:
        rest = torch.arange(full, width, device=values.device).expand(rows, -1)
        cols = torch.cat([cols, rest], dim=1)
    return cols.gather(
        1, values.gather(1, cols).topk(m, dim=1, largest=False, sorted=False).indices
    )


def _candidate_rows(
    x: torch.Tensor, pool: torch.Tensor, pool_sq: torch.Tensor, m: int, tile: int
) -> torch.Tensor:
    """Rows ``(B, C)`` of ``pool`` that hold the ``m`` nearest to each row of ``x``."""
    rows, n = x.shape[0], pool.shape[0]
    if n <= tile:  # one small product: its own topk costs less than grouping
        s = torch.addmm(pool_sq, x, pool.T, alpha=-2)
        return s.topk(min(m, n), dim=1, largest=False, sorted=False).indices
    groups = n // _GROUP
    full = groups * _GROUP
    tile = max(_GROUP, tile // _GROUP * _GROUP)
    parts = []
    if groups:
        group_min = torch.empty(rows, groups, dtype=x.dtype, device=x.device)
        buffer = torch.empty(rows * min(tile, full), dtype=x.dtype, device=x.device)
        for a in range(0, full, tile):
            w = min(tile, full - a)
            s = torch.addmm(
                pool_sq[a : a + w],
                x,
                pool[a : a + w].T,
                alpha=-2,
                out=buffer[: rows * w].view(rows, w),
            )
            # strided groups within the tile: group a/G + j holds rows a + j + i * w/G
            torch.amin(
                s.view(rows, _GROUP, w // _GROUP),
                1,
                out=group_min[:, a // _GROUP : (a + w) // _GROUP],
            )
        best = _smallest(group_min, min(m, groups))
        start = best // (tile // _GROUP) * tile
        stride = (full - start).clamp(max=tile) // _GROUP
        step = torch.arange(_GROUP, device=x.device)
        parts.append((start + best - start // _GROUP).unsqueeze(2) + stride.unsqueeze(2) * step)
        parts[-1] = parts[-1].view(rows, -1)
    if full < n:
        parts.append(torch.arange(full, n, device=x.device).expand(rows, -1))
    return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]


def knn_distance(x: torch.Tensor, pool: torch.Tensor, k: int, chunk: int = 65536) -> torch.Tensor:
    """Euclidean distance from each row of ``x`` to its ``k``-th nearest row of ``pool``,
    not counting one exact match (``x`` is drawn from ``pool``, as in PEBBLE).

    Args:
        x: ``(B, D)`` query points.
        pool: ``(N, D)`` points, ``N > k``.
        k: Neighbour rank (PEBBLE uses 5).
        chunk: Pool rows per search pass (bounds memory at about ``B * chunk / 8`` floats
            on a CPU, ``B * chunk`` on a GPU, which takes a chunk as one product).

    Example:
        >>> pool = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
        >>> knn_distance(pool[:1], pool, k=2)
        tensor([3.])
    """
    check_int(k, "k-NN state entropy: k", 1)
    check_int(chunk, "k-NN state entropy: chunk", 1)
    if pool.shape[0] <= k:
        raise ParameterError(
            f"k-NN state entropy needs more than k={k} stored observations, got {pool.shape[0]}."
        )
    x, pool = x.reshape(x.shape[0], -1), pool.reshape(pool.shape[0], -1)
    m = k + 1  # the nearest is the point itself
    pool_sq = (pool * pool).sum(1)
    tile = _TILE if pool.device.type == "cpu" else chunk  # a GPU wants one large product
    best = []
    for i in range(0, pool.shape[0], chunk):
        rows = _candidate_rows(x, pool[i : i + chunk], pool_sq[i : i + chunk], m, tile) + i
        near = pool.index_select(0, rows.reshape(-1)).view(*rows.shape, -1)
        # the candidates' distances measured directly: exact even for duplicates
        d2 = (x.unsqueeze(1) - near).square_().sum(2)
        best.append(d2.topk(min(m, d2.shape[1]), dim=1, largest=False, sorted=False).values)
    return torch.cat(best, dim=1).kthvalue(m, dim=1).values.sqrt()


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
        stored = self.observations[:used].reshape(used * self.n_envs, -1)
        # a view of the contiguous store on a CPU, not a copy of it every batch
        pool = torch.from_numpy(stored) if self.device.type == "cpu" else self.to_torch(stored)
        reward = self.intrinsic(data.next_observations.reshape(len(batch_inds), -1), pool)
        return data._replace(rewards=reward.reshape(-1, 1).to(data.rewards.dtype))
