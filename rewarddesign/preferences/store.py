"""TransitionStore: what an off-policy learner's replay buffer does not keep.

SB3's replay buffer stores observations, actions, rewards (the learned reward, rewritten
on relabelling) and dones. The store keeps, at the *same positions* ``(pos, env)``, the
true reward, the reward factors, terminal and truncation flags and episode starts, so
query segments can be cut from recent experience with the true quantities a teacher
needs. It wraps around with the buffer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rewarddesign.errors import ParameterError
from rewarddesign.preferences.trajectories import Trajectories


class TransitionStore:
    """Per-position extras of a replay buffer of ``size`` x ``n_envs`` transitions.

    Args:
        size: The buffer's capacity (per env).
        n_envs: Envs stepped together.
        factor_dim: Number of reward factors.

    Example:
        >>> import numpy as np
        >>> store = TransitionStore(size=4, n_envs=1, factor_dim=2)
        >>> store.record(0, np.array([1.0]), np.zeros((1, 2)), np.array([False]),
        ...              np.array([False]))
        >>> store.count
        1
    """

    def __init__(self, size: int, n_envs: int, factor_dim: int) -> None:
        if size < 1 or n_envs < 1 or factor_dim < 0:
            raise ParameterError(f"TransitionStore needs size, n_envs >= 1, got {size}, {n_envs}.")
        self.size, self.n_envs = size, n_envs
        self.true_reward = np.zeros((size, n_envs))
        self.factors = np.zeros((size, n_envs, factor_dim))
        self.terminated = np.zeros((size, n_envs), bool)
        self.truncated = np.zeros((size, n_envs), bool)
        self.episode_starts = np.zeros((size, n_envs), bool)
        self._next_start = np.ones(n_envs, bool)
        self.count = 0  # transitions recorded (may exceed size: the oldest are overwritten)

    def record(
        self,
        pos: int,
        true_reward: np.ndarray,
        factors: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> None:
        """Record one vector step at buffer position ``pos`` (before the buffer adds it)."""
        self.true_reward[pos] = true_reward
        self.factors[pos] = factors
        self.terminated[pos], self.truncated[pos] = terminated, truncated
        self.episode_starts[pos] = self._next_start
        self._next_start = np.logical_or(terminated, truncated)
        self.count += 1

    def chronological(self) -> np.ndarray:
        """Buffer positions from oldest to newest."""
        if self.count == 0:
            raise ParameterError("the transition store is empty: step the env first.")
        if self.count < self.size:
            return np.arange(self.count)
        pos = self.count % self.size
        return np.concatenate([np.arange(pos, self.size), np.arange(pos)])

    def view(
        self,
        buffer: Any,
        last: int | None = None,
        actions_fn: Any = None,
        obs_fn: Any = None,
    ) -> Trajectories:
        """Transitions in time order, env after env, joined with the buffer's arrays (the
        fields of a trajectory file, so segments are cut from it as from one).

        Args:
            buffer: An SB3 replay buffer aligned with this store (``observations``,
                ``actions``, ``next_observations`` shaped ``(size, n_envs, ...)``).
            last: Only the ``last`` most recent steps of each env.
            actions_fn: Maps stored actions to the env's actions (SB3's SAC and TD3 store
                them scaled to [-1, 1]: pass ``policy.unscale_action``).
            obs_fn: Maps stored observations (and next observations) to the trajectory
                form (SB3 keeps a discrete observation as a column ``(..., 1)``; trajectory
                files hold the index ``(...)``).
        """
        order = self.chronological()
        if last is not None:
            order = order[-last:]
        obs = buffer.observations
        nxt = buffer.next_observations
        if nxt is None:  # optimize_memory_usage: the next observation is the next row
            nxt = np.roll(obs, -1, axis=0)
        if obs_fn is not None:  # only the kept rows: the map may copy
            obs, nxt = obs_fn(obs[order]), obs_fn(nxt[order])
        starts = self.episode_starts[order].copy()
        starts[0] = True  # the oldest kept step starts a (partial) episode
        actions = buffer.actions if actions_fn is None else actions_fn(buffer.actions[order])
        rows = order if actions_fn is None else np.arange(len(order))
        obs_rows = order if obs_fn is None else np.arange(len(order))
        cols = []
        for e in range(self.n_envs):
            cols.append(
                dict(
                    obs=obs[obs_rows, e],
                    next_obs=nxt[obs_rows, e],
                    actions=actions[rows, e],
                    rewards=self.true_reward[order, e],
                    factors=self.factors[order, e],
                    terminated=self.terminated[order, e],
                    truncated=self.truncated[order, e],
                    episode_starts=starts[:, e],
                )
            )
        return Trajectories(**{k: np.concatenate([c[k] for c in cols]) for k in cols[0]})
