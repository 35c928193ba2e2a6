"""The three forms of every reward wrapper, all driving one :class:`RewardTransform`.

- :class:`RewardWrapper`: a ``gymnasium.Wrapper`` around one env.
- :class:`VectorRewardWrapper`: a ``gymnasium.vector.VectorWrapper``. Gymnasium 1.x
  autoresets on the *next* step: the step after an episode ends returns the new
  episode's first observation with reward 0; that step is not a transition and is
  passed through unshaped.
- :class:`VecEnvRewardWrapper`: an SB3 ``VecEnvWrapper`` (what SB3 agents step). SB3
  resets within the step and keeps the final observation in
  ``info["terminal_observation"]``; ``info["TimeLimit.truncated"]`` tells a time limit
  from a terminal.

Every form keeps ``info["true_reward"]`` (set to the env's reward when the env does
not define one) and ``info["factors"]``, and records the reward it received in
``info["env_reward"]`` unless a wrapper below already did.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.utils import RecordConstructorArgs
from gymnasium.vector import AutoresetMode, VectorWrapper
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from rewarddesign.errors import ParameterError, SpaceMismatchError
from rewarddesign.task.observe import FactorReader
from rewarddesign.task.registry import task_for_env
from rewarddesign.task.spec import TaskSpec
from rewarddesign.wrappers.core import (
    ALL,
    RewardTransform,
    Transition,
    WrapContext,
    check_array_observations,
)


def _first_task(get: Any) -> TaskSpec | None:
    """The task spec found by ``get("task")`` (one env, or a list over a batch), or None."""
    try:
        found = get("task")
    except AttributeError:
        return None
    found = list(found) if isinstance(found, list | tuple) else [found]
    return found[0] if found and all(isinstance(t, TaskSpec) for t in found) else None


def _build(
    Transform: type[RewardTransform],
    params: dict[str, Any],
    task: TaskSpec | None,
    obs_space: gym.Space,
    action_space: gym.Space,
    n_envs: int,
    where: str,
    fallback: Callable[[], TaskSpec | None] | None = None,
) -> RewardTransform:
    """Make the transform and bind it to the env(s) it serves; ``fallback`` finds the task
    of an env without one, asked only if the transform needs it."""
    check_array_observations(obs_space, where)
    transform = Transform(**params)
    if task is None and transform.needs_task and fallback is not None:
        task = fallback()
    ctx = WrapContext(task, obs_space, action_space, n_envs, where)
    if transform.needs_task:
        ctx.require_task()
    transform.bind(ctx)
    transform.task = task
    return transform


def _finite_rewards(rewards: np.ndarray, where: str) -> np.ndarray:
    rewards = np.asarray(rewards, dtype=np.float64)
    if not np.isfinite(rewards).all():
        raise ParameterError(
            f"{where} received a non-finite reward {float(rewards[~np.isfinite(rewards)][0])!r} "
            "from the env below it; fix the env or the wrapper under this one."
        )
    return rewards


class RewardWrapper(gym.Wrapper, RecordConstructorArgs):
    """Single-env form: a ``gymnasium.Wrapper`` computing its reward with ``Transform``.

    Subclasses set ``Transform`` and define ``__init__(self, env, <params>)`` calling
    ``super().__init__(env, **params)``. Constructor arguments are recorded (for
    ``env.spec``) without copying them, so a model passed in is not duplicated.

    A wrapper that reads factors also works on a plain ``gymnasium.make`` env of a
    registered task (found by its env id): it then reads the factors itself, the same
    values ``rd.make`` would put in ``info``, and sets ``info["true_reward"]`` (and
    ``info["success"]``) but not ``info["factors"]`` (building that array per step costs
    more than the wrapper). Build the env with ``rd.make`` to have ``info["factors"]``.
    """

    Transform: ClassVar[type[RewardTransform]]

    def __init__(self, env: gym.Env, **params: Any) -> None:
        RecordConstructorArgs.__init__(self, _disable_deepcopy=True, **params)
        gym.Wrapper.__init__(self, env)
        own = _first_task(env.get_wrapper_attr)
        self.transform = _build(
            self.Transform,
            params,
            own,
            env.observation_space,
            env.action_space,
            1,
            type(self).__name__,
            fallback=lambda: task_for_env(env),
        )
        self._obs: Any = None
        self._one = self.transform.one
        self._needs_factors = self.transform.needs_task
        # a plain env of a registered task: read the factors here, not from info
        self._read = self._fused = None
        if own is None and self._needs_factors:
            reader = FactorReader(self.transform.task)
            self._read, self._fused = reader.step_reader(), self.transform.fused(reader)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs = obs
        self.transform.start(ALL, np.asarray(obs)[None])
        return obs, info

    def step(self, action):
        if self._obs is None:
            raise gym.error.ResetNeeded(f"call reset() before step() on {type(self).__name__}.")
        obs, reward, terminated, truncated, info = self.env.step(action)
        if not math.isfinite(reward):
            _finite_rewards(np.array([reward]), type(self).__name__)
        reward = float(reward)  # a float32 reward would keep the math in float32
        info.setdefault("env_reward", reward)
        if self._fused is not None:  # e.g. a blend on a plain env: one call per step
            info.setdefault("true_reward", reward)
            self._obs = obs
            return obs, self._fused(reward, info), terminated, truncated, info
        factors = None
        if self._read is not None:
            factors = self._read(self._obs, action, obs, reward, info)
        elif self._needs_factors:
            factors = info["factors"].tolist()  # Python floats: cheaper than numpy on a few
        info.setdefault("true_reward", reward)
        shaped = self._one(self._obs, action, obs, reward, terminated, truncated, info, factors)
        self._obs = obs
        return obs, shaped, terminated, truncated, info


def _params(single: type[RewardWrapper], env: Any, args: tuple, kwargs: dict) -> dict[str, Any]:
    """Bind a vector form's arguments as ``single.__init__`` would (after ``env``)."""
    bound = inspect.signature(single.__init__).bind(None, env, *args, **kwargs)
    bound.apply_defaults()
    return dict(list(bound.arguments.items())[2:])


