"""Relabelling: rewrite every reward in an off-policy replay buffer from a reward model."""

from __future__ import annotations

from typing import Any

import numpy as np

from rewarddesign.errors import ParameterError


def relabel_buffer(
    buffer: Any,
    model: Any,
    actions_fn: Any = None,
    chunk: int = 65536,
    factors: np.ndarray | None = None,
) -> int:
    """Set ``buffer.rewards`` of every stored transition to ``model.predict`` (vectorised,
    ``chunk`` transitions per call). Returns the number of transitions relabelled.

    Args:
        buffer: An SB3 replay buffer (``observations``, ``actions``, ``next_observations``,
            ``rewards`` shaped ``(size, n_envs, ...)``, ``pos``, ``full``).
        model: Anything with ``predict(obs, actions, next_obs)`` (and ``factors`` as a
            fourth argument when ``factors`` is given) returning one reward per row,
            e.g. :class:`~rewarddesign.models.RewardEnsemble`.
        actions_fn: Maps stored actions to the env's actions (SB3's SAC and TD3 store
            actions scaled to [-1, 1]: pass ``model.policy.unscale_action``).
        chunk: Transitions per model call (bounds memory).
        factors: Reward factors at the buffer's positions, ``(size, n_envs, K)`` (a
            :class:`~rewarddesign.preferences.store.TransitionStore`'s), for models that
            read them (``inputs="obs_factors"``).
    """
    if chunk < 1:
        raise ParameterError(f"relabel chunk must be >= 1, got {chunk}.")
    used = buffer.buffer_size if buffer.full else buffer.pos
    if used == 0:
        return 0
    n_envs = buffer.rewards.shape[1]
    obs = buffer.observations[:used].reshape(used * n_envs, *buffer.observations.shape[2:])
    act = buffer.actions[:used].reshape(used * n_envs, *buffer.actions.shape[2:])
    nxt_src = buffer.next_observations
    if nxt_src is None:
        nxt_src = np.roll(buffer.observations, -1, axis=0)
    nxt = nxt_src[:used].reshape(used * n_envs, *buffer.observations.shape[2:])
    fac = None if factors is None else factors[:used].reshape(used * n_envs, -1)
    out = np.empty(used * n_envs, dtype=np.float64)
    for start in range(0, len(out), chunk):
        sl = slice(start, start + chunk)
        actions = act[sl] if actions_fn is None else actions_fn(act[sl])
        extra = () if fac is None else (fac[sl],)
        out[sl] = model.predict(obs[sl], actions, nxt[sl], *extra)
    buffer.rewards[:used] = out.reshape(used, n_envs).astype(buffer.rewards.dtype)
    return used * n_envs
