"""``rewarddesign store export`` and ``rewarddesign store import``: a store's complete runs
to a JSON-lines file and back, to move a grid between machines."""

from __future__ import annotations

import argparse
from pathlib import Path

from rewarddesign.cli.common import console
from rewarddesign.errors import SpecError


def cmd_export(args: argparse.Namespace) -> int:
    from rewarddesign.bench import ResultsStore, export_runs

    if not Path(args.store).is_file():  # ResultsStore would create an empty one
        raise SpecError(f"results store {args.store!r} does not exist; run `rewarddesign bench`.")
    store = ResultsStore(args.store)
    try:
        count = export_runs(store, args.out, grid=args.grid)
    finally:
        store.close()
    of = f" of grid {args.grid}" if args.grid is not None else ""
    console.print(f"exported {count} complete run(s){of} to {args.out}", highlight=False)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from rewarddesign.bench import ResultsStore, read_runs

    runs = read_runs(args.file)  # every line checked before the store is even created
    store = ResultsStore(args.store)
    try:
        written = store.record_complete(runs)
    finally:
        store.close()
    console.print(
        f"imported {len(written)} run(s) into {args.store}; skipped {len(runs) - len(written)} "
        "already complete there",
        highlight=False,
    )
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``store`` command (``export``, ``import``) to the sub-parsers ``sub``."""
    s = sub.add_parser(
        "store", help="export a results store's complete runs to a .jsonl file, or import one"
    )
    actions = s.add_subparsers(dest="action", required=True)
    e = actions.add_parser(
        "export", help="complete runs to JSON lines, sorted by grid and key (diffs well in git)"
    )
    e.add_argument("store", help="SQLite results store written by `rewarddesign bench`")
    e.add_argument("out", help="the .jsonl file to write (replaced atomically)")
    e.add_argument("--grid", default=None, help="export only this grid's runs (its name)")
    e.set_defaults(func=cmd_export)
    i = actions.add_parser(
        "import", help="write an export's runs into a store; runs complete there are skipped"
    )
    i.add_argument("store", help="SQLite results store (created if missing)")
    i.add_argument("file", help="a .jsonl file written by `rewarddesign store export`")
    i.set_defaults(func=cmd_import)
