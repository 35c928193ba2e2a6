"""Factor observers: what ``rd.make`` puts on a task's env so each step carries the task's
reward factors (``info["factors"]``), true reward (``info["true_reward"]``) and success.

:class:`FactorReader` reads them as a task spec defines them; :class:`FactorObserver`
adds them to ``info``; :class:`TrueRewardView` makes the true reward the env's reward;
:class:`ActionRepeat` repeats actions, summing rewards and factors.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import RecordConstructorArgs

from rewarddesign.common.checks import check_int, probe_batched
from rewarddesign.errors import ParameterError
from rewarddesign.task.factors import FACTOR_FUNCTIONS, weights_vector
from rewarddesign.task.spec import WEIGHTED_SUM, TaskSpec


class FactorReader:
    """Reads one step's factors, true reward and success as a task spec defines them.

    Built once per env: it runs on every step, so it works on Python floats (numpy's
    per-call cost on 2-6 numbers is larger than the arithmetic).

    Args:
        spec: The task spec declaring the factors.

    Example:
        >>> import gymnasium as gym, rewarddesign as rd
        >>> reader = FactorReader(rd.task_spec("mujoco/HalfCheetah-v5"))
        >>> reader.factors(None, None, None, {"reward_forward": 2.0, "reward_ctrl": -0.5})
        [2.0, 0.5]
    """

    def __init__(self, spec: TaskSpec) -> None:
        self.spec = spec
        self._readers = tuple(f._reader for f in spec.factors)
        self._scales = tuple(float(f.scale) for f in spec.factors)
        # every factor read from info (MuJoCo tasks): one C-level lookup of all keys
        self._info_keys = None
        if all(f.info is not None for f in spec.factors):
            keys = [f.info for f in spec.factors]
            getter = operator.itemgetter(*keys)
            self._info_keys = getter if len(keys) > 1 else (lambda info: (getter(info),))
        self._primary_w = None
        if spec.primary is not None and spec.primary.formula == WEIGHTED_SUM:
            w = weights_vector(spec.primary.weights, spec.factor_names, "primary")
            self._primary_w = w.tolist()
        self.has_success = spec.success is not None

    def factors(self, obs: Any, action: Any, next_obs: Any, info: dict) -> list[float]:
        """The scaled factors of one step, in the spec's order."""
        try:
            if self._info_keys is not None:
                raw = self._info_keys(info)
            else:
                raw = [read(obs, action, next_obs, info) for read in self._readers]
        except KeyError:
            for f in self.spec.factors:  # names the factor and the missing info key
                f.compute(obs, action, next_obs, info)
            raise
        return list(map(operator.mul, self._scales, map(float, raw)))

    def step_reader(self) -> Callable[[Any, Any, Any, float, dict], list[float]]:
        """``read(obs, action, next_obs, reward, info) -> factors`` that also sets
        ``info["true_reward"]`` (unless set; only where the task has a primary reward: else
        the env's reward is the true one) and ``info["success"]``: one call per step,
        specialised for the common case (factors from info, no primary, no success)."""
        if self._info_keys is not None and self.spec.primary is None and not self.has_success:
            getter, scales, mul = self._info_keys, self._scales, operator.mul

            def read(obs: Any, action: Any, next_obs: Any, reward: float, info: dict) -> list:
                try:
                    raw = getter(info)
                except KeyError:
                    return self.factors(obs, action, next_obs, info)  # names the missing key
                return list(map(mul, scales, map(float, raw)))

            return read

        def read(obs: Any, action: Any, next_obs: Any, reward: float, info: dict) -> list:
            factors = self.factors(obs, action, next_obs, info)
            if self.spec.primary is not None and "true_reward" not in info:
                info["true_reward"] = self.true_reward(factors, reward)
            if self.has_success and "success" not in info:
                info["success"] = self.success(obs, action, next_obs, info)
            return factors

        return read

    def weighted(self, weights: list[float]) -> Callable[[dict], float] | None:
        """``f(info) = sum_i weights_i * factor_i`` read straight from ``info`` (the
        cheapest per-step blend), or None unless every factor is an info key and the task
        has no primary reward and no success indicator (the general path handles those)."""
        if self._info_keys is None or self.spec.primary is not None or self.has_success:
            return None
        getter, scales, mul = self._info_keys, self._scales, operator.mul
        weights = [float(w) for w in weights]

        def blend(info: dict) -> float:
            try:
                raw = getter(info)
            except KeyError:
                self.factors(None, None, None, info)  # names the missing key
                raise
            return sum(map(mul, weights, map(mul, scales, map(float, raw))))

        return blend

    def true_reward(self, factors: list[float], reward: float) -> float:
        """The task's primary reward from the factors (the env's reward if it has none)."""
        primary = self.spec.primary
        if primary is None:
            return float(reward)
        if self._primary_w is not None:
            return float(np.dot(factors, self._primary_w))
        return float(primary.compute(np.array(factors), self.spec.factor_names))

    def success(self, obs: Any, action: Any, next_obs: Any, info: dict) -> float:
        """The step's success indicator (only for specs that define success)."""
        return self.spec.success.compute(obs, action, next_obs, info)


