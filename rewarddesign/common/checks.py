"""Checks of user values, shared by every room: integers, numbers, probabilities, YAML
mappings, lists and keys. Each raises the project's own error type, naming the value and
what it must be, before any work starts.

Example:
    >>> check_int(3, "queries", 1)
    3
    >>> check_int(True, "queries", 1)
    Traceback (most recent call last):
    ...
    rewarddesign.errors.ParameterError: queries must be an integer >= 1, got True.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign.errors import ParameterError, SpecError


def is_int(value: Any) -> bool:
    """An integer (Python or numpy), not a bool."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def is_number(value: Any) -> bool:
    """A real number (Python or numpy), not a bool or a string."""
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _range_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


def check_int(
    value: Any,
    name: str,
    minimum: int | None = None,
    maximum: int | None = None,
    *,
    error: type[Exception] = ParameterError,
) -> int:
    """Return ``value`` as an int if it is an integer in ``[minimum, maximum]``.

    Raises:
        ParameterError: (or ``error``) Otherwise: "NAME must be an integer >= MIN, got V."
    """
    if (
        not is_int(value)
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
    ):
        bounds = _range_text(minimum, maximum, False, False)
        raise error(f"{name} must be an integer{bounds}, got {value!r}.")
    return int(value)


def check_number(
    value: Any,
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = True,
    error: type[Exception] = ParameterError,
) -> float:
    """Return ``value`` as a float if it is a real number in the given range.

    Args:
        value: The value to check.
        name: What it is, for the message.
        low: Lower bound (None: none); excluded when ``low_open``.
        high: Upper bound (None: none); excluded when ``high_open``.
        finite: Refuse NaN and infinities.
        error: The error type to raise.

    Raises:
        ParameterError: (or ``error``) Otherwise, naming the value and the range.
    """
    ok = is_number(value) and not (finite and not math.isfinite(value))
    ok = ok and not (low is not None and (value <= low if low_open else value < low))
    ok = ok and not (high is not None and (value >= high if high_open else value > high))
    if not ok:
        kind = "a finite number" if finite and high is None else "a number"
        bounds = _range_text(low, high, low_open, high_open)
        if low == 0 and low_open and high is None:
            kind, bounds = "a positive finite number" if finite else "a positive number", ""
        raise error(f"{name} must be {kind}{bounds}, got {value!r}.")
    return float(value)


SEED_LIMIT = 2**32
"""Seeds are integers in ``[0, 2**32)``, what ``numpy.random.default_rng``, Gymnasium's
``reset(seed=...)`` and SB3's ``set_random_seed`` all accept."""


def check_seed(value: Any, name: str = "seed", count: int = 1) -> int:
    """Return ``value`` as an int if it is a seed numpy accepts, with ``count`` seeds from it
    (``value``, ``value + 1``, ...) still in range.

    Example:
        >>> check_seed(-1)
        Traceback (most recent call last):
        ...
        rewarddesign.errors.ParameterError: seed must be an integer in [0, 4294967295], got -1.

    Raises:
        ParameterError: A bool, a non-integer or a value outside ``[0, 2**32 - count]``.
    """
    return check_int(value, name, 0, SEED_LIMIT - count)


def check_probability(value: Any, name: str, *, error: type[Exception] = ParameterError) -> float:
    """Return ``value`` as a float if it is a probability, in ``[0, 1]``.

    Raises:
        ParameterError: (or ``error``) Otherwise: "NAME must be in [0, 1], got V."
    """
    if not is_number(value) or not 0 <= value <= 1:
        raise error(f"{name} must be in [0, 1], got {value!r}.")
    return float(value)


def require_mapping(doc: Any, where: str) -> dict[str, Any]:
    """Check that a parsed YAML document is a mapping.

    Args:
        doc: The parsed document.
        where: What it is, for the error message.

    Returns:
        The document.

    Raises:
        SpecError: If it is not a mapping.
    """
    if not isinstance(doc, dict):
        raise SpecError(f"{where} must be a YAML mapping, got {type(doc).__name__}: {doc!r}.")
    return doc


def require_list(value: Any, where: str, of: type | tuple[type, ...] = object) -> list[Any]:
    """Check that a spec value is a list (not a string) whose items have type ``of``.

    Raises:
        SpecError: Otherwise, naming the value.
    """
    if not isinstance(value, list) or any(
        not isinstance(v, of) or (isinstance(v, bool) and of is not bool) for v in value
    ):
        kind = getattr(of, "__name__", "value") if of is not object else "value"
        raise SpecError(f"{where} must be a list of {kind}s, got {value!r}.")
    return value


def require_number(value: Any, where: str) -> float:
    """Check that a spec value is a real number (not a bool or string) and return it.

    Raises:
        SpecError: Otherwise, naming the value.
    """
    if not is_number(value):
        raise SpecError(f"{where} must be a number, got {value!r}.")
    return float(value)


def check_keys(
    doc: dict[str, Any], where: str, allowed: set[str], required: set[str] = frozenset()
) -> None:
    """Reject unknown keys and require the mandatory ones.

    Args:
        doc: A mapping from a spec.
        where: What it is, for the error message.
        allowed: Every key that may appear.
        required: Keys that must appear.

    Raises:
        SpecError: On an unknown or missing key.
    """
    extra = set(doc) - allowed
    if extra:
        raise SpecError(
            f"unknown key(s) {sorted(map(str, extra))} in {where}; "
            f"allowed keys: {', '.join(sorted(allowed))}."
        )
    missing = required - set(doc)
    if missing:
        raise SpecError(f"missing key(s) {sorted(missing)} in {where}.")


BATCHED = (
    "write it for a batch, one row per env: `lambda obs: -obs[:, 2] ** 2`, not the "
    "one-observation `lambda obs: -obs[2] ** 2`"
)
"""How a user callable is written for a batch, named in every error about its shape."""


def probe_batched(
    fn: Callable, what: str, observation_space: gym.Space, action_space: gym.Space, step: bool
) -> None:
    """Call a user's batched callable once on two in-bounds rows, before any env step, so a
    function written for one observation fails here with the fix, not mid-training.

    Args:
        fn: ``Phi(obs)`` (``step=False``) or ``f(obs, action, next_obs)`` (``step=True``).
        what: Its name, for the message.
        observation_space: One env's observation space (the probe's rows are in it).
        action_space: One env's action space.
        step: Whether it takes a whole step.

    Raises:
        ParameterError: The call fails on a batch, or returns other than one value (or
            one row of values) per row.
    """
    obs = np.stack([_in_bounds(observation_space)] * 2)
    args = (obs, np.stack([_in_bounds(action_space)] * 2), obs) if step else (obs,)
    try:
        out = np.asarray(fn(*args))
    except (IndexError, TypeError, ValueError) as exc:
        raise ParameterError(
            f"{what} fails on a batch of 2 observations ({type(exc).__name__}: {exc}); {BATCHED}."
        ) from exc
    if out.ndim not in (1, 2) or len(out) != 2:
        raise ParameterError(
            f"{what} returned shape {out.shape} for a batch of 2; it must return one value "
            f"per row, shape (2,): {BATCHED}."
        )


def _in_bounds(space: gym.Space) -> np.ndarray:
    """A point of ``space`` without drawing from its generator (seeded runs stay as they are)."""
    if isinstance(space, gym.spaces.Box):
        return np.clip(np.zeros(space.shape, space.dtype), space.low, space.high)
    if isinstance(space, gym.spaces.Discrete):
        return np.asarray(space.start, dtype=np.int64)
    return np.zeros(space.shape or (), dtype=space.dtype or np.float64)
