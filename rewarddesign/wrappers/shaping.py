"""Shaping wrappers over a task env's reward factors."""

from __future__ import annotations

from collections.abc import Mapping

import gymnasium as gym
import numpy as np

from rewarddesign.errors import SpecError
from rewarddesign.factors import weights_vector
from rewarddesign.taskspec import TaskSpec

PRIMARY = "primary"
"""Weight name that refers to the task's primary (true) reward rather than a factor."""


def task_of(env: gym.Env, wrapper: str) -> TaskSpec:
    """The task spec of an env built by ``rd.make``, or a clear error naming the fix."""
    try:
        return env.get_wrapper_attr("task")
    except AttributeError:
        raise SpecError(
            f"{wrapper} needs an env built by rd.make(task_id), which puts the reward "
            f"factors in info; got {env}."
        ) from None


def blend_weights(weights: Mapping[str, float], task: TaskSpec, where: str) -> np.ndarray:
    """Weights by name -> a vector over the task's factors followed by the primary reward.

    Raises:
        SpecError: If ``weights`` is not a non-empty mapping.
        UnknownNameError: If a name is neither a factor nor ``"primary"``.
        ParameterError: If a weight is not a finite number.
    """
    names = [*task.factor_names, PRIMARY]
    if not isinstance(weights, Mapping) or not weights:
        raise SpecError(f"{where} must be a non-empty mapping over {names}, got {weights!r}.")
    return weights_vector(weights, names, where)


class BlendedReward(gym.Wrapper):
    """Reward = weighted sum of the task's factors (and of its primary reward).

    ``weights`` maps factor names, and optionally ``"primary"``, to weights; factors
    not named get weight 0. The env's own reward moves to ``info["env_reward"]``;
    ``info["true_reward"]`` is left as it is.

    Args:
        env: An env built by ``rd.make``.
        weights: ``{factor name or "primary": weight}``.

    Raises:
        UnknownNameError: If a weight names no factor of the task.

    Example:
        >>> import rewarddesign as rd
        >>> env = rd.make("mujoco/HalfCheetah-v5")
        >>> env = rd.wrappers.BlendedReward(env, {"forward": 1.0, "ctrl": -0.5})
        >>> _ = env.reset(seed=0)
        >>> _, r, *_ , info = env.step(env.action_space.sample())
        >>> bool(abs(r - (info["factors"][0] - 0.5 * info["factors"][1])) < 1e-9)
        True
    """

    def __init__(self, env: gym.Env, weights: Mapping[str, float]) -> None:
        super().__init__(env)
        task = task_of(env, "BlendedReward")
        self.weights = dict(weights)
        w = blend_weights(weights, task, "BlendedReward weights")
        self._w, self._w_primary = w[:-1], float(w[-1])

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info.setdefault("env_reward", reward)
        blended = float(info["factors"] @ self._w) + self._w_primary * info["true_reward"]
        return obs, blended, terminated, truncated, info
