"""The ``rewarddesign`` command line: the parser, assembled from one module per command
group (tasks, train, bench and report, store export and import, tune, rollout and label,
label-ui, fit-reward, expert, compare), and :func:`main`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.markup import escape

from rewarddesign.cli import (
    bench,
    check,
    compare,
    data,
    expert,
    human,
    reward,
    store,
    tasks,
    train,
    tune,
)
from rewarddesign.cli.common import console
from rewarddesign.errors import RewardDesignError

# the order of `rewarddesign --help`
GROUPS = (tasks, check, train, bench, store, tune, data, human, reward, expert, compare)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``rewarddesign`` command."""
    p = argparse.ArgumentParser(
        prog="rewarddesign", description="Reward design for control and robot tasks."
    )
    sub = p.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; bad input exits with status 2 and a one-line error."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RewardDesignError as exc:
        # one line; escaped, or rich would read a message's [low, high] as markup
        console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
