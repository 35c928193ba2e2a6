"""Agent factory: SB3 and SBX agents from the agent specs in ``agents/*.yaml`` (rl-zoo
style).

A spec has ``defaults``, per-task entries under ``tasks`` and named ``presets``; the
configuration of one agent merges ``defaults < tasks[task] < presets[preset] <
overrides``. ``device="auto"`` picks the GPU when the agent's framework (torch for SB3,
JAX for SBX) sees one, else the CPU. The agents are listed in :mod:`.kinds`.

Example:
    >>> import rewarddesign as rd
    >>> env = rd.make("classic/Pendulum-v1")
    >>> model = rd.agents.make("sac", env, seed=0, preset="fast")
    >>> type(model).__name__
    'SAC'
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.vec_env import VecEnv

from rewarddesign.agents.access import view
from rewarddesign.agents.checks import activations, check_config
from rewarddesign.agents.kinds import AGENTS, agent_class, kind
from rewarddesign.common.checks import check_keys, check_seed, require_mapping
from rewarddesign.common.files import (
    data_dir,
    load_json,
    load_yaml,
    require_dir,
)
from rewarddesign.errors import (
    FileFormatError,
    ParameterError,
    SpaceMismatchError,
    unknown,
)

FORMAT_VERSION = 1
"""Version of a saved agent's folder (``agent.json``'s ``format``): 1 is ``agent.json``
plus ``policy.pt`` (SB3) or ``params.npz`` (SBX); a folder without it is an SB3 one of
before the SBX family, which reads the same."""
# Learners a method builds and trains itself (BARFI's policy gradient, :mod:`.pg`): their
# settings are the method's parameters, so they take no preset and no override.
OWN_LEARNERS = {"pg": "barfi's parameters (lr, hidden, episodes, ...)"}
# Keys of an agent spec that are not constructor arguments of the SB3 class.
EXTRA_KEYS = {"n_envs", "action_noise"}
# Constructor arguments the factory sets itself; a spec or override may not.
RESERVED_KEYS = {"self", "env", "seed", "device", "verbose", "_init_setup_model"}


@functools.cache
def _spec(algo: str) -> dict[str, Any]:
    kind(algo)  # an unknown name fails here
    path = data_dir("agents") / f"{algo}.yaml"
    doc = require_mapping(load_yaml(path), f"agent spec {str(path)!r}")
    check_keys(doc, f"agent spec {str(path)!r}", {"algo", "defaults", "presets", "tasks"}, {"algo"})
    for key in ("defaults", "presets", "tasks"):
        doc[key] = require_mapping(doc.get(key) or {}, f"{key} of agent spec {str(path)!r}")
    return doc


def resolve_device(device: str = "auto", algo: str | None = None) -> str:
    """``"auto"`` -> ``"cuda"`` when the agent's framework sees a GPU, else ``"cpu"``;
    others unchanged. Torch's, unless ``algo`` is an SBX agent (then JAX's, which also
    becomes JAX's default device in this process)."""
    if algo is not None and kind(algo).family == "sbx":
        from rewarddesign.agents.sbx import resolve_jax_device

        return resolve_jax_device(device)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device_type = torch.device(device).type
    except RuntimeError as exc:
        raise ParameterError(
            f"unknown torch device {device!r}; use 'auto', 'cpu' or 'cuda'."
        ) from exc
    if device_type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(
            f"device {device!r} asked for, but torch sees no GPU; use 'auto' or 'cpu'."
        )
    return device


