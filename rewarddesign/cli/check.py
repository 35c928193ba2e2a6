"""``rewarddesign check TASK``: the suite-wide invariants on a task (a packaged id or a spec
file of your own), one line per check; exit 0 when all hold, 2 otherwise."""

from __future__ import annotations

import argparse

from rich.markup import escape

from rewarddesign.cli.common import console


def cmd_check(args: argparse.Namespace) -> int:
    from rewarddesign.task.check import check_task

    results = check_task(args.task, steps=args.steps, seed=args.seed)
    for r in results:
        mark = "[green]ok  [/]" if r.passed else "[red]FAIL[/]"
        console.print(f"{mark} {r.name}: {escape(r.detail)}", highlight=False, soft_wrap=True)
    failed = [r.name for r in results if not r.passed]
    if failed:
        console.print(f"[red]{args.task}: {len(failed)} check(s) failed:[/] {', '.join(failed)}")
        return 2
    console.print(f"{args.task}: all {len(results)} checks pass", highlight=False)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``check`` command to the sub-parsers ``sub``."""
    c = sub.add_parser(
        "check", help="check a task's invariants (reward identity, seeded resets, ...)"
    )
    c.add_argument("task", help="task id (see `rewarddesign tasks`) or spec file (.yaml)")
    c.add_argument("--steps", type=int, default=200, help="steps per rollout (default 200)")
    c.add_argument("--seed", type=int, default=0, help="seed of the rollouts (default 0)")
    c.set_defaults(func=cmd_check)
