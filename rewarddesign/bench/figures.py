"""The figures of benchmark reports, as PNG bytes: learning curves, interval estimates and
performance profiles (a method's own figures come from its hook,
:meth:`rewarddesign.methods.base.Method.report_figures`).

Each returns the PNG and its :data:`Panels`, the methods each panel draws, for the
report's caption: what the caption says is what was drawn. Every legend and label says
how many seeds a band or bar is from, and that it is rough below
:data:`~rewarddesign.bench.groups.ROUGH_BELOW` seeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np

from rewarddesign.bench import groups, stats
from rewarddesign.contract.figures import png

Panels = list[tuple[str, list[str]]]
"""A figure's panels: ``(title, method labels drawn)``, in drawing order."""


@dataclass(frozen=True)
class AggregatePanel:
    """One group of tasks that ran the same methods: each method's normalised scores.

    Attributes:
        tasks: The group's tasks.
        scores: Method label -> normalised final scores, ``(runs, tasks)``.
        iqm: Method label -> ``(IQM, CI low, CI high)`` of the scores.
    """

    tasks: tuple[str, ...]
    scores: dict[str, np.ndarray]
    iqm: dict[str, tuple[float, float, float]]

    @property
    def title(self) -> str:
        """The task, or how many tasks the group has."""
        return self.tasks[0] if len(self.tasks) == 1 else f"{len(self.tasks)} tasks"


def curve_figure(
    tasks: groups.Grouped, reps: int, seed: int, titles: dict[str, str] | None = None
) -> tuple[bytes, Panels]:
    """Per task: each label's IQM true return over training, with 95% stratified-bootstrap
    CIs, on the steps every seed evaluated at.

    Args:
        tasks: The runs, grouped.
        reps: Bootstrap replications.
        seed: Seed of every bootstrap.
        titles: Task -> panel title (default: the task id).

    Example:
        >>> from rewarddesign.contract.runspec import EvalPoint, RunResult, RunSpec
        >>> def run(seed):
        ...     curve = [EvalPoint(10, seed, [seed]), EvalPoint(20, 1.0, [1.0])]
        ...     return RunResult(RunSpec("t", "true", "sac", seed=seed), curve, 1.0)
        >>> runs = [run(0), run(1)]
        >>> image, panels = curve_figure({"t": {"true": runs}}, reps=10, seed=0)
        >>> image[:4], panels
        (b'\\x89PNG', [('t', ['true'])])
    """
    titles = titles or {}
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.6), squeeze=False)
    panels: Panels = []
    for ax, (task, by_method) in zip(axes[0], tasks.items(), strict=True):
        for m, rs in by_method.items():
            length = min(len(r.curve) for r in rs)
            steps = np.array([p.step for p in rs[0].curve[:length]])
            curves = np.array([[[p.mean_return for p in r.curve[:length]]] for r in rs])
            points, cis = stats.interval_estimates({m: curves}, stats.iqm_per_step, reps, seed)
            (line,) = ax.plot(steps, points[m], label=f"{m} ({groups.seeds_text(len(rs))})")
            ax.fill_between(steps, cis[m][0], cis[m][1], alpha=0.2, color=line.get_color())
        title = titles.get(task, task)
        ax.set(title=title, xlabel="env steps", ylabel="true return (IQM, 95% CI)")
        ax.title.set_fontsize(9)
        ax.legend(fontsize=8)
        panels.append((task, list(by_method)))
    return png(fig), panels


def interval_figure(
    cells: Sequence[groups.Cell], aggregates: Sequence[AggregatePanel]
) -> tuple[bytes, Panels]:
    """Per task: each cell's IQM with its CI; and per aggregate over two tasks or more
    (one over one task repeats that task's panel), each method's IQM normalised score.

    Example:
        >>> cell = groups.Cell("t", "m", 2, 1.0, (0.5, 1.5), 1.0, (0.5, 1.5), 1.0, None, None, 3.0)
        >>> scores = {"m": np.ones((2, 2)), "n": np.zeros((2, 2))}
        >>> agg = AggregatePanel(("t", "u"), scores, {"m": (1.0, 1.0, 1.0), "n": (0.0, 0.0, 0.0)})
        >>> image, panels = interval_figure([cell], [agg])
        >>> image[:4], panels
        (b'\\x89PNG', [('t', ['m']), ('normalised: 2 tasks', ['m', 'n'])])
    """
    task_names = list(dict.fromkeys(c.task for c in cells))
    rows: list[tuple[str, list[str], list[tuple[float, float, float]], list[int], str]] = []
    for task in task_names:
        row = [c for c in cells if c.task == task]
        points = [(c.iqm, *c.iqm_ci) for c in row]
        rows.append(
            (task, [c.method for c in row], points, [c.n for c in row], "final true return")
        )
    for agg in (a for a in aggregates if len(a.tasks) > 1):
        names = list(agg.iqm)
        seeds = [len(agg.scores[m]) for m in names]
        points = [agg.iqm[m] for m in names]
        rows.append((f"normalised: {agg.title}", names, points, seeds, "normalised score"))
    height = 1.2 + 0.45 * max(len(r[1]) for r in rows)
    fig, axes = plt.subplots(
        1, len(rows), figsize=(5.5 * len(rows), height), squeeze=False, layout="constrained"
    )
    for ax, (title, names, points, seeds, what) in zip(axes[0], rows, strict=True):
        y = np.arange(len(names))
        low = [p[0] - p[1] for p in points]
        high = [p[2] - p[0] for p in points]
        ax.errorbar([p[0] for p in points], y, xerr=[low, high], fmt="o")
        labels = [f"{m}\n({groups.seeds_text(n)})" for m, n in zip(names, seeds, strict=True)]
        ax.set(yticks=y, yticklabels=labels, title=title, xlabel=f"IQM {what}")
        ax.title.set_fontsize(9)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
        ax.margins(y=0.3)
    return png(fig), [(title, names) for title, names, *_ in rows]


def profile_figure(
    aggregates: Sequence[AggregatePanel], reps: int, seed: int
) -> tuple[bytes, Panels]:
    """Per aggregate: performance profiles (fraction of runs whose normalised score is
    above tau) with their 95% CIs.

    Example:
        >>> scores = {"m": np.array([[0.2], [0.8]]), "n": np.array([[0.1], [0.3]])}
        >>> agg = AggregatePanel(("t",), scores, {})
        >>> image, panels = profile_figure([agg], reps=10, seed=0)
        >>> image[:4], panels
        (b'\\x89PNG', [('t', ['m', 'n'])])
    """
    fig, axes = plt.subplots(1, len(aggregates), figsize=(5 * len(aggregates), 3.6), squeeze=False)
    for ax, agg in zip(axes[0], aggregates, strict=True):
        low = min(x.min() for x in agg.scores.values())
        high = max(x.max() for x in agg.scores.values())
        taus = np.linspace(low - 0.05, high + 0.05, 41)
        profiles, cis = stats.performance_profiles(agg.scores, taus, reps, seed)
        for m, prof in profiles.items():
            label = f"{m} ({groups.seeds_text(len(agg.scores[m]))})"
            (line,) = ax.plot(taus, prof, label=label)
            ax.fill_between(taus, cis[m][0], cis[m][1], alpha=0.2, color=line.get_color())
        ax.set(
            xlabel="normalised score tau",
            ylabel="fraction of runs with score > tau",
            title=f"performance profiles: {agg.title}",
        )
        ax.title.set_fontsize(9)
        ax.legend(fontsize=8)
    return png(fig), [(agg.title, list(agg.scores)) for agg in aggregates]