def _deep_update(base: dict[str, Any], layer: dict[str, Any]) -> None:
    """Merge ``layer`` into ``base``; nested mappings (policy_kwargs) merge key by key."""
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def config(
    algo: str, task: str | None = None, preset: str | None = None, **overrides: Any
) -> dict[str, Any] | None:
    """The resolved hyperparameters of one agent (pure data).

    Args:
        algo: An agent of :data:`~rewarddesign.agents.kinds.AGENTS` (``"sac"``,
            ``"sbx-sac"``, ...), or ``"pg"`` (BARFI's own learner, whose settings are the
            method's: it takes no preset or override and has no config).
        task: Task id whose per-task entry applies, if any.
        preset: Preset name (e.g. ``"fast"``), or None.
        **overrides: Hyperparameters that win over the spec.

    Returns:
        The merged configuration (None for ``"pg"``).

    Raises:
        UnknownNameError: For an unknown agent, preset or hyperparameter name (an SB3
            option an SBX agent does not take says so).
        ParameterError: For a value SB3 or torch would reject (see :mod:`.checks`), or
            an SBX agent without the ``jax`` extra.
    """
    if algo in OWN_LEARNERS:
        return _own_learner_config(algo, preset, overrides)
    spec = _spec(algo)
    if preset is not None and preset not in spec["presets"]:
        raise unknown(f"preset of agent {algo!r}", preset, spec["presets"])
    merged: dict[str, Any] = {}
    for layer in (
        spec["defaults"],
        spec["tasks"].get(task, {}),
        spec["presets"].get(preset, {}),
        overrides,
    ):
        _deep_update(merged, layer)
    cls = agent_class(algo)
    valid = _arguments(cls) | EXTRA_KEYS
    for key in merged:
        if key not in valid:
            raise unknown(f"hyperparameter of agent {algo!r}", key, valid, _sb3_only(algo, key))
    check_config(algo, cls, merged)
    return merged


def _arguments(cls: type) -> set[str]:
    return set(inspect.signature(cls.__init__).parameters) - RESERVED_KEYS


def _sb3_only(algo: str, key: str) -> str:
    """The hint for an SB3 option an SBX agent lacks (its counterpart takes it)."""
    sb3 = kind(algo).counterpart
    if sb3 == algo or key not in _arguments(agent_class(sb3)):
        return ""
    return (
        f"{key!r} is an option of SB3's {sb3!r}, which SBX's {kind(algo).cls_name} does not "
        f"take: drop it, or use agent {sb3!r}."
    )


def _own_learner_config(algo: str, preset: str | None, overrides: dict[str, Any]) -> None:
    """A method's own learner has no spec: refuse a preset or override rather than ignore it
    (it would still change the run key)."""
    hint = f"Agent {algo!r} is set by {OWN_LEARNERS[algo]}; pass those as method parameters."
    if preset is not None:
        raise unknown(f"preset of agent {algo!r}", preset, (), hint)
    if overrides:
        raise unknown(f"hyperparameter of agent {algo!r}", next(iter(overrides)), (), hint)


def _constructor_kwargs(algo: str, cfg: dict[str, Any], env: gym.Env | VecEnv) -> dict[str, Any]:
    kwargs = {k: v for k, v in cfg.items() if k not in EXTRA_KEYS}
    policy_kwargs = dict(kwargs.get("policy_kwargs") or {})  # checked by check_config
    if isinstance(policy_kwargs.get("activation_fn"), str):
        named = activations(kind(algo).family)
        policy_kwargs["activation_fn"] = named[policy_kwargs["activation_fn"]]
    if policy_kwargs:
        kwargs["policy_kwargs"] = policy_kwargs
    if isinstance(kwargs.get("train_freq"), list):  # YAML's [4, episode]: SB3 unpacks tuples only
        kwargs["train_freq"] = tuple(kwargs["train_freq"])
    noise = cfg.get("action_noise")
    if noise is not None:  # its form is checked by check_config
        if not isinstance(env.action_space, gym.spaces.Box):
            raise SpaceMismatchError("action_noise needs a continuous (Box) action space.")
        dim = int(np.prod(env.action_space.shape))
        kwargs["action_noise"] = NormalActionNoise(
            np.zeros(dim), float(noise["std"]) * np.ones(dim)
        )
    return kwargs


def _task_of(env: gym.Env | VecEnv) -> str | None:
    try:
        task = env.get_attr("task")[0] if isinstance(env, VecEnv) else env.get_wrapper_attr("task")
    except AttributeError:
        return None
    return task.id


def check_action_space(algo: str, space: gym.Space) -> None:
    """Raise :class:`SpaceMismatchError` if ``algo`` cannot act in ``space``."""
    if kind(algo).continuous and not isinstance(space, gym.spaces.Box):
        either = [n for n, k in AGENTS.items() if not k.continuous]
        raise SpaceMismatchError(
            f"agent {algo!r} needs a continuous (Box) action space, got {space}; use "
            f"{' or '.join(map(repr, either))} for discrete actions."
        )