class FactorObserver(gym.Wrapper, RecordConstructorArgs):
    """Adds the task's reward factors, primary reward and success flag to ``info``.

    Args:
        env: The env built from ``spec.env_id``.
        spec: The task spec declaring the factors.

    Example:
        >>> import gymnasium as gym, rewarddesign as rd
        >>> spec = rd.task_spec("classic/Pendulum-v1")
        >>> env = FactorObserver(gym.make("Pendulum-v1"), spec)
        >>> _ = env.reset(seed=0)
        >>> sorted(k for k in env.step(env.action_space.sample())[4])
        ['factors', 'true_reward']
    """

    def __init__(self, env: gym.Env, spec: TaskSpec) -> None:
        RecordConstructorArgs.__init__(self, spec=spec)  # so env.spec can rebuild it
        gym.Wrapper.__init__(self, env)
        self.task = spec
        self._obs: Any = None
        self._reader = FactorReader(spec)
        for f in spec.factors:  # a user's function may be written for one observation
            if f.fn is not None:
                fn = functools.partial(FACTOR_FUNCTIONS[f.fn], **f.args)
                what = f"factor {f.name!r} (function {f.fn!r})"
                probe_batched(fn, what, env.observation_space, env.action_space, step=True)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs = obs
        return obs, info

    def step(self, action):
        next_obs, reward, terminated, truncated, info = self.env.step(action)
        if not math.isfinite(reward):
            raise ParameterError(
                f"task {self.task.id!r} returned a non-finite reward {reward!r}; check the "
                "env's state and actions (NaN actions propagate into MuJoCo)."
            )
        reader, obs = self._reader, self._obs
        factors = reader.factors(obs, action, next_obs, info)
        info["factors"] = np.array(factors)
        info["true_reward"] = reader.true_reward(factors, reward)
        if reader.has_success:
            info["success"] = reader.success(obs, action, next_obs, info)
        self._obs = next_obs
        return next_obs, reward, terminated, truncated, info


class TrueRewardView(gym.Wrapper, RecordConstructorArgs):
    """Returns the task's true (primary) reward as the reward; the env's own moves to
    ``info["env_reward"]``. Only needed for tasks whose spec declares a ``primary``.
    """

    def __init__(self, env: gym.Env) -> None:
        RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["env_reward"] = reward
        return obs, info["true_reward"], terminated, truncated, info


class ActionRepeat(gym.Wrapper, RecordConstructorArgs):
    """Repeats each action ``repeat`` times (fewer if the episode ends first).

    The reward, ``info["true_reward"]`` and ``info["factors"]`` are sums over the repeated
    steps (so a formula of the factors holds step by step, not for the sums); ``success``
    is their maximum; the rest of ``info`` is the last step's.

    Example:
        >>> import rewarddesign as rd
        >>> env = rd.make("classic/Pendulum-v1", action_repeat=2)
        >>> _ = env.reset(seed=0)
        >>> env.step(env.action_space.sample())[4]["factors"].shape
        (3,)
    """

    def __init__(self, env: gym.Env, repeat: int) -> None:
        check_int(repeat, "action_repeat", 1)
        RecordConstructorArgs.__init__(self, repeat=repeat)
        gym.Wrapper.__init__(self, env)
        self.repeat = repeat

    def step(self, action):
        total, true, factors, success = 0.0, 0.0, 0.0, None
        for _ in range(self.repeat):
            obs, reward, terminated, truncated, info = self.env.step(action)
            total += reward
            true += info["true_reward"]
            factors = factors + info["factors"]
            if "success" in info:
                success = max(info["success"], success or 0.0)
            if terminated or truncated:
                break
        info["true_reward"], info["factors"] = true, factors
        if success is not None:
            info["success"] = success
        return obs, total, terminated, truncated, info
