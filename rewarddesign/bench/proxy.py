"""The over-optimisation figure of a report: per task and method whose agent trains on a
reward other than the true one, the true and the proxy return of the same evaluation
episodes over env steps (means over seeds), with the true return's peak marked where the
proxy still rises after it (:func:`rewarddesign.diagnostics.overoptimisation`)."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np

from rewarddesign.contract.figures import png
from rewarddesign.contract.runspec import RunResult
from rewarddesign.diagnostics.overoptimisation import Overoptimisation, find_overoptimisation

SERIES = "proxy_return"


def mean_curves(runs: list[RunResult]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps where every seed has both returns, and the mean true and proxy return there
    (the last value logged at a step counts: the final evaluation replaces one made at
    the budget's step before the agent's last updates)."""
    true = [{p.step: p.mean_return for p in r.curve} for r in runs]
    proxy = [dict(r.series.get(SERIES, [])) for r in runs]
    steps = sorted(set.intersection(*(set(t) & set(p) for t, p in zip(true, proxy, strict=True))))
    mean = lambda d: np.array([np.mean([x[s] for x in d]) for s in steps])  # noqa: E731
    return np.array(steps), mean(true), mean(proxy)


def proxy_figure(
    tasks: dict[str, dict[str, list[RunResult]]],
) -> tuple[bytes, list[tuple[str, list[str]]], dict[tuple[str, str], Overoptimisation]] | None:
    """The figure, its panels and the over-optimisation found per ``(task, method)``;
    None where no run logged a proxy return.

    Example:
        >>> from rewarddesign.contract.runspec import EvalPoint, RunResult, RunSpec
        >>> curve = [EvalPoint(s, v, [v]) for s, v in [(1, 0.0), (2, 5.0), (3, 1.0)]]
        >>> r = RunResult(RunSpec("t", "blend", "sac"), curve, 1.0,
        ...               series={"proxy_return": [(1, 0.0), (2, 1.0), (3, 3.0)]})
        >>> image, panels, found = proxy_figure({"t": {"blend": [r]}})
        >>> panels, found[("t", "blend")].peak_step
        ([('t: blend', ['blend'])], 2)
    """
    cells = [
        (task, method, runs)
        for task, by_method in tasks.items()
        for method, runs in by_method.items()
        if all(r.series.get(SERIES) for r in runs)
    ]
    if not cells:
        return None
    fig, axes = plt.subplots(1, len(cells), figsize=(5.4 * len(cells), 3.4), squeeze=False)
    panels, found = [], {}
    for ax, (task, method, runs) in zip(axes[0], cells, strict=True):
        steps, true, proxy = mean_curves(runs)
        seeds = f"mean of {len(runs)} seed{'s' if len(runs) > 1 else ''}"
        ax.plot(steps, true, color="tab:blue", marker=".", label=f"true return ({seeds})")
        ax.set(xlabel="env steps", title=f"{task}: {method}")
        ax.set_ylabel("true return", color="tab:blue", fontsize=8)
        ax.title.set_fontsize(9)
        twin = ax.twinx()
        twin.plot(steps, proxy, color="tab:orange", marker=".", label="proxy return (trained on)")
        twin.set_ylabel("proxy return", color="tab:orange", fontsize=8)
        hit = find_overoptimisation(steps, true, proxy)
        if hit is not None:
            found[(task, method)] = hit
            ax.axvline(hit.peak_step, color="tab:red", linestyle="--", linewidth=1)
            ax.annotate(
                "true peaks,\nproxy rises", (hit.peak_step, hit.peak_true), fontsize=7,
                color="tab:red", xytext=(4, -24), textcoords="offset points",
            )  # fmt: skip
        lines = ax.get_lines()[:1] + twin.get_lines()
        ax.legend(lines, [line.get_label() for line in lines], fontsize=7, loc="lower right")
        panels.append((f"{task}: {method}", [method]))
    fig.tight_layout()
    return png(fig), panels, found


def add_proxy_figure(report: Any, tasks: dict[str, dict[str, list[RunResult]]]) -> None:
    """Add ``overoptimisation.png`` and a note per over-optimisation found to a report
    (its ``figures``, ``panels`` and ``notes``), where any run logged a proxy return."""
    drawn = proxy_figure(tasks)
    if drawn is None:
        return
    name = "overoptimisation.png"
    report.figures[name], report.panels[name], found = drawn
    report.notes += [f"over-optimisation, {m} on {t}: {o.text()}." for (t, m), o in found.items()]
