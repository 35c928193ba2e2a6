"""Blended reward: a weighted sum of the task's reward factors (and its primary reward)."""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign.common.files import load_yaml
from rewarddesign.errors import ParameterError, SpecError
from rewarddesign.task.factors import weights_vector
from rewarddesign.task.spec import TaskSpec
from rewarddesign.wrappers.core import RewardTransform, Transition, WrapContext
from rewarddesign.wrappers.forms import RewardWrapper, forms_of

PRIMARY = "primary"
"""Weight name that refers to the task's primary (true) reward rather than a factor."""

Weights = Mapping[str, float] | Sequence[float] | np.ndarray
"""Weights by name, or a vector over the factors in declared order (optionally followed by
the primary reward's weight)."""


def blend_weights(weights: Weights, task: TaskSpec, where: str) -> np.ndarray:
    """Weights -> a vector over the task's factors followed by the primary reward.

    Raises:
        SpecError: If ``weights`` is empty or neither a mapping nor a sequence.
        UnknownNameError: If a name is neither a factor nor ``"primary"``.
        ParameterError: If a weight is not a finite number, or a vector has the wrong length.
    """
    names = [*task.factor_names, PRIMARY]
    if isinstance(weights, Mapping):
        if not weights:
            raise SpecError(f"{where} must not be empty; name weights over {names}.")
        return weights_vector(weights, names, where)
    if isinstance(weights, str) or not isinstance(weights, Sequence | np.ndarray):
        raise SpecError(f"{where} must be a mapping over {names} or a vector, got {weights!r}.")
    try:
        vec = np.asarray(weights, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise SpecError(
            f"{where} must be a mapping over {names} or a vector of numbers, got {weights!r}."
        ) from None
    k = len(task.factor_names)
    if len(vec) not in (k, k + 1):
        raise ParameterError(
            f"{where} has {len(vec)} weights; task {task.id!r} has {k} factors "
            f"{list(task.factor_names)}: give {k} weights, or {k + 1} with the primary last."
        )
    if not np.isfinite(vec).all():
        raise ParameterError(f"{where} must be finite numbers, got {vec.tolist()}.")
    return np.append(vec, 0.0) if len(vec) == k else vec


def read_weights(path: str | Path) -> dict[str, float]:
    """The weights of a YAML file: a tuning result (``params: {weights: ...}``) or a
    plain ``weights:`` mapping.

    Raises:
        SpecError: If the file is missing, malformed, or holds no weights mapping.
    """
    doc = load_yaml(path)
    if isinstance(doc, dict) and isinstance(doc.get("params"), dict):
        doc = doc["params"]
    weights = doc.get("weights") if isinstance(doc, dict) else None
    if not isinstance(weights, dict) or not weights:
        raise SpecError(
            f"{str(path)!r} holds no weights: expected a YAML mapping with `weights:` "
            f"(or `params: {{weights: ...}}`, as rewarddesign tune --out writes)."
        )
    return weights


_mul = operator.mul


class BlendTransform(RewardTransform):
    """``factors @ w + w_primary * true_reward``, batched."""

    needs_task = True

    def __init__(self, weights: Weights) -> None:
        self.weights = weights

    def bind(self, ctx: WrapContext) -> None:
        w = blend_weights(self.weights, ctx.require_task(), f"{ctx.where} weights")
        self._w, self._w_primary = w[:-1], float(w[-1])
        self._w_list = self._w.tolist()

    def __call__(self, t: Transition) -> np.ndarray:
        return t.factors @ self._w + self._w_primary * t.true_reward

    def fused(self, reader: Any) -> Any:
        blend = reader.weighted(self._w_list)
        if blend is None:
            return None
        w_primary = self._w_primary  # the true reward is the env's reward here
        if not w_primary:
            return lambda reward, info: blend(info)
        return lambda reward, info: blend(info) + w_primary * reward

    def one(self, obs, action, next_obs, reward, terminated, truncated, info, factors) -> float:
        # a Python dot product: numpy's matmul costs more than this on a few factors
        blended = sum(map(_mul, factors, self._w_list))
        if self._w_primary:
            blended += self._w_primary * info["true_reward"]
        return blended


class BlendedReward(RewardWrapper):
    """Reward = weighted sum of the task's factors (and of its primary reward).

    ``weights`` maps factor names, and optionally ``"primary"``, to weights; factors
    not named get weight 0. A vector gives one weight per factor in declared order,
    optionally followed by the primary reward's weight.

    Args:
        env: An env built by ``rd.make``.
        weights: ``{factor name or "primary": weight}`` or a weight vector.

    Raises:
        UnknownNameError: If a weight names no factor of the task.
        ParameterError: A weight that is not finite, or a vector of the wrong length.

    Example:
        >>> import rewarddesign as rd
        >>> env = rd.make("mujoco/HalfCheetah-v5")
        >>> env = rd.wrappers.BlendedReward(env, {"forward": 1.0, "ctrl": -0.5})
        >>> _ = env.reset(seed=0)
        >>> _, r, *_ , info = env.step(env.action_space.sample())
        >>> bool(abs(r - (info["factors"][0] - 0.5 * info["factors"][1])) < 1e-9)
        True
    """

    Transform = BlendTransform

    def __init__(self, env: gym.Env, weights: Weights) -> None:
        super().__init__(env, weights=weights)


VectorBlendedReward, VecEnvBlendedReward = forms_of(BlendedReward)