def make(
    algo: str,
    env: gym.Env | VecEnv,
    seed: int | None = None,
    device: str = "auto",
    preset: str | None = None,
    task: str | None = None,
    **overrides: Any,
) -> BaseAlgorithm:
    """Build an SB3 or SBX agent for an env.

    Args:
        algo: An agent of :data:`~rewarddesign.agents.kinds.AGENTS`: ``"sac"``,
            ``"td3"``, ``"ppo"``, or the SBX (JAX) ``"sbx-sac"``, ``"sbx-td3"``,
            ``"sbx-tqc"``, ``"sbx-crossq"``, ``"sbx-ppo"`` (the ``jax`` extra).
        env: The training env (single or VecEnv).
        seed: Seed of the agent (and, through SB3, of the env's resets).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"`` (for SBX: JAX's device).
        preset: Preset name from the agent spec, e.g. ``"fast"``.
        task: Task id for per-task hyperparameters; inferred from an env made by
            ``rd.make`` when omitted.
        **overrides: Hyperparameters overriding the spec.

    Returns:
        The model (not yet trained).

    Raises:
        SpaceMismatchError: If the algorithm cannot act in the env's action space.
        ParameterError: A seed outside ``[0, 2**32)`` or a hyperparameter out of range.
    """
    if seed is not None:
        check_seed(seed)
    cfg = config(algo, task if task is not None else _task_of(env), preset, **overrides)
    check_action_space(algo, env.action_space)
    resolved = resolve_device(device, algo)
    # SBX runs its networks where JAX's default device is (set by resolve_device); its
    # torch side is SB3's replay buffer, which SBX keeps on the CPU
    return agent_class(algo)(
        env=env,
        seed=seed,
        device="cpu" if kind(algo).family == "sbx" else resolved,
        verbose=0,
        **_constructor_kwargs(algo, cfg, env),
    )


def save(model: BaseAlgorithm, folder: str | Path, cfg: dict[str, Any]) -> None:
    """Save a model as its weights plus its config (``agent.json``), without pickles:
    an SB3 policy's state dict (``policy.pt``), an SBX agent's parameter arrays
    (``params.npz``). Load it back with :func:`load`.

    Args:
        model: The trained model.
        folder: Destination folder (created).
        cfg: ``{"algo": ..., "task": ..., "preset": ..., "overrides": {...}}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    view(model).save(folder)
    doc = {**cfg, "format": FORMAT_VERSION}
    (folder / "agent.json").write_text(json.dumps(doc, indent=2, sort_keys=True))


def load(folder: str | Path, env: gym.Env | VecEnv, device: str = "auto") -> BaseAlgorithm:
    """Rebuild a model saved by :func:`save` and load its weights safely.

    Raises:
        FileFormatError: The folder is missing or a file, or its ``agent.json`` or
            weights file is missing, corrupt, of another agent or of a newer format.
        SpaceMismatchError: The weights were saved for other observation or action
            spaces (another task) than ``env``'s.
    """
    what = "a saved agent (agent.json and its weights, as `rewarddesign train` writes in model/)"
    folder = require_dir(folder, what)
    cfg = load_json(folder / "agent.json", "agent config")
    if cfg.get("algo") not in AGENTS or not isinstance(cfg.get("overrides", {}), dict):
        raise FileFormatError(
            f"{str(folder / 'agent.json')!r} is not an agent config: it needs 'algo' (one of "
            f"{', '.join(AGENTS)}) and a mapping 'overrides', got {cfg!r}."
        )
    if cfg.get("format", FORMAT_VERSION) != FORMAT_VERSION:
        raise FileFormatError(
            f"{str(folder / 'agent.json')!r} is of format {cfg['format']!r}; this version of "
            f"rewarddesign reads format {FORMAT_VERSION}: upgrade rewarddesign."
        )
    model = make(
        cfg["algo"],
        env,
        device=device,
        preset=cfg.get("preset"),
        task=cfg.get("task"),
        **cfg.get("overrides", {}),
    )
    view(model).load(folder, cfg)
    return model
