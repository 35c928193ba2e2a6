"""Agent factory: SB3 agents from the agent specs in ``agents/*.yaml`` (rl-zoo style).

A spec has ``defaults``, per-task entries under ``tasks`` and named ``presets``; the
configuration of one agent merges ``defaults < tasks[task] < presets[preset] <
overrides``. ``device="auto"`` picks cuda when torch sees a GPU, else cpu.

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
from stable_baselines3 import PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.vec_env import VecEnv

from rewarddesign.agents.checks import ACTIVATIONS, check_config
from rewarddesign.common.checks import check_keys, check_seed, require_mapping
from rewarddesign.common.files import (
    data_dir,
    load_json,
    load_state_dict,
    load_yaml,
    require_dir,
)
from rewarddesign.errors import (
    FileFormatError,
    ParameterError,
    SpaceMismatchError,
    unknown,
)

ALGORITHMS: dict[str, type[BaseAlgorithm]] = {"sac": SAC, "td3": TD3, "ppo": PPO}
# Learners a method builds and trains itself (BARFI's policy gradient, :mod:`.pg`): their
# settings are the method's parameters, so they take no preset and no override.
OWN_LEARNERS = {"pg": "barfi's parameters (lr, hidden, episodes, ...)"}
# Keys of an agent spec that are not constructor arguments of the SB3 class.
EXTRA_KEYS = {"n_envs", "action_noise"}
# Constructor arguments the factory sets itself; a spec or override may not.
RESERVED_KEYS = {"self", "env", "seed", "device", "verbose", "_init_setup_model"}


@functools.cache
def _spec(algo: str) -> dict[str, Any]:
    if algo not in ALGORITHMS:
        raise unknown("agent", algo, ALGORITHMS)
    path = data_dir("agents") / f"{algo}.yaml"
    doc = require_mapping(load_yaml(path), f"agent spec {str(path)!r}")
    check_keys(doc, f"agent spec {str(path)!r}", {"algo", "defaults", "presets", "tasks"}, {"algo"})
    for key in ("defaults", "presets", "tasks"):
        doc[key] = require_mapping(doc.get(key) or {}, f"{key} of agent spec {str(path)!r}")
    return doc


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` -> ``"cuda"`` when torch sees a GPU, else ``"cpu"``; others unchanged."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device).type
    except RuntimeError as exc:
        raise ParameterError(
            f"unknown torch device {device!r}; use 'auto', 'cpu' or 'cuda'."
        ) from exc
    if kind == "cuda" and not torch.cuda.is_available():
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
        algo: ``"sac"``, ``"td3"``, ``"ppo"``, or ``"pg"`` (BARFI's own learner, whose
            settings are the method's: it takes no preset or override and has no config).
        task: Task id whose per-task entry applies, if any.
        preset: Preset name (e.g. ``"fast"``), or None.
        **overrides: Hyperparameters that win over the spec.

    Returns:
        The merged configuration (None for ``"pg"``).

    Raises:
        UnknownNameError: For an unknown agent, preset or hyperparameter name.
        ParameterError: For a value SB3 or torch would reject (see :mod:`.checks`).
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
    valid = set(inspect.signature(ALGORITHMS[algo].__init__).parameters) - RESERVED_KEYS
    valid |= EXTRA_KEYS
    for key in merged:
        if key not in valid:
            raise unknown(f"hyperparameter of agent {algo!r}", key, valid)
    check_config(algo, ALGORITHMS[algo], merged)
    return merged


def _own_learner_config(algo: str, preset: str | None, overrides: dict[str, Any]) -> None:
    """A method's own learner has no spec: refuse a preset or override rather than ignore it
    (it would still change the run key)."""
    hint = f"Agent {algo!r} is set by {OWN_LEARNERS[algo]}; pass those as method parameters."
    if preset is not None:
        raise unknown(f"preset of agent {algo!r}", preset, (), hint)
    if overrides:
        raise unknown(f"hyperparameter of agent {algo!r}", next(iter(overrides)), (), hint)


def _constructor_kwargs(cfg: dict[str, Any], env: gym.Env | VecEnv) -> dict[str, Any]:
    kwargs = {k: v for k, v in cfg.items() if k not in EXTRA_KEYS}
    policy_kwargs = dict(kwargs.get("policy_kwargs") or {})  # checked by check_config
    if isinstance(policy_kwargs.get("activation_fn"), str):
        policy_kwargs["activation_fn"] = ACTIVATIONS[policy_kwargs["activation_fn"]]
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
    if algo in ("sac", "td3") and not isinstance(space, gym.spaces.Box):
        raise SpaceMismatchError(
            f"agent {algo!r} needs a continuous (Box) action space, got {space}; "
            "use 'ppo' for discrete actions."
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
    """Build an SB3 agent for an env.

    Args:
        algo: ``"sac"``, ``"td3"`` or ``"ppo"``.
        env: The training env (single or VecEnv).
        seed: Seed of the agent (and, through SB3, of the env's resets).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        preset: Preset name from the agent spec, e.g. ``"fast"``.
        task: Task id for per-task hyperparameters; inferred from an env made by
            ``rd.make`` when omitted.
        **overrides: Hyperparameters overriding the spec.

    Returns:
        The SB3 model (not yet trained).

    Raises:
        SpaceMismatchError: If the algorithm cannot act in the env's action space.
        ParameterError: A seed outside ``[0, 2**32)`` or a hyperparameter out of range.
    """
    if seed is not None:
        check_seed(seed)
    cfg = config(algo, task if task is not None else _task_of(env), preset, **overrides)
    cls = ALGORITHMS[algo]
    check_action_space(algo, env.action_space)
    return cls(
        env=env,
        seed=seed,
        device=resolve_device(device),
        verbose=0,
        **_constructor_kwargs(cfg, env),
    )


def save(model: BaseAlgorithm, folder: str | Path, cfg: dict[str, Any]) -> None:
    """Save a model as a policy state dict (``policy.pt``) plus its config (``agent.json``).

    No pickles: load it back with :func:`load`, which uses ``weights_only=True``.

    Args:
        model: The trained SB3 model.
        folder: Destination folder (created).
        cfg: ``{"algo": ..., "task": ..., "preset": ..., "overrides": {...}}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.policy.state_dict(), folder / "policy.pt")
    (folder / "agent.json").write_text(json.dumps(cfg, indent=2, sort_keys=True))


