"""Checks of an agent's hyperparameters, before SB3 or torch sees them.

SB3 takes most values as they come and fails late (a string learning rate is an
``AssertionError`` deep in its schedule code, a batch size of 0 a ``ZeroDivisionError`` in
the first update) or not at all (``gamma: 1.5`` trains on a divergent return). The agent
factory checks every merged configuration with :func:`check_config`, so a bad value is
refused while the run is validated, with its name, the value and the range it must be in.

Example:
    >>> from stable_baselines3 import SAC
    >>> check_config("sac", SAC, {"batch_size": 0})
    Traceback (most recent call last):
    ...
    rewarddesign.errors.ParameterError: agent 'sac': batch_size must be an integer >= 1, got 0.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from rewarddesign.agents.kinds import kind
from rewarddesign.common.checks import (
    check_int,
    check_number,
    check_probability,
    is_int,
    is_number,
)
from rewarddesign.errors import ParameterError, SpecError, unknown

ACTIVATIONS: dict[str, type[torch.nn.Module]] = {
    "relu": torch.nn.ReLU,
    "tanh": torch.nn.Tanh,
    "elu": torch.nn.ELU,
}
"""Activation names an agent spec may give for ``policy_kwargs.activation_fn``, and the
torch modules SB3 takes for them."""


def activations(family: str) -> dict[str, Any]:
    """The activations of :data:`ACTIVATIONS` as a family takes them: torch modules for
    SB3, flax functions for SBX."""
    if family == "sb3":
        return dict(ACTIVATIONS)
    import flax.linen as nn

    return {name: getattr(nn, name) for name in ACTIVATIONS}


def _positive(value: Any, name: str) -> None:
    if callable(value):  # an SB3 schedule (progress_remaining -> value), from Python
        return
    if isinstance(value, str) and _reads_as_number(value):
        raise ParameterError(
            f"{name} must be a positive finite number, got the text {value!r}; YAML reads "
            f"{value} as text: write it with a dot, e.g. {float(value):.1e}."
        )
    check_number(value, name, 0, low_open=True)


def _reads_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _non_negative(value: Any, name: str) -> None:
    check_number(value, name, 0)


def _int_at_least(low: int) -> Callable[[Any, str], None]:
    return lambda value, name: check_int(value, name, low)


def _bool(value: Any, name: str) -> None:
    if not isinstance(value, bool):
        raise ParameterError(f"{name} must be true or false, got {value!r}.")


def _optional_positive(value: Any, name: str) -> None:
    if value is not None:
        _positive(value, name)


def _finite(value: Any, name: str) -> None:
    check_number(value, name)


def _train_freq(value: Any, name: str) -> None:
    if is_int(value):
        check_int(value, name, 1)
        return
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and is_int(value[0])
        and value[0] >= 1
        and value[1] in ("step", "episode")
    ):
        return
    raise ParameterError(
        f"{name} must be an integer >= 1 or [N, 'step' | 'episode'] with N >= 1, got {value!r}."
    )


def _gradient_steps(value: Any, name: str) -> None:
    if not is_int(value) or value < -1:
        raise ParameterError(
            f"{name} must be an integer >= 0 (0: no training), or -1 (as many as env "
            f"steps), got {value!r}."
        )


def _ent_coef(entropy_tuned: bool) -> Callable[[Any, str], None]:
    def check(value: Any, name: str) -> None:
        if entropy_tuned and isinstance(value, str):
            head, sep, start = value.partition("_")
            if head == "auto" and (
                not sep or (_reads_as_number(start) and 0 < float(start) < float("inf"))
            ):
                return
            raise ParameterError(
                f"{name} must be a number >= 0, 'auto' or 'auto_X' with X > 0 (the "
                f"initial value), got {value!r}."
            )
        _non_negative(value, name)

    return check


def _target_entropy(value: Any, name: str) -> None:
    if value != "auto":
        if not is_number(value):
            raise ParameterError(f"{name} must be 'auto' or a finite number, got {value!r}.")
        _finite(value, name)


def _policy(cls: type) -> Callable[[Any, str], None]:
    def check(value: Any, name: str) -> None:
        if isinstance(value, type):
            return
        if not isinstance(value, str) or value not in cls.policy_aliases:
            raise unknown(name, value, cls.policy_aliases)

    return check


_RULES: dict[str, Callable[[Any, str], None]] = {
    "learning_rate": _positive,
    "buffer_size": _int_at_least(1),
    "learning_starts": _int_at_least(0),
    "batch_size": _int_at_least(1),
    "tau": lambda v, n: check_probability(v, n),
    "gamma": lambda v, n: check_probability(v, n),
    "train_freq": _train_freq,
    "gradient_steps": _gradient_steps,
    "optimize_memory_usage": _bool,
    "target_update_interval": _int_at_least(1),
    "target_entropy": _target_entropy,
    "use_sde": _bool,
    "use_sde_at_warmup": _bool,
    "sde_sample_freq": _int_at_least(-1),
    "stats_window_size": _int_at_least(1),
    "policy_delay": _int_at_least(1),
    "target_policy_noise": _non_negative,
    "target_noise_clip": _non_negative,
    "n_steps": _int_at_least(1),
    "n_epochs": _int_at_least(1),
    "gae_lambda": lambda v, n: check_probability(v, n),
    "clip_range": _positive,
    "clip_range_vf": _optional_positive,
    "normalize_advantage": _bool,
    "vf_coef": _non_negative,
    "max_grad_norm": _positive,
    "target_kl": _optional_positive,
    "n_envs": _int_at_least(1),
}


def check_config(algo: str, cls: type, cfg: dict[str, Any]) -> None:
    """Refuse hyperparameter values SB3 or torch would reject (or train nonsense on).

    Names are checked before (:func:`~rewarddesign.agents.factory.config`); keys without a
    rule here (buffer classes, ``tensorboard_log``) are left to SB3.

    Args:
        algo: The agent's name, for messages.
        cls: Its SB3 class (for the policy names and the policy's keyword arguments).
        cfg: The merged configuration.

    Raises:
        ParameterError: A value out of range or of the wrong type.
        SpecError: Malformed ``policy_kwargs`` or ``action_noise``.
        UnknownNameError: An unknown policy, activation or ``policy_kwargs`` key.
    """
    # SAC's family (SAC, TQC, CrossQ) tunes its entropy coefficient ('auto')
    tuned = "target_entropy" in inspect.signature(cls.__init__).parameters
    rules = {**_RULES, "ent_coef": _ent_coef(tuned), "policy": _policy(cls)}
    for key, value in cfg.items():
        if key in rules:
            rules[key](value, f"agent {algo!r}: {key}")
    on_policy = not kind(algo).off_policy
    if on_policy:
        _check_ppo_batches(algo, cfg)
    if cfg.get("policy_kwargs") is not None:
        _check_policy_kwargs(algo, cls, cfg)
    if cfg.get("action_noise") is not None:
        check_action_noise(cfg["action_noise"])


def _check_ppo_batches(algo: str, cfg: dict[str, Any]) -> None:
    # SB3 asserts both (advantages are normalised over a minibatch): refuse them here
    rollout = cfg.get("n_steps", 2048) * cfg.get("n_envs", 1)
    if cfg.get("normalize_advantage", True) and cfg.get("batch_size", 64) < 2:
        raise ParameterError(
            f"agent {algo!r}: batch_size must be >= 2 (advantages are normalised over a "
            f"minibatch), got {cfg['batch_size']!r}."
        )
    if rollout < 2:
        raise ParameterError(
            f"agent {algo!r}: a rollout of n_steps x n_envs = {rollout} step; it must be > 1."
        )


def _check_policy_kwargs(algo: str, cls: type, cfg: dict[str, Any]) -> None:
    kwargs = cfg["policy_kwargs"]
    where = f"agent {algo!r}: policy_kwargs"
    if not isinstance(kwargs, dict):
        raise SpecError(f"{where} must be a mapping, got {kwargs!r}.")
    policy = cfg.get("policy", "MlpPolicy")
    policy_cls = policy if isinstance(policy, type) else cls.policy_aliases[policy]
    valid = set(inspect.signature(policy_cls.__init__).parameters) - {
        "self",
        "observation_space",
        "action_space",
        "lr_schedule",
    }
    for key in kwargs:
        if key not in valid:
            raise unknown(f"key of {where}", key, valid)
    if "net_arch" in kwargs:
        _check_net_arch(kwargs["net_arch"], f"{where}.net_arch", algo)
    activation = kwargs.get("activation_fn")
    module = isinstance(activation, type) and issubclass(activation, torch.nn.Module)
    if kind(algo).family == "sbx":  # flax takes a function (jax.nn.relu) from Python
        module = callable(activation) and not isinstance(activation, type)
    if activation is not None and not module and str(activation) not in ACTIVATIONS:
        raise unknown(f"{where}.activation_fn", activation, ACTIVATIONS)
    for key in ("log_std_init",):
        if key in kwargs:
            _finite(kwargs[key], f"{where}.{key}")
    for key in ("n_critics",):
        if key in kwargs:
            check_int(kwargs[key], f"{where}.{key}", 1)
    for key in ("ortho_init", "share_features_extractor", "squash_output", "use_expln"):
        if key in kwargs:
            _bool(kwargs[key], f"{where}.{key}")


def _check_net_arch(arch: Any, where: str, algo: str) -> None:
    heads = ("pi", "qf") if kind(algo).off_policy else ("pi", "vf")
    layers = [arch] if isinstance(arch, list) else None
    if isinstance(arch, dict):
        extra = set(arch) - set(heads)
        if extra:
            raise SpecError(
                f"{where} may name the heads {list(heads)}, got {sorted(map(str, extra))}."
            )
        if heads[1] == "qf" and set(arch) != set(heads):  # off-policy nets need both
            raise SpecError(
                f"{where} as a mapping must give both heads {list(heads)}, got {arch!r}."
            )
        layers = list(arch.values())
    if layers is None or any(
        not isinstance(sizes, list) or any(not is_int(s) or s < 1 for s in sizes)
        for sizes in layers
    ):
        raise SpecError(
            f"{where} must be a list of layer sizes >= 1 (e.g. [64, 64]) or a mapping "
            f"{{{heads[0]}: [...], {heads[1]}: [...]}}, got {arch!r}."
        )


def check_action_noise(noise: Any) -> None:
    """``action_noise`` is ``{type: normal, std: S > 0}``.

    Raises:
        SpecError: Otherwise.
    """
    ok = isinstance(noise, dict) and set(noise) == {"type", "std"}
    if not ok or noise["type"] != "normal" or not is_number(noise["std"]) or not noise["std"] > 0:
        raise SpecError(f"action_noise must be {{type: normal, std: S > 0}}, got {noise!r}.")
