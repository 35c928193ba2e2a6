"""Figures of what runs logged, as PNG bytes: a method's named series over training (the
figures methods add to reports, :meth:`rewarddesign.methods.base.Method.report_figures`).

Below the methods, which call it, and the benchmark report, which embeds its output.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np

from rewarddesign.contract.runspec import RunResult


def png(fig) -> bytes:
    """The figure as PNG bytes (the figure is closed).

    Example:
        >>> png(plt.figure(figsize=(1, 1)))[:4]
        b'\\x89PNG'
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def series_figure(results: Sequence[tuple[str, RunResult]], names: Sequence[str]) -> bytes | None:
    """Named series of ``(method label, result)`` pairs over training.

    Per task (rows) and series (columns): each label's mean over seeds, on a common step
    grid (seeds log at different steps: a method's outer steps follow episode ends).

    Returns:
        The PNG, or None where no run logged any of ``names``.

    Example:
        >>> from rewarddesign.contract.runspec import RunResult, RunSpec
        >>> r = RunResult(RunSpec("barfi/CartPole", "barfi", "pg", seed=0), [], 0.0)
        >>> series_figure([("barfi", r)], ["phi1"]) is None
        True
        >>> r.series["phi1"] = [(10, 0.0), (100, 0.5)]
        >>> series_figure([("barfi", r)], ["phi1", "gamma"])[:4]  # phi1 only: gamma not logged
        b'\\x89PNG'
    """
    names = [n for n in names if any(n in r.series for _, r in results)]
    if not names:
        return None
    tasks: dict[str, dict[str, list[RunResult]]] = {}  # task -> label -> runs, as first seen
    for label, r in results:
        tasks.setdefault(r.spec.task, {}).setdefault(label, []).append(r)
    fig, axes = plt.subplots(
        len(tasks), len(names), figsize=(4 * len(names), 3 * len(tasks)), squeeze=False
    )
    for row, (task, by_method) in zip(axes, tasks.items(), strict=True):
        for ax, name in zip(row, names, strict=True):
            for m, rs in by_method.items():
                logged = [np.array(r.series[name]) for r in rs if r.series.get(name)]
                if not logged:
                    continue
                grid = np.linspace(0, min(x[-1, 0] for x in logged), 50)
                values = np.array([np.interp(grid, x[:, 0], x[:, 1]) for x in logged])
                ax.plot(grid, values.mean(0), label=f"{m} (n={len(logged)})")
            ax.set(title=f"{task}: {name}", xlabel="env steps")
            ax.legend(fontsize=7)
    return png(fig)
