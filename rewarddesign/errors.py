"""Exception types of rewarddesign.

Every error raised for bad input names the offending value and says how to fix it.
All derive from :class:`RewardDesignError`, so ``except rd.errors.RewardDesignError``
catches anything the package raises on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable


class RewardDesignError(Exception):
    """Base class of every error rewarddesign raises on purpose."""


class SpecError(RewardDesignError, ValueError):
    """A task, agent, grid or run spec is malformed (bad YAML, unknown or missing keys)."""


class UnknownNameError(RewardDesignError, KeyError):
    """An id or name (task, agent, method, factor, preset, parameter) is not registered."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class ParameterError(RewardDesignError, ValueError):
    """A parameter value is out of range (non-positive budget, NaN reward, ...)."""


class SpaceMismatchError(RewardDesignError, ValueError):
    """Observation or action spaces of two components do not fit together."""


class FileFormatError(SpecError):
    """A file is missing, unreadable, corrupt, or not the kind expected (a trajectory file
    given as a preference dataset, random bytes as a reward model). The message names the
    file and what it should be; it is a :class:`SpecError`, as a malformed spec file is."""


class StorageError(RewardDesignError):
    """A results store or Optuna storage cannot be opened (bad URL, missing driver,
    unreachable server)."""


def unknown(kind: str, value: object, choices: Iterable[str], hint: str = "") -> UnknownNameError:
    """Build an :class:`UnknownNameError` that lists the valid choices.

    Args:
        kind: What was looked up, e.g. ``"task"``.
        value: The bad value.
        choices: The valid names.
        hint: Optional extra sentence on how to fix it.

    Returns:
        The error, ready to raise.
    """
    listed = ", ".join(sorted(choices)) or "(none)"
    msg = f"unknown {kind} {value!r}; valid choices: {listed}."
    if hint:
        msg += f" {hint}"
    return UnknownNameError(msg)
