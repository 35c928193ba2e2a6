"""``rewarddesign expert``: train or list expert SAC agents (the regret teacher's critic)."""

from __future__ import annotations

import argparse

from rich.table import Table

from rewarddesign.cli.common import console
from rewarddesign.errors import ParameterError


def cmd_expert(args: argparse.Namespace) -> int:
    from rewarddesign.experiment.experts import list_experts, train_expert
    from rewarddesign.experiment.progress import terminal_progress

    if args.action == "list":
        table = Table(title=f"experts in {args.dir}")
        for col in ("task", "steps", "true return", "success", "wall s", "device", "folder"):
            table.add_column(col)
        for e in list_experts(args.dir):
            success = "-" if e.get("success") is None else f"{e['success']:.0%}"
            table.add_row(
                e["task"],
                str(e["steps"]),
                f"{e['true_return']:.1f}",
                success,
                f"{e['wall_time']:.0f}",
                e["device"],
                e["path"],
            )
        console.print(table)
        return 0
    if not args.task:
        raise ParameterError(
            "expert train needs a task id or spec file: rewarddesign expert train TASK."
        )
    # a bar only in a terminal, as train's: a log gets the result line alone
    with terminal_progress(f"expert {args.task}", args.steps, console) as hook:
        record = train_expert(
            args.task,
            args.steps,
            args.seed,
            args.device,
            args.dir,
            args.preset,
            progress=hook,
            agent=args.agent,
        )
    console.print(
        f"expert for {record['task']}: true return {record['true_return']:.1f} after "
        f"{record['steps']} steps, {record['wall_time']:.0f} s on {record['device']}; "
        f"saved under {args.dir}"
    )
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``expert`` command to the sub-parsers ``sub``."""
    ex = sub.add_parser("expert", help="train or list expert SAC agents (regret labels' critic)")
    ex.add_argument("action", choices=["train", "list"])
    ex.add_argument("task", nargs="?", help="task id or spec file (.yaml) to train an expert for")
    ex.add_argument("--steps", type=int, default=100_000, help="env steps (default: 100000)")
    ex.add_argument("--seed", type=int, default=0)
    ex.add_argument("--preset", default=None, help="agent preset (default: the task's settings)")
    ex.add_argument(
        "--agent", default="sac", help="sac (default), or SBX's sbx-sac, sbx-tqc, sbx-crossq"
    )
    ex.add_argument("--device", default="auto", help="auto (the GPU if one is seen), cpu or cuda")
    ex.add_argument("--dir", default="experts", help="experts folder (default: experts)")
    ex.set_defaults(func=cmd_expert)
