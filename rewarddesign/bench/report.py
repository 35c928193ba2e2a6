"""Benchmark reports: per-task and aggregate statistics, plots, markdown, CSV and one
self-contained HTML file (images embedded).

Per task: mean and IQM of the final true return over seeds with 95% stratified-bootstrap
CIs, the success rate with its CI where the task defines success, and what the task's
true reward is (the env's own, or the primary its spec declares: a sparse MountainCar's
``true`` is not Pendulum's). Aggregates compare methods, so they are computed per group
of tasks that ran the same methods, where two or more did, over the tasks that declare
reference scores: IQM and optimality gap of normalised scores
``(return - random) / (expert - random)``, and their performance profiles. Probability of
improvement between method pairs is computed on final returns on the tasks both ran and
averaged over tasks (scale-free). An interval from fewer than
:data:`~rewarddesign.bench.groups.ROUGH_BELOW` seeds is marked rough wherever it is
shown.

The figures are :mod:`rewarddesign.bench.figures`', captioned with the methods of each
panel, plus those each method present adds for its own runs
(:meth:`~rewarddesign.methods.base.Method.report_figures`, e.g. BARFI's learned
weights): the report knows no method's series by name, but the proxy return every run
logs whose agent trains on a reward other than the true one (:mod:`.proxy`: the
over-optimisation figure, and a note wherever the true return peaks while it rises)."""

from __future__ import annotations

import base64
import csv
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rewarddesign import methods as registry
from rewarddesign.bench import figures, groups, proxy, stats
from rewarddesign.common.files import write_atomic
from rewarddesign.contract.runspec import RunResult
from rewarddesign.errors import RewardDesignError, SpecError, UnknownNameError
from rewarddesign.task.registry import task_spec
from rewarddesign.task.spec import TaskSpec


@dataclass(frozen=True)
class AggregateRow:
    """One method's normalised aggregate over a group of tasks that ran the same methods.

    Attributes:
        tasks: The group's tasks.
        method: The method label.
        n: Seeds per task the estimates are from.
        iqm: ``(IQM, CI low, CI high)`` of the normalised final scores.
        gap: ``(optimality gap, CI low, CI high)``.
    """

    tasks: tuple[str, ...]
    method: str
    n: int
    iqm: tuple[float, float, float]
    gap: tuple[float, float, float]


@dataclass(frozen=True)
class Improvement:
    """P(X > Y) of final true returns on the tasks both methods ran, averaged over tasks.

    Attributes:
        x: The first method label.
        y: The second.
        tasks: The tasks both ran.
        n: Seeds per task the estimate is from.
        p: ``(P(X > Y), CI low, CI high)``.
    """

    x: str
    y: str
    tasks: tuple[str, ...]
    n: int
    p: tuple[float, float, float]


@dataclass
class Report:
    """Everything a report shows; :func:`write_report` renders it."""

    cells: list[groups.Cell]  # the cells every table shares
    aggregate: list[AggregateRow] = field(default_factory=list)
    improvement: dict[str, Improvement] = field(default_factory=dict)  # keyed "X vs Y"
    figures: dict[str, bytes] = field(default_factory=dict)
    panels: dict[str, figures.Panels] = field(default_factory=dict)  # what each figure draws
    true_rewards: dict[str, str] = field(default_factory=dict)  # task -> what its returns are
    notes: list[str] = field(default_factory=list)
    results: list[tuple[str, RunResult]] = field(default_factory=list)


def _matrices(tasks, methods, value, notes: list[str], what: str) -> dict[str, np.ndarray]:
    """(runs, tasks) of ``value(result)`` per method (each run on every task given), runs
    truncated to the method's smallest seed count across the tasks; noted in ``notes``."""
    out = {}
    for method in methods:
        counts = [len(m[method]) for m in tasks.values()]
        if len(set(counts)) > 1:
            notes.append(
                f"{what} on {sorted(tasks)}: method {method!r} uses its first {min(counts)} "
                "seeds per task"
            )
        out[method] = np.array(
            [[value(m[method][i]) for m in tasks.values()] for i in range(min(counts))]
        )
    return out


