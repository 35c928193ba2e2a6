"""Over-optimisation (reward hacking) on a learning curve: the true return peaks while the
return of the reward the agent trains on (the proxy) keeps rising."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rewarddesign.common.checks import check_number
from rewarddesign.errors import ParameterError

TOLERANCE = 0.1
"""The least fall of the true return and rise of the proxy after the true peak, as a
share of each curve's range, that counts (smaller moves are evaluation noise)."""


@dataclass(frozen=True)
class Overoptimisation:
    """Where the true return peaked while the proxy still rose.

    Attributes:
        peak_step: The env step of the true return's peak.
        peak_true: The true return there.
        end_step: The last evaluation's step.
        end_true: The true return at the end.
        peak_proxy: The proxy return at the peak.
        max_proxy_after: The proxy's highest value after the peak.
    """

    peak_step: int
    peak_true: float
    end_step: int
    end_true: float
    peak_proxy: float
    max_proxy_after: float

    def text(self) -> str:
        """One sentence for a report."""
        return (
            f"the true return peaks at step {self.peak_step} ({self.peak_true:.4g}) and ends at "
            f"{self.end_true:.4g} (step {self.end_step}) while the proxy return rises from "
            f"{self.peak_proxy:.4g} to {self.max_proxy_after:.4g}"
        )


def find_overoptimisation(
    steps: Sequence[int],
    true: Sequence[float],
    proxy: Sequence[float],
    tolerance: float = TOLERANCE,
) -> Overoptimisation | None:
    """The true return's peak if, after it, the true return ends lower and the proxy goes
    higher, each by at least ``tolerance`` of its curve's range; else None.

    Example:
        >>> o = find_overoptimisation([1, 2, 3, 4], [0, 5, 3, 1], [0, 1, 2, 3])
        >>> o.peak_step, o.end_true, o.max_proxy_after
        (2, 1.0, 3.0)
        >>> find_overoptimisation([1, 2, 3], [0, 1, 2], [0, 1, 2]) is None  # both rise
        True

    Raises:
        ParameterError: Curves of different lengths.
    """
    tolerance = check_number(tolerance, "tolerance", 0.0, 1.0)
    steps = np.asarray(steps)
    true, proxy = np.asarray(true, dtype=np.float64), np.asarray(proxy, dtype=np.float64)
    if not len(steps) == len(true) == len(proxy):
        raise ParameterError(
            f"steps, true and proxy returns differ in length: {len(steps)}, {len(true)}, "
            f"{len(proxy)}; give one of each per evaluation."
        )
    if len(steps) < 3:
        return None
    p = int(np.argmax(true))
    if p == len(true) - 1:
        return None
    true_range, proxy_range = np.ptp(true), np.ptp(proxy)
    fell = true[p] - true[-1] >= tolerance * true_range > 0
    later = float(proxy[p + 1 :].max())
    rose = later - proxy[p] >= tolerance * proxy_range > 0
    if not (fell and rose):
        return None
    return Overoptimisation(
        peak_step=int(steps[p]),
        peak_true=float(true[p]),
        end_step=int(steps[-1]),
        end_true=float(true[-1]),
        peak_proxy=float(proxy[p]),
        max_proxy_after=later,
    )
