"""Task registry: ``rd.make("suite/name")`` builds a Gymnasium env from its task spec.

Each step of a made env carries ``info["factors"]`` (float64 array in the spec's
declared factor order), ``info["true_reward"]`` (the task's primary reward) and, where
the spec defines success, ``info["success"]``. The env's own reward is passed through
unchanged; reward wrappers go on top.

Example:
    >>> import rewarddesign as rd
    >>> env = rd.make("classic/Pendulum-v1")
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    >>> info["factors"].shape
    (3,)
"""

from __future__ import annotations

import functools
import importlib
import math
import operator
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import RecordConstructorArgs

from rewarddesign.common.files import data_dir, load_yaml
from rewarddesign.errors import ParameterError, SpecError, UnknownNameError, unknown
from rewarddesign.task.factors import weights_vector
from rewarddesign.task.spec import WEIGHTED_SUM, TaskSpec, parse_task_spec


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


def task_for_env(env: gym.Env) -> TaskSpec | None:
    """The registered task a plain ``gymnasium.make`` env stands for, or None if none uses
    its env id.

    When several tasks use the id (variants such as ``barfi/HalfCheetah`` or the sparse
    MountainCar, which re-define the primary reward or add auxiliary ones), the env stands
    for the one whose true reward is the env's own and that adds no auxiliary rewards.

    Raises:
        SpecError: If that does not single out one task (build the env with ``rd.make``).
    """
    env_id = env.spec.id if env.spec is not None else None
    found = [s for s in _registry().values() if s.env_id == env_id]
    if len(found) > 1:
        plain = [s for s in found if s.primary is None and not s.auxiliary]
        if len(plain) != 1:
            raise SpecError(
                f"several tasks use env {env_id!r} ({sorted(s.id for s in found)}), so a "
                "plain env does not say which factors to read; build it with "
                "rd.make(task_id)."
            )
        found = plain
    return found[0] if found else None


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


@functools.cache
def _registry() -> dict[str, TaskSpec]:
    specs: dict[str, TaskSpec] = {}
    for path in sorted(data_dir("envs").rglob("*.yaml")):
        spec = parse_task_spec(load_yaml(path), path)
        if spec.id in specs:
            raise SpecError(
                f"task id {spec.id!r} is declared twice: {specs[spec.id].path}, {path}."
            )
        specs[spec.id] = spec
    return specs


def tasks() -> list[str]:
    """Ids of every registered task, sorted."""
    return sorted(_registry())


def task_spec(task: str | TaskSpec) -> TaskSpec:
    """Return the parsed spec of a task.

    Args:
        task: A registered id (``"classic/Pendulum-v1"``), a path to a task-spec YAML
            file of your own, or a spec (returned as is).

    Returns:
        The validated :class:`~rewarddesign.task.spec.TaskSpec`.

    Raises:
        UnknownNameError: For an id that is not registered.
    """
    if isinstance(task, TaskSpec):
        return task
    registry = _registry()
    if task in registry:
        return registry[task]
    if str(task).endswith((".yaml", ".yml")):
        return parse_task_spec(load_yaml(task), task)  # a missing file is a clear SpecError
    suite = str(task).split("/", 1)[0]
    same_suite = [t for t in registry if t.split("/", 1)[0] == suite]
    if not same_suite:  # name the suites rather than every task
        suites = ", ".join(sorted({t.split("/", 1)[0] for t in registry}))
        raise UnknownNameError(
            f"unknown task {task!r}: there is no suite {suite!r}; suites: {suites}. List the "
            "tasks with `rewarddesign tasks`."
        )
    raise unknown("task", task, same_suite, "List every suite's with `rewarddesign tasks`.")


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
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
            raise ParameterError(f"action_repeat must be an integer >= 1, got {repeat!r}.")
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


def make(task: str | TaskSpec, action_repeat: int | None = None, **kwargs: Any) -> gym.Env:
    """Build the env of a task, with factors in ``info``.

    Args:
        task: A task id, a task-spec path or a spec.
        action_repeat: Repeat each action this many times (None: the spec's
            ``env.action_repeat``, default 1); see :class:`ActionRepeat`.
        **kwargs: Passed to ``gymnasium.make`` over the spec's env kwargs (for example
            ``render_mode="rgb_array"`` or ``max_episode_steps=200``).

    Returns:
        A Gymnasium env wrapped in :class:`FactorObserver` (and the spec's suite adapter
        below it, :class:`ActionRepeat` above it where actions repeat).
    """
    spec = task_spec(task)
    if spec.env_module:
        try:
            importlib.import_module(spec.env_module)  # registers the suite's env ids
        except ImportError as exc:
            raise SpecError(
                f"task {spec.id!r} needs module {spec.env_module!r}, which cannot be imported "
                f"({exc}); install it or fix env.module in the task spec."
            ) from exc
    make_kwargs = {**spec.env_kwargs, **kwargs}
    if spec.horizon is not None:
        make_kwargs.setdefault("max_episode_steps", spec.horizon)
    try:
        env = gym.make(spec.env_id, **make_kwargs)
    except gym.error.Error as exc:
        raise SpecError(
            f"task {spec.id!r}: gymnasium cannot make env {spec.env_id!r} ({exc}); fix env.id "
            "in the task spec or register the env first."
        ) from exc
    except TypeError as exc:
        raise ParameterError(
            f"cannot build task {spec.id!r} with kwargs {kwargs!r}: {exc}. "
            "Pass only arguments the env's constructor accepts."
        ) from exc
    if spec.env_adapter is not None:
        from rewarddesign.task.suites import ADAPTERS

        env = ADAPTERS[spec.env_adapter](env)
    env = FactorObserver(env, spec)
    repeat = spec.action_repeat if action_repeat is None else action_repeat
    return env if repeat == 1 else ActionRepeat(env, repeat)
