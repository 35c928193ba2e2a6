"""One grouping of benchmark results by (task, method label), and the statistics of each
group that every table prints: ``bench``'s table, the report and ``benchmarks/barfi.py``.

A cell is one task x method label: its runs, sorted by seed. Its intervals are 95%
stratified-bootstrap CIs (rliable) over seeds, and each cell is bootstrapped on its own
with the same fixed seed (:func:`~rewarddesign.bench.stats.interval_estimates_each`): a
cell's interval then depends on its runs alone, not on the other cells of the table or
on the order the results came in, so ``bench`` and ``report`` print the same interval
for the same runs, run after run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rewarddesign.bench import stats
from rewarddesign.contract.runspec import RunResult
from rewarddesign.task.spec import WEIGHTED_SUM, RewardSpec, TaskSpec

REPS = 2000
"""Bootstrap replications of a table's intervals (the report's ``--reps`` default)."""

SEED = 0
"""Seed of a table's bootstraps (the report's ``--seed`` default)."""

INTERVAL = "95% stratified bootstrap CI"
"""What a table's intervals are, for its headers."""

ROUGH_BELOW = 5
"""Seeds below which an interval is marked rough: the percentile bootstrap never leaves
the observed values, so the 95% CI of 2-3 seeds is exactly their min-max (and of 4 seeds
close to it), whatever the spread of the method."""

ROUGH_NOTE = (
    f"rough: an interval from fewer than {ROUGH_BELOW} seeds; the bootstrap CI of 2-3 seeds "
    "is their min-max, not a measure of the method's spread."
)
"""The sentence beside a table whose intervals are marked rough."""

Grouped = dict[str, dict[str, list[RunResult]]]
"""task -> method label -> runs sorted by seed; tasks and labels in first-seen order."""


def by_task_and_method(results: Sequence[tuple[str, RunResult]]) -> Grouped:
    """Group ``(method label, result)`` pairs by task, then by label.

    Tasks and labels keep the order they are first seen in; each cell's runs are sorted
    by seed, so a cell's statistics do not depend on the order results come in.

    Example:
        >>> from rewarddesign.contract.runspec import RunResult, RunSpec
        >>> def run(task, seed):
        ...     spec = RunSpec(task=task, method="true", agent="sac", seed=seed)
        ...     return RunResult(spec=spec, curve=[], final_return=float(seed))
        >>> grouped = by_task_and_method(
        ...     [("a", run("t1", 1)), ("b", run("t1", 0)), ("a", run("t1", 0)), ("a", run("t2", 0))]
        ... )
        >>> {t: {m: [r.spec.seed for r in rs] for m, rs in ms.items()} for t, ms in grouped.items()}
        {'t1': {'a': [0, 1], 'b': [0]}, 't2': {'a': [0]}}
    """
    tasks: Grouped = {}
    for label, result in results:
        tasks.setdefault(result.spec.task, {}).setdefault(label, []).append(result)
    for methods in tasks.values():
        for runs in methods.values():
            runs.sort(key=lambda r: r.spec.seed)
    return tasks