class VectorRewardWrapper(VectorWrapper):
    """``gymnasium.vector`` form of a :class:`RewardWrapper` (next-step autoreset)."""

    single: ClassVar[type[RewardWrapper]]

    def __init__(self, env: gym.vector.VectorEnv, *args: Any, **kwargs: Any) -> None:
        super().__init__(env)
        name = f"vector.{type(self).__name__}"
        mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        if mode != AutoresetMode.NEXT_STEP:
            raise SpaceMismatchError(
                f"{name} supports gymnasium's default next-step autoreset, got {mode}; make "
                "the vector env with autoreset_mode=AutoresetMode.NEXT_STEP."
            )
        task = _first_task(env.unwrapped.get_attr)  # vector wrappers do not forward get_attr
        self.transform = _build(
            self.single.Transform,
            _params(self.single, env, args, kwargs),
            task,
            env.single_observation_space,
            env.single_action_space,
            env.num_envs,
            name,
        )
        self._obs: np.ndarray | None = None
        self._starting = np.zeros(env.num_envs, dtype=bool)

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        obs, infos = self.env.reset(seed=seed, options=options)
        mask = np.ones(self.num_envs, dtype=bool)
        if options and "reset_mask" in options:
            mask = np.asarray(options["reset_mask"], dtype=bool)
        idx = np.flatnonzero(mask)
        if self._obs is None:
            self._obs = np.array(obs, copy=True)
        self._obs[idx] = obs[idx]
        self.transform.start(idx, self._obs[idx])
        self._starting[idx] = False
        return obs, infos

    def step(self, actions):
        if self._obs is None:
            raise gym.error.ResetNeeded(f"call reset() before step() on {self}.")
        obs, rewards, terminated, truncated, infos = self.env.step(actions)
        incoming = np.asarray(rewards, dtype=np.float64)
        out = incoming.copy()
        active = ~self._starting
        if active.any():
            idx = ALL if active.all() else np.flatnonzero(active)
            _finite_rewards(incoming[idx], f"vector.{type(self).__name__}")
            extra = {}
            if self.transform.needs_task:
                extra = {
                    "factors": infos["factors"][idx],
                    "true_reward": np.asarray(infos["true_reward"], dtype=np.float64)[idx],
                    "success": np.asarray(infos.get("success", np.zeros(self.num_envs)))[idx],
                }
            t = Transition(
                idx,
                self._obs[idx],
                np.asarray(actions)[idx],
                obs[idx],
                incoming[idx],
                np.asarray(terminated)[idx],
                np.asarray(truncated)[idx],
                **extra,
            )
            out[idx] = self.transform(t)
        starting = np.flatnonzero(self._starting)
        if starting.size:
            self.transform.start(starting, obs[starting])
        self._obs[:] = obs
        self._starting = np.logical_or(terminated, truncated)
        if "env_reward" not in infos:
            infos["env_reward"], infos["_env_reward"] = incoming, active.copy()
        if "true_reward" not in infos:
            infos["true_reward"], infos["_true_reward"] = incoming, active.copy()
        return obs, out, terminated, truncated, infos


