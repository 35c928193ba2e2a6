"""``rewarddesign tasks``: the registered tasks and their reward factors."""

from __future__ import annotations

import argparse

from rich.table import Table

from rewarddesign.cli.common import console


def cmd_tasks(args: argparse.Namespace) -> int:
    from rewarddesign.task.registry import task_spec, tasks

    table = Table(title="rewarddesign tasks")
    table.add_column("task", no_wrap=True)
    for col in ("horizon", "factors (sign)", "reward", "success"):
        table.add_column(col)
    for tid in tasks():
        s = task_spec(tid)
        factors = ", ".join(f"{f.name}({'+' if f.sign > 0 else '-'})" for f in s.factors)
        if s.default_weights:
            reward = " ".join(f"{w:+g}*{n}" for n, w in s.reward.weights.items())
        else:
            reward = s.reward.args.get("text", s.reward.formula)  # an expression's text
        table.add_row(tid, str(s.horizon or "-"), factors, reward, "yes" if s.success else "-")
    console.print(table)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``tasks`` command to the sub-parsers ``sub``."""
    t = sub.add_parser("tasks", help="list the registered tasks and their reward factors")
    t.set_defaults(func=cmd_tasks)
