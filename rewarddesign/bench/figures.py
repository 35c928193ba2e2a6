"""The figures of benchmark reports, as PNG bytes: learning curves, interval estimates and
performance profiles (a method's own figures come from its hook,
:meth:`rewarddesign.methods.base.Method.report_figures`)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np

from rewarddesign.bench import groups, stats
from rewarddesign.contract.figures import png


def curve_figure(tasks: groups.Grouped, reps: int, seed: int) -> bytes:
    """Per task: each label's IQM true return over training, with 95% stratified-bootstrap
    CIs, on the steps every seed evaluated at.

    Example:
        >>> from rewarddesign.contract.runspec import EvalPoint, RunResult, RunSpec
        >>> def run(seed):
        ...     curve = [EvalPoint(10, seed, [seed]), EvalPoint(20, 1.0, [1.0])]
        ...     return RunResult(RunSpec("t", "true", "sac", seed=seed), curve, 1.0)
        >>> runs = [run(0), run(1)]
        >>> curve_figure({"t": {"true": runs}}, reps=10, seed=0)[:4]
        b'\\x89PNG'
    """
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.6), squeeze=False)
    for ax, (task, by_method) in zip(axes[0], tasks.items(), strict=True):
        for m, rs in by_method.items():
            length = min(len(r.curve) for r in rs)
            steps = np.array([p.step for p in rs[0].curve[:length]])
            curves = np.array([[[p.mean_return for p in r.curve[:length]]] for r in rs])
            points, cis = stats.interval_estimates({m: curves}, stats.iqm_per_step, reps, seed)
            (line,) = ax.plot(steps, points[m], label=m)
            ax.fill_between(steps, cis[m][0], cis[m][1], alpha=0.2, color=line.get_color())
        ax.set(title=task, xlabel="env steps", ylabel="true return (IQM, 95% CI)")
        ax.legend(fontsize=8)
    return png(fig)


def interval_figure(
    cells: Sequence[groups.Cell], aggregate: dict[str, dict[str, tuple[float, float, float]]]
) -> bytes:
    """Per task: each cell's IQM with its CI; and, if any, the aggregate IQM per method.

    Example:
        >>> cell = groups.Cell("t", "m", 2, 1.0, (0.5, 1.5), 1.0, (0.5, 1.5), 1.0, None, None, 3.0)
        >>> interval_figure([cell], {"m": {"IQM": (0.5, 0.4, 0.6)}})[:4]
        b'\\x89PNG'
    """
    task_names = list(dict.fromkeys(c.task for c in cells))
    panels = len(task_names) + bool(aggregate)
    methods = max(sum(c.task == t for c in cells) for t in task_names)
    fig, axes = plt.subplots(
        1, panels, figsize=(5.5 * panels, 1.2 + 0.45 * methods), squeeze=False, layout="constrained"
    )
    for ax, task in zip(axes[0], task_names, strict=False):
        row = [c for c in cells if c.task == task]
        y = np.arange(len(row))
        low = [c.iqm - c.iqm_ci[0] for c in row]
        high = [c.iqm_ci[1] - c.iqm for c in row]
        ax.errorbar([c.iqm for c in row], y, xerr=[low, high], fmt="o")
        ax.set(
            yticks=y,
            yticklabels=[c.method for c in row],
            title=task,
            xlabel="IQM final true return",
        )
    if aggregate:
        ax = axes[0][-1]
        names = list(aggregate)
        vals = [aggregate[m]["IQM"] for m in names]
        y = np.arange(len(names))
        ax.errorbar(
            [v[0] for v in vals],
            y,
            fmt="o",
            xerr=[[v[0] - v[1] for v in vals], [v[2] - v[0] for v in vals]],
        )
        ax.set(yticks=y, yticklabels=names, title="all tasks", xlabel="IQM normalised score")
    for ax in axes[0]:
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
        ax.margins(y=0.3)
    return png(fig)


def profile_figure(
    taus: np.ndarray, profiles: dict[str, np.ndarray], cis: dict[str, np.ndarray]
) -> bytes:
    """Performance profiles (fraction of runs above each tau) with their CIs.

    Example:
        >>> taus = np.linspace(0, 1, 5)
        >>> profile_figure(taus, {"m": 1 - taus}, {"m": np.stack([0.9 - taus, 1.1 - taus])})[:4]
        b'\\x89PNG'
    """
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for m, prof in profiles.items():
        (line,) = ax.plot(taus, prof, label=m)
        ax.fill_between(taus, cis[m][0], cis[m][1], alpha=0.2, color=line.get_color())
    ax.set(
        xlabel="normalised score tau",
        ylabel="fraction of runs with score > tau",
        title="performance profiles",
    )
    ax.legend(fontsize=8)
    return png(fig)