def build_report(
    results: Sequence[tuple[str, RunResult]],
    pairs: Sequence[tuple[str, str]] | None = None,
    reps: int = groups.REPS,
    seed: int = groups.SEED,
) -> Report:
    """Compute the statistics and figures of a set of results.

    Aggregates and performance profiles compare methods, so they are drawn per group of
    tasks that ran the same methods (:func:`~rewarddesign.bench.groups.by_method_set`),
    only where a group has two methods or more.

    Args:
        results: ``(method label, result)`` pairs.
        pairs: ``(X, Y)`` method pairs for P(X > Y); default: in each group of tasks,
            each method against the first one seen.
        reps: Bootstrap replications.
        seed: Seed of every bootstrap.

    Raises:
        SpecError: If there are no results, or a pair names an unknown method.
    """
    if not results:
        raise SpecError("no complete runs to report on; run a grid first (rewarddesign bench).")
    tasks = groups.by_task_and_method(results)
    methods = groups.method_labels(results)
    report = Report(cells=groups.cells(tasks, reps, seed), results=list(results))
    specs = {t: task_spec(t) for t in tasks}
    report.true_rewards = {t: groups.true_reward_text(s) for t, s in specs.items()}
    if any(s.primary is not None for s in specs.values()):
        report.notes.append(
            "true reward: what the returns of a row are measured on (and what method "
            "`true` trains on): the env's own reward, or the primary reward the task "
            "declares, while rd.make's env returns the env's own (the primary is "
            'info["true_reward"]).'
        )
    if any(2 <= c.n < groups.ROUGH_BELOW for c in report.cells):
        report.notes.append(groups.ROUGH_NOTE)
    aggregates = _aggregate(report, tasks, specs, reps, seed)
    _improvement(report, tasks, methods, pairs, reps, seed)

    titles = {t: f"{t}\ntrue reward: {report.true_rewards[t]}" for t in tasks}
    drawn = {
        "learning_curves.png": figures.curve_figure(tasks, reps, seed, titles),
        "interval_estimates.png": figures.interval_figure(report.cells, aggregates),
    }
    if aggregates:
        drawn["performance_profiles.png"] = figures.profile_figure(aggregates, reps, seed)
    for name, (image, panels) in drawn.items():
        report.figures[name], report.panels[name] = image, panels
    proxy.add_proxy_figure(report, tasks)  # runs that trained on another reward
    _add_method_figures(report)
    return report


def _aggregate(
    report: Report, tasks: groups.Grouped, specs: dict[str, TaskSpec], reps: int, seed: int
) -> list[figures.AggregatePanel]:
    """The normalised aggregate rows of each group of scored tasks with two methods or
    more (into ``report``), and their panels for the figures."""
    refs = {t: s.reference for t, s in specs.items()}
    scored = {
        t: m for t, m in tasks.items() if refs[t].random is not None and refs[t].expert is not None
    }
    if len(scored) < len(tasks):
        missing = sorted(set(tasks) - set(scored))
        report.notes.append(
            f"normalised aggregate leaves out tasks without reference scores {missing}"
        )

    def normalised(r: RunResult) -> float:
        ref = refs[r.spec.task]
        return (r.final_return - ref.random) / (ref.expert - ref.random)

    panels, alone = [], []
    for names, labels in groups.by_method_set(scored):
        if len(labels) < 2:
            alone.append(f"{list(names)} ran only {labels[0]!r}")
            continue
        norm = _matrices(
            {t: scored[t] for t in names}, labels, normalised, report.notes, "aggregate"
        )
        points, cis = stats.interval_estimates_each(norm, stats.iqm_and_gap, reps, seed)
        est = {
            m: [(float(points[m][i]), float(cis[m][0, i]), float(cis[m][1, i])) for i in (0, 1)]
            for m in norm
        }
        report.aggregate += [
            AggregateRow(names, m, len(norm[m]), est[m][0], est[m][1]) for m in norm
        ]
        panels.append(figures.AggregatePanel(names, norm, {m: est[m][0] for m in norm}))
    if alone:
        report.notes.append(
            "no aggregate or performance profile where fewer than two methods share the "
            f"tasks (they compare methods): {'; '.join(alone)}."
        )
    return panels


def _improvement(
    report: Report,
    tasks: groups.Grouped,
    methods: list[str],
    pairs: Sequence[tuple[str, str]] | None,
    reps: int,
    seed: int,
) -> None:
    """P(X > Y) of each pair on the tasks both ran, into ``report``."""

    def shared(x: str, y: str) -> groups.Grouped:
        return {t: m for t, m in tasks.items() if x in m and y in m}

    if pairs is None:  # in each group of tasks, each method against the group's first
        pairs = list(
            dict.fromkeys(
                (m, labels[0]) for _, labels in groups.by_method_set(tasks) for m in labels[1:]
            )
        )
    for x, y in pairs:
        common = shared(x, y)
        if not common:
            raise SpecError(
                f"pair {x}:{y} names methods never run on the same task; methods: {methods}."
            )
        raw = _matrices(common, [x, y], lambda r: r.final_return, report.notes, "P(improvement)")
        points, cis = stats.probability_of_improvement([(x, y)], raw, reps, seed)
        key = f"{x} vs {y}"
        report.improvement[key] = Improvement(
            x,
            y,
            tuple(common),
            min(len(raw[x]), len(raw[y])),
            (points[key], float(cis[key][0]), float(cis[key][1])),
        )