def load(folder: str | Path, env: gym.Env | VecEnv, device: str = "auto") -> BaseAlgorithm:
    """Rebuild a model saved by :func:`save` and load its policy weights safely.

    Raises:
        FileFormatError: The folder is missing or a file, or its ``agent.json`` or
            ``policy.pt`` is missing, corrupt or of another agent.
        SpaceMismatchError: The policy was saved for other observation or action spaces
            (another task) than ``env``'s.
    """
    what = "a saved agent (agent.json and policy.pt, as `rewarddesign train` writes in model/)"
    folder = require_dir(folder, what)
    cfg = load_json(folder / "agent.json", "agent config")
    if cfg.get("algo") not in ALGORITHMS or not isinstance(cfg.get("overrides", {}), dict):
        raise FileFormatError(
            f"{str(folder / 'agent.json')!r} is not an agent config: it needs 'algo' (one of "
            f"{', '.join(ALGORITHMS)}) and a mapping 'overrides', got {cfg!r}."
        )
    model = make(
        cfg["algo"],
        env,
        device=device,
        preset=cfg.get("preset"),
        task=cfg.get("task"),
        **cfg.get("overrides", {}),
    )
    state = load_state_dict(folder / "policy.pt", f"{cfg['algo']} policy", model.device)
    own = model.policy.state_dict()
    if set(state) != set(own):
        raise FileFormatError(
            f"{str(folder / 'policy.pt')!r} does not hold the weights of the {cfg['algo']} "
            f"policy {str(folder / 'agent.json')!r} describes (other layers); save it again."
        )
    shape = {k: tuple(getattr(v, "shape", ())) for k, v in state.items()}
    wrong = [k for k in own if shape[k] != tuple(own[k].shape)]
    if wrong:
        raise SpaceMismatchError(
            f"the policy in {str(folder)!r} was saved for task {cfg.get('task')!r}; its layer "
            f"{wrong[0]!r} has shape {shape[wrong[0]]}, the env (observations "
            f"{env.observation_space}, actions {env.action_space}) needs "
            f"{tuple(own[wrong[0]].shape)}. Load it on an env of that task."
        )
    model.policy.load_state_dict(state)
    return model