class VecEnvRewardWrapper(VecEnvWrapper):
    """SB3 ``VecEnv`` form of a :class:`RewardWrapper` (SB3 resets within the step)."""

    single: ClassVar[type[RewardWrapper]]

    def __init__(self, venv: VecEnv, *args: Any, **kwargs: Any) -> None:
        super().__init__(venv)
        self.transform = _build(
            self.single.Transform,
            _params(self.single, venv, args, kwargs),
            _first_task(venv.get_attr),
            venv.observation_space,
            venv.action_space,
            venv.num_envs,
            f"vec_env.{type(self).__name__}",
        )
        self._obs: np.ndarray | None = None
        self._actions: np.ndarray | None = None

    def reset(self):
        obs = self.venv.reset()
        self._obs = np.array(obs, copy=True)
        self.transform.start(ALL, self._obs)
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)
        self.venv.step_async(actions)

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        incoming = _finite_rewards(rewards, f"vec_env.{type(self).__name__}")
        done = np.flatnonzero(dones)
        next_obs = obs
        truncated = np.zeros(self.num_envs, dtype=bool)
        if done.size:
            next_obs = np.array(obs, copy=True)
            for i in done:  # SB3 keeps per-env final observations in the infos list
                next_obs[i] = infos[i]["terminal_observation"]
                truncated[i] = infos[i].get("TimeLimit.truncated", False)
        extra = {}
        if self.transform.needs_task:
            extra = {
                "factors": np.stack([info["factors"] for info in infos]),
                "true_reward": np.array([info["true_reward"] for info in infos]),
                "success": np.array([info.get("success", 0.0) for info in infos]),
            }
        t = Transition(
            ALL,
            self._obs,
            self._actions,
            next_obs,
            incoming,
            np.asarray(dones, dtype=bool) & ~truncated,
            truncated,
            **extra,
        )
        out = self.transform(t)
        if done.size:
            self.transform.start(done, obs[done])
        self._obs = np.array(obs, copy=True)
        for info, r in zip(infos, incoming, strict=True):
            info.setdefault("env_reward", float(r))
            info.setdefault("true_reward", float(r))
        return obs, out.astype(rewards.dtype), dones, infos


def forms_of(single: type[RewardWrapper]) -> tuple[type, type]:
    """The ``gymnasium.vector`` and SB3 ``VecEnv`` forms of a single-env wrapper class.

    Both take the same arguments as ``single`` (with a vector env in place of the env)
    and give the same rewards step for step.
    """
    sig = inspect.signature(single.__init__)
    made = []
    for base, module, what in (
        (VectorRewardWrapper, "rewarddesign.wrappers.vector", "gymnasium.vector"),
        (VecEnvRewardWrapper, "rewarddesign.wrappers.vec_env", "SB3 VecEnv"),
    ):
        cls = type(
            single.__name__,
            (base,),
            {
                "single": single,
                "__module__": module,
                "__doc__": f"{what} form of :class:`rewarddesign.wrappers.{single.__name__}`: "
                "same arguments (with a vector env), same rewards.",
            },
        )
        cls.__signature__ = sig.replace(parameters=list(sig.parameters.values())[1:])
        made.append(cls)
    return made[0], made[1]
