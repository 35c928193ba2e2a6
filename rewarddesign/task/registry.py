"""Task registry: discovery of the packaged task specs, ``rd.tasks()``, ``rd.task_spec`` and
``rd.make("suite/name")``, which builds a Gymnasium env from its task spec.

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
from typing import Any

import gymnasium as gym

from rewarddesign.common.files import data_dir, load_yaml
from rewarddesign.errors import ParameterError, SpecError, UnknownNameError, unknown
from rewarddesign.task.observe import ActionRepeat, FactorObserver
from rewarddesign.task.parse import parse_task_spec
from rewarddesign.task.spec import TaskSpec


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
