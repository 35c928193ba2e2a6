"""Policies for a population of users: the user's condition joins the observation.

:class:`LatentConditioned` gives a policy conditioned on who it serves: each episode
one condition ``g`` (a cluster's one-hot, or a user's VPL latent) is drawn, appended to
every observation, and the step's reward is condition ``g``'s learned reward. Fixed to one
condition it is how that user's policy is evaluated. Not one of the three-form reward
wrappers (:data:`~rewarddesign.wrappers.WRAPPERS`): it changes the observation space.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign.errors import ParameterError, SpaceMismatchError
from rewarddesign.wrappers.core import finite_one


class LatentConditioned(gym.Wrapper):
    """Observation ``concat(obs, latents[g])``; reward ``rewards[g]`` of the step (or the
    env's, where ``rewards`` is None) for the episode's condition ``g``.

    Args:
        env: An env with a flat Box observation space.
        latents: ``(G, d)`` one row per condition.
        rewards: One reward model per condition (anything with ``predict(obs, actions,
            next_obs, factors)``, e.g. ``mixture.at(k)`` or ``vpl.at(z)``), or None to
            keep the env's reward (a policy evaluated on a persona's true reward).
        rng: Draws each episode's condition; needed only for ``G > 1``.
        weights: Each condition's probability of being drawn (normalised; default:
            uniform), e.g. to give each group of users the same share of episodes.

    ``info["condition"]`` holds the episode's ``g``; the true reward stays in
    ``info["true_reward"]``.

    Example:
        >>> import numpy as np, rewarddesign as rd
        >>> env = LatentConditioned(rd.make("gridworld/two-goals"), np.eye(2)[[1]])
        >>> obs, info = env.reset(seed=0)
        >>> obs.shape, obs[2:].tolist(), info["condition"]
        ((4,), [0.0, 1.0], 0)
    """

    def __init__(
        self,
        env: gym.Env,
        latents: Any,
        rewards: Sequence[Any] | None = None,
        rng: np.random.Generator | None = None,
        weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise SpaceMismatchError(
                f"LatentConditioned needs a flat Box observation space, got {space}."
            )
        latents = np.asarray(latents, dtype=np.float64)
        if latents.ndim != 2 or len(latents) == 0 or not np.isfinite(latents).all():
            raise ParameterError(
                f"LatentConditioned: latents must be a (G, d) array of finite numbers, one "
                f"row per condition, got shape {latents.shape}."
            )
        if rewards is not None and len(rewards) != len(latents):
            raise ParameterError(
                f"LatentConditioned: {len(rewards)} reward models for {len(latents)} "
                "latents; give one per condition."
            )
        if len(latents) > 1 and rng is None:
            raise ParameterError(
                "LatentConditioned: pass rng (a numpy Generator) to draw among "
                f"{len(latents)} conditions."
            )
        self.weights = None if weights is None else _probabilities(weights, len(latents))
        self.latents = latents.astype(space.dtype)
        self.rewards, self.rng, self.condition = rewards, rng, 0
        d = latents.shape[1]
        low = np.concatenate([space.low, np.full(d, -np.inf, space.dtype)])
        high = np.concatenate([space.high, np.full(d, np.inf, space.dtype)])
        self.observation_space = gym.spaces.Box(low, high, dtype=space.dtype)
        self._obs: Any = None

    def _with(self, obs: Any) -> np.ndarray:
        return np.concatenate([np.asarray(obs, self.latents.dtype), self.latents[self.condition]])

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        if len(self.latents) > 1 and self.weights is None:
            self.condition = int(self.rng.integers(len(self.latents)))
        elif len(self.latents) > 1:
            self.condition = int(self.rng.choice(len(self.latents), p=self.weights))
        self._obs = obs
        info["condition"] = self.condition
        return self._with(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.rewards is not None:
            model = self.rewards[self.condition]
            factors = info.get("factors")
            batch = (np.asarray(self._obs)[None], np.asarray(action)[None], np.asarray(obs)[None])
            extra = None if factors is None else np.asarray(factors)[None]
            reward = finite_one(model.predict(*batch, extra), "reward model")
        self._obs = obs
        info["condition"] = self.condition
        return self._with(obs), reward, terminated, truncated, info


def _probabilities(weights: Sequence[float], n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ParameterError(
            f"LatentConditioned: weights must be {n} finite non-negative numbers, not all "
            f"zero, one per condition; got {weights!r}."
        )
    return w / w.sum()


__all__ = ["LatentConditioned"]
