"""Shaping wrappers over a task env's reward factors."""

from __future__ import annotations

from collections.abc import Mapping

import gymnasium as gym

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
        if not weights:
            raise SpecError(
                f"BlendedReward got no weights; name some of {list(task.factor_names)} "
                f"or {PRIMARY!r}."
            )
        factor_weights = {k: v for k, v in weights.items() if k != PRIMARY}
        self.weights = dict(weights)
        self._w = weights_vector(factor_weights, task.factor_names, "BlendedReward weights")
        self._w_primary = float(weights_vector({PRIMARY: weights.get(PRIMARY, 0.0)},
                                               [PRIMARY], "BlendedReward weights")[0])  # fmt: skip

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["env_reward"] = reward
        blended = float(info["factors"] @ self._w) + self._w_primary * info["true_reward"]
        return obs, blended, terminated, truncated, info
