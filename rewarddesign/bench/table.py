"""Summary tables of benchmark results: task x method, mean and 95% CI over seeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from rewarddesign.contract.runspec import RunResult


@dataclass(frozen=True)
class Row:
    """One task x method cell of a table."""

    task: str
    method: str
    n: int
    mean: float
    ci_low: float
    ci_high: float
    median: float
    wall_time: float

    @property
    def ci_text(self) -> str:
        """``[low, high]``, or ``n/a`` where one seed gives no interval."""
        if np.isnan(self.ci_low):
            return "n/a"
        return f"[{self.ci_low:.1f}, {self.ci_high:.1f}]"


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of the mean.

    With one value no spread can be estimated: the interval is (nan, nan).

    Example:
        >>> m, lo, hi = mean_ci([1.0, 2.0, 3.0])
        >>> round(m, 3), round(hi - m, 3)  # t(0.975, 2) * 1 / sqrt(3)
        (2.0, 2.484)
    """
    x = np.asarray(values, dtype=np.float64)
    mean = float(x.mean())
    if len(x) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf((1 + confidence) / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    return mean, mean - half, mean + half


def summarize(results: Sequence[tuple[str, RunResult]]) -> list[Row]:
    """Group ``(method label, result)`` pairs by task and method, in first-seen order."""
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for label, result in results:
        groups.setdefault((result.spec.task, label), []).append(result)
    rows = []
    for (task, label), rs in groups.items():
        finals = [r.final_return for r in rs]
        mean, lo, hi = mean_ci(finals)
        rows.append(
            Row(
                task,
                label,
                len(rs),
                mean,
                lo,
                hi,
                float(np.median(finals)),
                float(np.mean([r.wall_time for r in rs])),
            )
        )
    return rows
