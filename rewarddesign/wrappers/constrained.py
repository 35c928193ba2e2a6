"""Constrained composite reward (Moskovitz et al. 2024) and its dual-ascent callback.

Each constrained component ``c_i`` (a reward factor) should stay at or below its
threshold ``theta_i`` (its "proxy point"), measured as the mean per step. The agent
trains on the Lagrangian reward ``r - sum_i sigma(lambda_i) * c_i``, where ``r`` is the
incoming reward and the multipliers ``sigma(lambda_i)`` lie in (0, 1).
:class:`DualAscent` updates ``lambda_i += lr * (mean c_i - theta_i)`` after every SB3
rollout, from the components seen since the last update: a component above its
threshold gets a larger multiplier, one below it a smaller one.

The constant ``sigma(lambda_i) * theta_i`` of the Lagrangian is left out of the per-step
reward: it does not change which policy is best in a fixed-length episode, and in a
task with early termination it would act as a multiplier-dependent alive bonus.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from scipy.special import expit
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from rewarddesign.common.checks import check_number
from rewarddesign.errors import ParameterError, SpecError, unknown
from rewarddesign.wrappers.core import RewardTransform, Transition, WrapContext
from rewarddesign.wrappers.forms import RewardWrapper, forms_of


class ConstrainedTransform(RewardTransform):
    """Lagrangian reward with multipliers shared by all envs it serves."""

    needs_task = True

    def __init__(
        self,
        components: list[str] | tuple[str, ...],
        thresholds: Mapping[str, float] | list[float],
        initial_lambda: float = 0.0,
    ) -> None:
        if isinstance(components, str) or not components:
            raise SpecError(
                "ConstrainedReward: components must be a non-empty list of factor names, "
                f"got {components!r}."
            )
        self.components = tuple(components)
        if isinstance(thresholds, Mapping):
            missing = set(self.components) - set(thresholds)
            extra = set(thresholds) - set(self.components)
            if missing or extra:
                raise ParameterError(
                    f"ConstrainedReward: thresholds must name exactly the components "
                    f"{list(self.components)}; missing {sorted(missing)}, extra {sorted(extra)}."
                )
            thresholds = [thresholds[c] for c in self.components]
        if len(thresholds) != len(self.components):
            raise ParameterError(
                f"ConstrainedReward: {len(thresholds)} thresholds for {len(self.components)} "
                f"components {list(self.components)}; give one per component."
            )
        self.thresholds = np.array(
            [check_number(v, "ConstrainedReward: threshold") for v in thresholds]
        )
        lam = check_number(initial_lambda, "ConstrainedReward: initial_lambda")
        self.set_lambdas(np.full(len(self.components), lam))
        self._sums = np.zeros(len(self.components))
        self._sums_one = [0.0] * len(self.components)  # the single-env path's sums
        self._count = 0

    def bind(self, ctx: WrapContext) -> None:
        task = ctx.require_task()
        names = task.factor_names
        for c in self.components:
            if c not in names:
                raise unknown(f"factor of task {task.id!r} in ConstrainedReward", c, names)
        self._cols = [names.index(c) for c in self.components]
        signs = {f.name: f.sign for f in task.factors}
        for c, theta in zip(self.components, self.thresholds, strict=True):
            if signs[c] < 0 and theta < 0:
                raise ParameterError(
                    f"ConstrainedReward: factor {c!r} is a cost (never negative), so threshold "
                    f"{theta} can never be met; give a threshold >= 0."
                )

    def set_lambdas(self, lambdas: np.ndarray) -> None:
        """Set ``lambda`` and the multipliers ``sigma(lambda)`` the reward uses."""
        self.lambdas = np.array(lambdas, dtype=np.float64)
        self.multipliers = expit(self.lambdas)
        self._multipliers_list = self.multipliers.tolist()

    def pop_stats(self) -> tuple[np.ndarray, int]:
        """Component sums and step count since the last call; resets them."""
        out = (self._sums + np.array(self._sums_one), self._count)
        self._sums[:], self._count = 0.0, 0
        self._sums_one = [0.0] * len(self.components)
        return out

    def __call__(self, t: Transition) -> np.ndarray:
        c = t.factors[:, self._cols]
        self._sums += c.sum(axis=0)
        self._count += len(c)
        return t.reward - c @ self.multipliers

    def one(self, obs, action, next_obs, reward, terminated, truncated, info, factors) -> float:
        c = [factors[i] for i in self._cols]
        self._sums_one = list(map(operator.add, self._sums_one, c))
        self._count += 1
        return reward - sum(map(operator.mul, c, self._multipliers_list))


class ConstrainedReward(RewardWrapper):
    """Lagrangian reward ``r - sum_i sigma(lambda_i) * c_i`` keeping each component
    ``c_i`` at or below its per-step threshold; train with :class:`DualAscent`.

    Args:
        env: An env built by ``rd.make``.
        components: Factor names to constrain.
        thresholds: Per-step mean each component should stay at or below, by name or in
            the order of ``components``.
        initial_lambda: Starting ``lambda`` (``sigma(0) = 0.5``).

    Example:
        >>> import rewarddesign as rd
        >>> env = ConstrainedReward(rd.make("mujoco/HalfCheetah-v5"), ["ctrl"], {"ctrl": 0.1})
        >>> _ = env.reset(seed=0)
        >>> _, r, *_ , info = env.step(env.action_space.sample())
        >>> bool(abs(r - (info["env_reward"] - 0.5 * info["factors"][1])) < 1e-9)
        True
    """

    Transform = ConstrainedTransform

    def __init__(
        self,
        env: gym.Env,
        components: list[str] | tuple[str, ...],
        thresholds: Mapping[str, float] | list[float],
        initial_lambda: float = 0.0,
    ) -> None:
        super().__init__(
            env, components=components, thresholds=thresholds, initial_lambda=initial_lambda
        )


VectorConstrainedReward, VecEnvConstrainedReward = forms_of(ConstrainedReward)


def constrained_transforms(venv: VecEnv) -> list[ConstrainedTransform]:
    """Every constrained transform an SB3 VecEnv steps: in VecEnv-form wrappers of the
    chain, or in single-env wrappers inside a ``DummyVecEnv``."""
    found: list[ConstrainedTransform] = []
    env: Any = venv
    while isinstance(env, VecEnvWrapper):
        if isinstance(getattr(env, "transform", None), ConstrainedTransform):
            found.append(env.transform)
        env = env.venv
    for sub in getattr(env, "envs", []):
        while isinstance(sub, gym.Wrapper):
            if isinstance(getattr(sub, "transform", None), ConstrainedTransform):
                found.append(sub.transform)
            sub = sub.env
    return found


class DualAscent(BaseCallback):
    """SB3 callback: after each rollout, ``lambda_i += lr * (mean c_i - theta_i)``.

    The means pool every env's steps since the last update. Wrappers with the same
    components and thresholds (the single-env wrappers of one ``DummyVecEnv``) share one
    set of multipliers; differently constrained wrappers are updated separately.

    Args:
        lr: Dual step size.
        max_lambda: ``lambda`` is clipped to ``[-max_lambda, max_lambda]`` so a multiplier
            that saturates can still come back.

    Example:
        >>> import rewarddesign as rd
        >>> from stable_baselines3 import PPO
        >>> from stable_baselines3.common.vec_env import DummyVecEnv
        >>> venv = DummyVecEnv([lambda: rd.make("classic/Pendulum-v1")])
        >>> venv = rd.wrappers.vec_env.ConstrainedReward(venv, ["u_sq"], [0.5])
        >>> model = PPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=1)
        >>> _ = model.learn(64, callback=DualAscent(lr=0.1))
        >>> float(venv.transform.lambdas[0]) != 0.0
        True
    """

    def __init__(self, lr: float = 0.05, max_lambda: float = 10.0) -> None:
        super().__init__()
        self.lr = check_number(lr, "DualAscent: lr", 0, low_open=True)
        self.max_lambda = check_number(max_lambda, "DualAscent: max_lambda", 0, low_open=True)

    def _on_training_start(self) -> None:
        self.transforms = constrained_transforms(self.training_env)
        if not self.transforms:
            raise SpecError(
                "DualAscent found no ConstrainedReward in the training env; wrap the env "
                "with rewarddesign.wrappers.ConstrainedReward (or its vec_env form)."
            )

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        # one Lagrangian per distinct (components, thresholds): the single-env wrappers of
        # a DummyVecEnv share theirs; differently constrained wrappers each keep their own
        groups: dict[tuple, list[ConstrainedTransform]] = {}
        for t in self.transforms:
            groups.setdefault((t.components, tuple(t.thresholds)), []).append(t)
        for (components, _), members in groups.items():
            stats = [t.pop_stats() for t in members]
            count = sum(n for _, n in stats)
            if count == 0:
                continue
            means = sum(s for s, _ in stats) / count
            first = members[0]
            lambdas = np.clip(
                first.lambdas + self.lr * (means - first.thresholds),
                -self.max_lambda,
                self.max_lambda,
            )
            for t in members:
                t.set_lambdas(lambdas)
            for name, lam, mean in zip(components, lambdas, means, strict=True):
                self.logger.record(f"constraint/{name}_mean", float(mean))
                self.logger.record(f"constraint/{name}_multiplier", float(expit(lam)))
