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

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import yaml

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


#: Specs loaded from files in this process, by id (the latest file of an id wins), so an
#: id read back from a file spec's env or saved agent resolves within the process.
_FROM_FILES: dict[str, TaskSpec] = {}
#: Content hashes of the spec files whose reward formula was checked against the env.
_VERIFIED: set[str] = set()
#: Steps of the seeded random rollout on which a spec file's reward formula is checked.
VERIFY_STEPS = 50


def _content(spec: TaskSpec) -> dict[str, Any]:
    """A spec's content without its file name (what two copies of one task share) and its
    transition functions (diagnostics only: a copy made before they were declared is the
    same task)."""
    content = dataclasses.asdict(spec)
    content.pop("path")
    content.pop("transitions")
    return content


def is_spec_path(task: str) -> bool:
    """Whether a task reference names a spec file (it ends in ``.yaml`` or ``.yml``)."""
    return str(task).endswith((".yaml", ".yml"))


@functools.lru_cache(maxsize=64)
def _parse_file(path: str, text: str) -> TaskSpec:
    """The spec of a file's text, parsed once (a run loads its task many times, and
    parsing YAML costs more than all the rest)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        doc = load_yaml(path)  # its SpecError names the line and column
    return parse_task_spec(doc, path)


def _spec_file(path: str | Path, verify: bool) -> TaskSpec:
    try:
        text = Path(path).read_text()
    except OSError:
        text = None
    spec = _parse_file(str(path), text) if text is not None else None
    if spec is None:  # a missing file or a folder: load_yaml's clear SpecError
        spec = parse_task_spec(load_yaml(path), path)
    packaged = _registry().get(spec.id)
    if packaged is not None and _content(packaged) != _content(spec):
        raise SpecError(
            f"task spec {str(path)!r} declares id {spec.id!r}, a packaged task's, but its "
            f"content differs from {packaged.path!r}; rename the id in {str(path)!r} (e.g. "
            f"'my/{spec.id.split('/', 1)[1]}') so results of the two never mix."
        )
    digest = hashlib.sha256(
        json.dumps(_content(spec), sort_keys=True, default=repr).encode()
    ).hexdigest()
    if verify and packaged is None and digest not in _VERIFIED:
        from rewarddesign.task.check import record, reward_identity

        reward_identity(spec, record(spec, VERIFY_STEPS, seed=0))
        _VERIFIED.add(digest)
    if verify:  # an unchecked spec (rd.check_task's) is not what its id stands for
        _FROM_FILES[spec.id] = spec
    return spec


def task_spec(task: str | TaskSpec, verify: bool = True) -> TaskSpec:
    """Return the parsed spec of a task.

    A spec file is checked when it loads (once per content): its id may be a packaged
    task's only if the content is the same, and its declared ``reward`` must reproduce the
    env's own on a seeded random rollout of :data:`VERIFY_STEPS` steps.

    Args:
        task: A registered id (``"classic/Pendulum-v1"``), a path to a task-spec YAML
            file of your own, or a spec (returned as is). The id of a spec file already
            loaded in this process resolves to it too.
        verify: Check a spec file's reward formula against its env (``rd.check_task``
            turns it off to report the check itself).

    Returns:
        The validated :class:`~rewarddesign.task.spec.TaskSpec`.

    Raises:
        UnknownNameError: For an id that is not registered.
        SpecError: A malformed spec file, a packaged id with other content or a reward
            formula that is not the env's reward.
    """
    if isinstance(task, TaskSpec):
        return task
    registry = _registry()
    if task in registry:
        return registry[task]
    if is_spec_path(task):
        return _spec_file(task, verify)
    if task in _FROM_FILES:
        return _FROM_FILES[task]
    suite = str(task).split("/", 1)[0]
    same_suite = [t for t in registry if t.split("/", 1)[0] == suite]
    if not same_suite:  # name the suites rather than every task
        suites = ", ".join(sorted({t.split("/", 1)[0] for t in registry}))
        raise UnknownNameError(
            f"unknown task {task!r}: there is no suite {suite!r}; suites: {suites}. List the "
            "tasks with `rewarddesign tasks`, or give the path of a spec file of your own "
            "(my_task.yaml)."
        )
    raise unknown("task", task, same_suite, "List every suite's with `rewarddesign tasks`.")


def task_ref(task: str | TaskSpec) -> str:
    """The reference that finds a task again in another process: its id if it is a
    packaged task, else the absolute path of its spec file (what trajectory files record
    and what hints put in the commands they suggest).

    Example:
        >>> task_ref("classic/Pendulum-v1")
        'classic/Pendulum-v1'
    """
    spec = task_spec(task)
    if spec.id in _registry() or not spec.path:
        return spec.id
    return str(Path(spec.path).resolve())


def horizon(task: str | TaskSpec) -> int | None:
    """The longest episode of a task in agent steps: the spec's ``horizon`` (or its env
    kwargs' ``max_episode_steps``), else its env's registered ``max_episode_steps``, over
    the action repeat (None where neither is set). The env's suite is imported to read
    its registration; no env is built.

    Example:
        >>> horizon("classic/Pendulum-v1")
        200
    """
    spec = task_spec(task)
    steps = spec.env_kwargs.get("max_episode_steps", spec.horizon)
    if steps is None and spec.env_id not in gym.registry and spec.env_module:
        from rewarddesign.task.suites.dmc import import_headless

        with contextlib.suppress(ImportError):  # make() says what is missing
            import_headless(spec.env_module)
    if steps is None and spec.env_id in gym.registry:
        steps = gym.registry[spec.env_id].max_episode_steps
    return None if steps is None else -(-steps // spec.action_repeat)


def resolve_task_ref(task: str, relative_to: str | Path | None = None) -> str:
    """A task reference written in a file (a grid): a relative spec path is taken from the
    working directory if it exists there, else from ``relative_to``'s folder (the grid
    file's); ids and other paths are returned as they are.

    Example:
        >>> resolve_task_ref("classic/Pendulum-v1", "benchmarks/quick.yaml")
        'classic/Pendulum-v1'
    """
    path = Path(task)
    if not is_spec_path(task) or path.is_absolute() or path.exists() or relative_to is None:
        return task
    beside = Path(relative_to).parent / path
    return str(beside) if beside.exists() else task


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
    from rewarddesign.task.check import check_observation_indices
    from rewarddesign.task.suites.dmc import import_headless, quiet_headless_glfw

    spec = task_spec(task)
    if spec.env_module:
        try:
            import_headless(spec.env_module)  # dm_control's renderer is picked on import
        except ImportError as exc:
            raise SpecError(
                f"task {spec.id!r} needs module {spec.env_module!r}, which cannot be imported "
                f"({exc}); install it or fix env.module in the task spec."
            ) from exc
    make_kwargs = {**spec.env_kwargs, **kwargs}
    if make_kwargs.get("render_mode") == "rgb_array":
        # classic control draws with pygame: off-screen frames need no display (SDL would
        # print an error line without one)
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    if spec.horizon is not None:
        make_kwargs.setdefault("max_episode_steps", spec.horizon)
    try:
        with quiet_headless_glfw():
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
    try:
        check_observation_indices(spec, env.observation_space)
    except SpecError:
        env.close()
        raise
    env = FactorObserver(env, spec)
    repeat = spec.action_repeat if action_repeat is None else action_repeat
    return env if repeat == 1 else ActionRepeat(env, repeat)