def _add_method_figures(report: Report) -> None:
    """The figures each method present adds for its own runs (its ``report_figures``)."""
    by_method: dict[str, list[tuple[str, RunResult]]] = {}
    for label, r in report.results:
        by_method.setdefault(r.spec.method, []).append((label, r))
    for name, runs in by_method.items():
        try:
            method = registry.get(name)
        except UnknownNameError:  # e.g. a store written by a version that had it
            report.notes.append(f"method {name!r} is not registered: no figures of its own")
            continue
        for file, png in method.report_figures(runs).items():
            if file in report.figures:  # a silent overwrite would lose a figure
                raise RewardDesignError(
                    f"method {name!r} adds report figure {file!r}, a name already taken."
                )
            report.figures[file] = png


def to_markdown(report: Report) -> str:
    """The per-task table (and the aggregate and P(improvement), if any) as markdown."""
    ci = groups.ci_text
    lines = [
        "| task | method | seeds | true reward | mean final true return [95% CI] "
        "| IQM [95% CI] | success rate [95% CI] | wall s/run |",
        "|---|---|---:|---|---|---|---:|---:|",
    ]
    for c in report.cells:
        succ = "-" if c.success is None else f"{c.success:.0%} {ci(c.success_ci, c.n, '.0%')}"
        lines.append(
            f"| {c.task} | {c.method} | {c.n} | {report.true_rewards.get(c.task, '-')} "
            f"| {c.mean:.1f} {ci(c.mean_ci, c.n)} | {c.iqm:.1f} {ci(c.iqm_ci, c.n)} "
            f"| {succ} | {c.wall_time:.1f} |"
        )
    if report.aggregate:
        lines += [
            "",
            "| tasks | method | seeds | IQM normalised [95% CI] | optimality gap [95% CI] |",
            "|---|---|---:|---|---|",
        ]
        for a in report.aggregate:
            (i, il, ih), (g, gl, gh) = a.iqm, a.gap
            lines.append(
                f"| {', '.join(a.tasks)} | {a.method} | {a.n} | {i:.3f} {ci((il, ih), a.n, '.3f')} "
                f"| {g:.3f} {ci((gl, gh), a.n, '.3f')} |"
            )
    if report.improvement:
        lines += ["", "| pair | tasks | seeds | P(X > Y) [95% CI] |", "|---|---|---:|---|"]
        for k, imp in report.improvement.items():
            p, lo, hi = imp.p
            lines.append(
                f"| {k} | {', '.join(imp.tasks)} | {imp.n} | {p:.2f} {ci((lo, hi), imp.n, '.2f')} |"
            )
    lines += [f"\n{n}" for n in report.notes]
    return "\n".join(lines) + "\n"


def to_html(report: Report, title: str) -> str:
    """One self-contained HTML page: the tables and every figure embedded as PNG data,
    each captioned with the methods its panels draw (``span.method`` per method)."""
    md_tables = to_markdown(report).split("\n\n")
    body = "".join(_md_table_html(t) for t in md_tables if t.startswith("|"))
    notes = "".join(f"<p>{html.escape(n)}</p>" for n in report.notes)
    images = "".join(
        f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}"><figcaption>{html.escape(name)}'
        f"{_panels_html(report.panels.get(name, []))}</figcaption></figure>"
        for name, png in report.figures.items()
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px}img{max-width:100%}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}{notes}{images}</body></html>\n"
    )


def _panels_html(panels: figures.Panels) -> str:
    if not panels:
        return ""
    items = "".join(
        f"<li>{html.escape(title)}: "
        + ", ".join(f'<span class="method">{html.escape(m)}</span>' for m in names)
        + "</li>"
        for title, names in panels
    )
    return f"<ul>{items}</ul>"


def _md_table_html(table: str) -> str:
    rows = [r.strip().strip("|").split("|") for r in table.strip().splitlines()]
    head, body = rows[0], rows[2:]
    th = "".join(f"<th>{html.escape(c.strip())}</th>" for c in head)
    trs = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c.strip())}</td>" for c in r) + "</tr>" for r in body
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def write_report(
    report: Report, out_dir: str | Path, title: str = "rewarddesign report"
) -> dict[str, Path]:
    """Write ``report.md``, ``scores.csv``, ``report.html`` and the PNG figures.

    Returns:
        Name -> path of every file written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, png in report.figures.items():
        paths[name] = out / name
        write_atomic(paths[name], png)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(
        [
            "task",
            "method",
            "agent",
            "seed",
            "budget",
            "final_return",
            "final_success",
            "env_steps",
            "labels_used",
            "wall_time",
            "device",
        ]
    )
    for label, r in report.results:
        success = "" if r.final_success is None else r.final_success
        writer.writerow(
            [
                r.spec.task,
                label,
                r.spec.agent,
                r.spec.seed,
                r.spec.budget,
                f"{r.final_return:.4f}",
                success,
                r.env_steps,
                r.labels_used,
                f"{r.wall_time:.2f}",
                r.device,
            ]
        )
    for name, text in (
        ("report.md", to_markdown(report)),
        ("scores.csv", buf.getvalue()),
        ("report.html", to_html(report, title)),
    ):
        paths[name] = out / name
        write_atomic(paths[name], text)
    return paths
