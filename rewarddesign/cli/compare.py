"""``rewarddesign compare TASK --reward R --reward R2 ...``: the EPIC (or DARD) distance between a
task's rewards, with confidence intervals, as a table (and a CSV or JSON file with its
heatmap)."""

from __future__ import annotations

import argparse

from rich.markup import escape
from rich.table import Table

from rewarddesign.cli.common import console
from rewarddesign.errors import SpecError


def named(items: list[str]) -> dict[str, str] | list[str]:
    """``NAME=FORM`` items as a mapping (a name holds no ``:``), else the forms as given."""
    pairs = [item.partition("=") for item in items]
    if not any(sep and ":" not in name for name, sep, _ in pairs):
        return items
    out = {}
    for item, (name, sep, form) in zip(items, pairs, strict=True):
        key, value = (name, form) if sep and ":" not in name else (item, item)
        if key in out:
            raise SpecError(f"--reward {key!r} is given twice; name each reward once.")
        out[key] = value
    return out


def cmd_compare(args: argparse.Namespace) -> int:
    from rewarddesign.diagnostics import export
    from rewarddesign.diagnostics.comparison import compare

    if args.out is not None:
        export.check_path(args.out)  # before the work
    m = compare(
        args.task,
        named(args.reward),
        samples=args.samples,
        distance=args.distance,
        traj=args.traj,
        transitions=args.transitions,
        gamma=args.gamma,
        actions=args.actions,
        seed=args.seed,
        bootstrap=args.bootstrap,
    )
    title = (
        f"{m.distance_kind.upper()} distance, {m.confidence:.0%} CI: {args.task}, "
        f"{m.transitions} transitions, {m.samples} samples, gamma {m.gamma:g}"
    )
    table = Table(title=escape(title))
    table.add_column("reward")
    for name in m.names:
        table.add_column(escape(name), justify="right")
    for i, name in enumerate(m.names):
        cells = [
            "0" if i == j else f"{m.distance[i, j]:.3f} [{m.low[i, j]:.3f}, {m.high[i, j]:.3f}]"
            for j in range(len(m.names))
        ]
        table.add_row(escape(name), *cells)
    console.print(table)
    if args.out is not None:
        for path in export.write(m, args.out):
            console.print(f"wrote {path}", highlight=False)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``compare`` command to the sub-parsers ``sub``."""
    c = sub.add_parser(
        "compare", help="distances between a task's rewards (EPIC), without training an agent"
    )
    c.add_argument("task", help="task id (see `rewarddesign tasks`) or spec file (.yaml)")
    c.add_argument(
        "--reward",
        action="append",
        required=True,
        help="a reward, given twice or more: true, env, aux:NAME, expr:TEXT, "
        "blend:WEIGHTS.yaml, shaped:POTENTIAL, model:DIR (a reward model), meta:DIR (BARFI); "
        "NAME=FORM names it in the table",
    )
    c.add_argument("--traj", default=None, help="trajectory file (default: a random rollout)")
    c.add_argument("--gamma", type=float, default=0.99, help="discount (default 0.99)")
    c.add_argument(
        "--samples", type=int, default=512, help="coverage samples per expectation (default 512)"
    )
    c.add_argument(
        "--transitions", type=int, default=10_000, help="transitions compared (default 10000)"
    )
    c.add_argument(
        "--distance",
        default="epic",
        help="epic (default) or dard (expectations along the task's dynamics: classic "
        "control, tabular tasks)",
    )
    c.add_argument(
        "--actions", default="uniform", help="coverage actions: uniform (default) or data"
    )
    c.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    c.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    c.add_argument("--out", default=None, help="write FILE.csv or FILE.json and FILE.png")
    c.set_defaults(func=cmd_compare)
