"""Benchmark reports: per-task and aggregate statistics, plots, markdown, CSV and one
self-contained HTML file (images embedded).

Per task: mean and IQM of the final true return over seeds with 95% stratified-bootstrap
CIs, and the success rate with its CI where the task defines success. Across the tasks
that declare reference scores: IQM and optimality gap of normalised scores
``(return - random) / (expert - random)``. Probability of improvement between method
pairs is computed on final returns per task and averaged over tasks (scale-free).

The figures are :mod:`rewarddesign.bench.figures`', plus those each method present adds
for its own runs (:meth:`~rewarddesign.methods.base.Method.report_figures`, e.g. BARFI's
learned weights): the report knows no method's series by name.
"""

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
from rewarddesign.bench import figures, groups, stats
from rewarddesign.common.files import write_atomic
from rewarddesign.contract.runspec import RunResult
from rewarddesign.errors import RewardDesignError, SpecError, UnknownNameError
from rewarddesign.task.registry import task_spec


@dataclass
class Report:
    """Everything a report shows; :func:`write_report` renders it."""

    cells: list[groups.Cell]  # the cells every table shares
    aggregate: dict[str, dict[str, tuple[float, float, float]]] = field(default_factory=dict)
    improvement: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    figures: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    results: list[tuple[str, RunResult]] = field(default_factory=list)


def _matrices(tasks, methods, value, notes: list[str], what: str) -> dict[str, np.ndarray]:
    """(runs, tasks) of ``value(result)`` per method present on every task, runs truncated
    to the method's smallest seed count across tasks; what is left out goes to ``notes``."""
    out = {}
    for method in methods:
        if not all(method in m for m in tasks.values()):
            notes.append(f"{what}: method {method!r} left out (not run on every task)")
            continue
        counts = [len(m[method]) for m in tasks.values()]
        if len(set(counts)) > 1:
            notes.append(f"{what}: method {method!r} uses its first {min(counts)} seeds per task")
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

    Args:
        results: ``(method label, result)`` pairs.
        pairs: ``(X, Y)`` method pairs for P(X > Y); default: each method against the
            first one seen.
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

    refs = {t: task_spec(t).reference for t in tasks}
    scored = {
        t: m for t, m in tasks.items() if refs[t].random is not None and refs[t].expert is not None
    }
    if len(scored) < len(tasks):
        missing = sorted(set(tasks) - set(scored))
        report.notes.append(
            f"normalised aggregate leaves out tasks without reference scores {missing}"
        )
    if scored:

        def normalised(r: RunResult) -> float:
            ref = refs[r.spec.task]
            return (r.final_return - ref.random) / (ref.expert - ref.random)

        norm = _matrices(scored, methods, normalised, report.notes, "aggregate")
        if norm:
            points, cis = stats.interval_estimates_each(norm, stats.iqm_and_gap, reps, seed)
            report.aggregate = {
                m: {
                    name: (float(points[m][i]), float(cis[m][0, i]), float(cis[m][1, i]))
                    for i, name in enumerate(("IQM", "optimality gap"))
                }
                for m in norm
            }
            taus = np.linspace(
                min(x.min() for x in norm.values()) - 0.05,
                max(x.max() for x in norm.values()) + 0.05,
                41,
            )
            profiles, profile_cis = stats.performance_profiles(norm, taus, reps, seed)
            report.figures["performance_profiles.png"] = figures.profile_figure(
                taus, profiles, profile_cis
            )

    def shared(x: str, y: str) -> dict[str, dict[str, list[RunResult]]]:
        return {t: m for t, m in tasks.items() if x in m and y in m}

    if pairs is None:  # each method against the first, on the tasks both were run on
        pairs = [(m, methods[0]) for m in methods[1:] if shared(m, methods[0])]
    for x, y in pairs:
        common = shared(x, y)
        if not common:
            raise SpecError(
                f"pair {x}:{y} names methods never run on the same task; methods: {methods}."
            )
        if len(common) < len(tasks):
            report.notes.append(f"P(improvement) of {x} over {y}: on tasks {sorted(common)}")
        raw = _matrices(common, [x, y], lambda r: r.final_return, report.notes, "P(improvement)")
        points, cis = stats.probability_of_improvement([(x, y)], raw, reps, seed)
        report.improvement |= {k: (points[k], float(cis[k][0]), float(cis[k][1])) for k in points}

    report.figures["learning_curves.png"] = figures.curve_figure(tasks, reps, seed)
    report.figures["interval_estimates.png"] = figures.interval_figure(
        report.cells, report.aggregate
    )
    _add_method_figures(report)
    return report


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
    lines = [
        "| task | method | seeds | mean final true return [95% CI] | IQM [95% CI] "
        "| success rate [95% CI] "
        "| wall s/run |",
        "|---|---|---:|---|---|---:|---:|",
    ]
    ci = groups.ci_text
    for c in report.cells:
        succ = "-" if c.success is None else f"{c.success:.0%} {ci(c.success_ci, c.n, '.0%')}"
        lines.append(
            f"| {c.task} | {c.method} | {c.n} "
            f"| {c.mean:.1f} {ci(c.mean_ci, c.n)} | {c.iqm:.1f} {ci(c.iqm_ci, c.n)} "
            f"| {succ} | {c.wall_time:.1f} |"
        )
    if report.aggregate:
        lines += [
            "",
            "| method | IQM normalised [95% CI] | optimality gap [95% CI] |",
            "|---|---|---|",
        ]
        for m, a in report.aggregate.items():
            (i, il, ih), (g, gl, gh) = a["IQM"], a["optimality gap"]
            lines.append(f"| {m} | {i:.3f} [{il:.3f}, {ih:.3f}] | {g:.3f} [{gl:.3f}, {gh:.3f}] |")
    if report.improvement:
        lines += ["", "| pair | P(X > Y) [95% CI] |", "|---|---|"]
        lines += [
            f"| {k} | {p:.2f} [{lo:.2f}, {hi:.2f}] |"
            for k, (p, lo, hi) in report.improvement.items()
        ]
    lines += [f"\n{n}" for n in report.notes]
    return "\n".join(lines) + "\n"


def to_html(report: Report, title: str) -> str:
    """One self-contained HTML page: the tables and every figure embedded as PNG data."""
    md_tables = to_markdown(report).split("\n\n")
    body = "".join(_md_table_html(t) for t in md_tables if t.startswith("|"))
    notes = "".join(f"<p>{html.escape(n)}</p>" for n in report.notes)
    images = "".join(
        f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}"><figcaption>{html.escape(name)}</figcaption></figure>'
        for name, png in report.figures.items()
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px}img{max-width:100%}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}{notes}{images}</body></html>\n"
    )


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
