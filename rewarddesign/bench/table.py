"""``bench``'s summary table: task x method label, the final true return over seeds with
the report's intervals (95% stratified-bootstrap CIs, :mod:`rewarddesign.bench.groups`)."""

from __future__ import annotations

from collections.abc import Sequence

from rewarddesign.bench.groups import INTERVAL, REPS, SEED, Cell, cells, ci_text
from rewarddesign.contract.runspec import RunResult

Row = Cell
"""One task x method label of the table (the cell every table shares, under its old name)."""

COLUMNS = (
    "task",
    "method",
    "seeds",
    f"mean [{INTERVAL}]",
    f"IQM [{INTERVAL}]",
    "median",
    "wall s/run",
)
"""The table's header; :func:`row_text` gives a row's cells in this order."""


def summarize(
    results: Sequence[tuple[str, RunResult]], reps: int = REPS, seed: int = SEED
) -> list[Row]:
    """Group ``(method label, result)`` pairs by task and method, in first-seen order.

    The intervals are the report's: with the same ``reps`` and ``seed`` (the defaults of
    both), ``bench`` and ``report`` print the same numbers.

    Example:
        >>> from rewarddesign.contract.runspec import RunResult, RunSpec
        >>> runs = [
        ...     ("true", RunResult(RunSpec("classic/Pendulum-v1", "true", "sac", seed=s), [], x))
        ...     for s, x in enumerate([100.0, 110.0, 120.0, 130.0])
        ... ]
        >>> (row,) = summarize(runs, reps=200)
        >>> row.n, row.iqm, COLUMNS[4]
        (4, 115.0, 'IQM [95% stratified bootstrap CI]')
    """
    return cells(results, reps, seed)


def row_text(row: Row) -> tuple[str, ...]:
    """A row's cells as text, in :data:`COLUMNS` order (``n/a`` intervals for one seed).

    Example:
        >>> row = Row("t", "m", 1, 2.0, (2.0, 2.0), 2.0, (2.0, 2.0), 2.0, None, None, 1.5)
        >>> row_text(row)
        ('t', 'm', '1', '2.0 n/a', '2.0 n/a', '2.0', '1.5')
    """
    return (
        row.task,
        row.method,
        str(row.n),
        f"{row.mean:.1f} {ci_text(row.mean_ci, row.n)}",
        f"{row.iqm:.1f} {ci_text(row.iqm_ci, row.n)}",
        f"{row.median:.1f}",
        f"{row.wall_time:.1f}",
    )