def by_method_set(tasks: Grouped) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Tasks grouped by the set of method labels run on them: ``(tasks, labels)`` pairs.

    Methods compare across the tasks of one group only (an aggregate over tasks where a
    method did not run would leave it out or mix it with others); groups, their tasks
    and labels keep first-seen order.

    Example:
        >>> runs = {"t1": {"a": [], "b": []}, "t2": {"a": []}, "t3": {"b": [], "a": []}}
        >>> by_method_set(runs)
        [(('t1', 't3'), ('a', 'b')), (('t2',), ('a',))]
    """
    out: dict[frozenset[str], tuple[list[str], tuple[str, ...]]] = {}
    for task, by_method in tasks.items():
        out.setdefault(frozenset(by_method), ([], tuple(by_method)))[0].append(task)
    return [(tuple(names), labels) for names, labels in out.values()]


def method_labels(results: Sequence[tuple[str, RunResult]]) -> list[str]:
    """The method labels of ``(method label, result)`` pairs, in first-seen order.

    Example:
        >>> method_labels([("b", None), ("a", None), ("b", None)])
        ['b', 'a']
    """
    return list(dict.fromkeys(label for label, _ in results))


@dataclass(frozen=True)
class Cell:
    """The statistics of one task x method label over its seeds.

    Attributes:
        task: The task id.
        method: The method label.
        n: Seeds (runs).
        mean: Mean final true return.
        mean_ci: 95% stratified-bootstrap CI of the mean.
        iqm: Interquartile mean of the final true return.
        iqm_ci: 95% stratified-bootstrap CI of the IQM.
        median: Median final true return.
        success: Mean final success rate, where every run has one (else None).
        success_ci: Its 95% stratified-bootstrap CI (else None).
        wall_time: Mean wall time per run, in seconds.

    Example:
        >>> cell = Cell("t", "m", 2, 1.0, (0.5, 1.5), 1.0, (0.5, 1.5), 1.0, None, None, 3.0)
        >>> f"{cell.iqm:.1f} {ci_text(cell.iqm_ci, cell.n)}"
        '1.0 [0.5, 1.5] rough'
    """

    task: str
    method: str
    n: int
    mean: float
    mean_ci: tuple[float, float]
    iqm: float
    iqm_ci: tuple[float, float]
    median: float
    success: float | None
    success_ci: tuple[float, float] | None
    wall_time: float


def cells(
    results: Sequence[tuple[str, RunResult]] | Grouped, reps: int = REPS, seed: int = SEED
) -> list[Cell]:
    """The statistics of every task x method label, tasks and labels in first-seen order.

    Args:
        results: ``(method label, result)`` pairs, or them grouped already
            (:func:`by_task_and_method`).
        reps: Bootstrap replications.
        seed: Seed of every cell's bootstrap.

    Example:
        >>> from rewarddesign.contract.runspec import RunResult, RunSpec
        >>> runs = [
        ...     ("true", RunResult(RunSpec("classic/Pendulum-v1", "true", "sac", seed=s), [], x))
        ...     for s, x in enumerate([100.0, 110.0, 120.0, 130.0])
        ... ]
        >>> (cell,) = cells(runs, reps=200)
        >>> cell.n, cell.mean, cell.iqm, cell.median  # IQM: the mean of 110 and 120
        (4, 115.0, 115.0, 115.0)
        >>> cell.mean_ci[0] <= 115.0 <= cell.mean_ci[1]
        True
    """
    tasks = results if isinstance(results, dict) else by_task_and_method(results)
    out = []
    for task, by_method in tasks.items():
        scores = {m: np.array([[r.final_return] for r in rs]) for m, rs in by_method.items()}
        points, cis = stats.interval_estimates_each(scores, stats.mean_and_iqm, reps, seed)
        successes = {
            m: np.array([[r.final_success] for r in rs], dtype=np.float64)
            for m, rs in by_method.items()
            if all(r.final_success is not None for r in rs)
        }
        s_points, s_cis = stats.interval_estimates_each(successes, stats.mean_and_iqm, reps, seed)
        for m, rs in by_method.items():
            out.append(
                Cell(
                    task=task,
                    method=m,
                    n=len(rs),
                    mean=float(points[m][0]),
                    mean_ci=(float(cis[m][0, 0]), float(cis[m][1, 0])),
                    iqm=float(points[m][1]),
                    iqm_ci=(float(cis[m][0, 1]), float(cis[m][1, 1])),
                    median=float(np.median([r.final_return for r in rs])),
                    success=float(s_points[m][0]) if m in s_points else None,
                    success_ci=(float(s_cis[m][0, 0]), float(s_cis[m][1, 0]))
                    if m in s_cis
                    else None,
                    wall_time=float(np.mean([r.wall_time for r in rs])),
                )
            )
    return out


def ci_text(ci: tuple[float, float], n: int, fmt: str = ".1f") -> str:
    """``[low, high]`` of an interval from ``n`` seeds, marked ``rough`` below
    :data:`ROUGH_BELOW` seeds, or ``n/a`` where one seed gives no spread to bootstrap.

    Example:
        >>> ci_text((1.0, 2.5), 3), ci_text((1.0, 1.0), 1), ci_text((0.5, 1.0), 5, ".0%")
        ('[1.0, 2.5] rough', 'n/a', '[50%, 100%]')
    """
    if n < 2:
        return "n/a"
    return f"[{ci[0]:{fmt}}, {ci[1]:{fmt}}]" + (" rough" if n < ROUGH_BELOW else "")


def seeds_text(n: int) -> str:
    """How many seeds an estimate is from, with ``rough CI`` below :data:`ROUGH_BELOW`
    (for figure legends and labels, beside the interval they draw).

    Example:
        >>> seeds_text(1), seeds_text(3), seeds_text(10)
        ('1 seed', '3 seeds, rough CI', '10 seeds')
    """
    text = f"{n} seed" + ("s" if n != 1 else "")
    return text + (", rough CI" if 2 <= n < ROUGH_BELOW else "")


def _terms(weights: dict[str, float]) -> str:
    """``100*reached_goal - 0.1*a_sq`` from factor weights."""
    parts = []
    for i, (name, w) in enumerate(weights.items()):
        sign = ("- " if w < 0 else "+ ") if i else ("-" if w < 0 else "")
        parts.append(sign + ("" if abs(w) == 1 else f"{abs(w):g}*") + name)
    return " ".join(parts)


def true_reward_text(task: TaskSpec) -> str:
    """What a task's returns are measured on: the env's own reward, or the primary the
    spec declares (``rd.make`` still returns the env's own; the primary is
    ``info["true_reward"]``).

    Example:
        >>> from rewarddesign.task.registry import task_spec
        >>> true_reward_text(task_spec("classic/Pendulum-v1"))
        "env's own reward"
        >>> true_reward_text(task_spec("classic/MountainCarContinuous-sparse-v0"))
        'primary 100*reached_goal (env: 100*reached_goal - 0.1*a_sq)'
    """
    if task.primary is None:
        return "env's own reward"
    return f"primary {_reward_text(task.primary)} (env: {_reward_text(task.reward)})"


def _reward_text(reward: RewardSpec) -> str:
    if reward.formula == WEIGHTED_SUM:
        return _terms(dict(reward.weights))
    return f"{reward.formula} formula"
