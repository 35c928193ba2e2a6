"""The few-label options of the preference loop, each off unless given, each composable.

* ``qpa`` (Hu et al. 2023): policy-aligned queries, candidate segments only from the
  most recent ``episodes`` episodes; and hybrid experience replay, a ``hybrid`` fraction
  of every agent batch from those episodes while labels remain.
* ``crop`` (QPA's data augmentation, SURF's temporal cropping): every labelled pair is
  also trained on as ``copies`` crops, both segments cut to one drawn length in
  ``[min, max]`` at independent starts.
* ``surf`` (Park et al. 2022): unlabelled pairs (``ratio`` per labelled one) whose
  predicted preference exceeds ``tau`` are pseudo-labelled, per member and minibatch;
  the loss adds ``weight`` times their cross-entropy.
* ``rune`` (Liang et al. 2022): the agent's reward is the ensemble mean plus
  ``beta_t`` times its std, ``beta_t = beta0 * (1 - rho) ** t`` (t in env steps).

They are given as mappings (``qpa: {episodes: 10}``); :func:`parse_option` fills in the
defaults and refuses what cannot work, naming the value and the range.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from rewarddesign.common.checks import check_int, check_number, check_probability
from rewarddesign.errors import ParameterError, unknown


@dataclass(frozen=True)
class QpaOption:
    """QPA's policy-aligned queries and hybrid experience replay.

    Attributes:
        episodes: Queries are cut from the most recent ``episodes`` episodes (QPA: 10 on
            dm-control, 30-60 on MetaWorld); the episode in progress counts as one.
        hybrid: Fraction of every agent batch drawn from those episodes while labels
            remain (0: ordinary sampling throughout).
    """

    episodes: int = 10
    hybrid: float = 0.5

    def check(self, where: str) -> None:
        check_int(self.episodes, f"{where}: qpa.episodes", 1)
        check_probability(self.hybrid, f"{where}: qpa.hybrid")


@dataclass(frozen=True)
class CropOption:
    """Pair crops: ``copies`` crops of each labelled pair, lengths in ``[min, max]``.

    Attributes:
        min: Shortest crop (steps).
        max: Longest crop (steps), at most the segment length.
        copies: Crops per labelled pair per epoch (QPA: 20).
    """

    min: int = 35
    max: int = 45
    copies: int = 20

    def check(self, where: str) -> None:
        check_int(self.min, f"{where}: crop.min", 1)
        check_int(self.max, f"{where}: crop.max", 1)
        check_int(self.copies, f"{where}: crop.copies", 1)
        if self.min > self.max:
            raise ParameterError(
                f"{where}: crop.min {self.min} is longer than crop.max {self.max}; give min <= max."
            )


@dataclass(frozen=True)
class SurfOption:
    """SURF's pseudo-labels on unlabelled pairs.

    Attributes:
        ratio: Unlabelled pairs drawn per labelled pair at each session.
        tau: Confidence above which a member pseudo-labels a pair, in (0.5, 1).
        weight: Weight (lambda) of the pseudo-labelled cross-entropy.
    """

    ratio: float = 4.0
    tau: float = 0.99
    weight: float = 1.0

    def check(self, where: str) -> None:
        check_number(self.ratio, f"{where}: surf.ratio", 0, low_open=True)
        check_number(self.tau, f"{where}: surf.tau", 0.5, 1, low_open=True, high_open=True)
        check_number(self.weight, f"{where}: surf.weight", 0)


@dataclass(frozen=True)
class RuneOption:
    """RUNE's exploration bonus: ``beta_t`` times the ensemble's std.

    Attributes:
        beta0: The bonus weight at step 0.
        rho: Decay per env step, in [0, 1).
    """

    beta0: float = 0.05
    rho: float = 1e-5

    def check(self, where: str) -> None:
        check_number(self.beta0, f"{where}: rune.beta0", 0)
        check_number(self.rho, f"{where}: rune.rho", 0, 1, high_open=True)

    def beta(self, step: int) -> float:
        """``beta0 * (1 - rho) ** step``."""
        return float(self.beta0 * (1.0 - self.rho) ** step)


OPTIONS: dict[str, type] = {
    "qpa": QpaOption,
    "crop": CropOption,
    "surf": SurfOption,
    "rune": RuneOption,
}


def parse_option(name: str, value: Any, where: str) -> Any:
    """The option ``name`` from its mapping (None: off), defaults filled in and checked.

    Example:
        >>> parse_option("qpa", {"episodes": 30}, "pbrl")
        QpaOption(episodes=30, hybrid=0.5)
        >>> parse_option("rune", None, "pbrl") is None
        True

    Raises:
        ParameterError: Not a mapping, an unknown key, or a value out of range.
    """
    if value is None:
        return None
    cls = OPTIONS[name]
    if isinstance(value, cls):
        option = value
    else:
        if not isinstance(value, dict):
            keys = ", ".join(f.name for f in fields(cls))
            raise ParameterError(
                f"{where}: {name} must be a mapping of {keys} (or null: off), got {value!r}."
            )
        known = {f.name for f in fields(cls)}
        for key in value:
            if key not in known:
                raise unknown(f"{where} {name} option", key, known)
        option = cls(**value)
    option.check(where)
    return option
