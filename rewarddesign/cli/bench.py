"""``rewarddesign bench`` (a grid into a results store) and ``rewarddesign report``
(statistics, plots and an HTML report from a store)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from rewarddesign.cli.common import DEFAULT_STORE, console
from rewarddesign.errors import ParameterError, SpecError


def _print_table(rows, title: str) -> None:
    from rewarddesign.bench.table import COLUMNS, row_text

    table = Table(title=title)
    for col in COLUMNS:
        table.add_column(col, justify="left" if col in ("task", "method") else "right")
    for r in rows:
        table.add_row(*row_text(r))
    console.print(table)


def cmd_bench(args: argparse.Namespace) -> int:
    from rewarddesign.bench import (
        LocalProcessExecutor,
        ResultsStore,
        SequentialExecutor,
        load_grid,
        run_grid,
        run_key,
        summarize,
    )

    grid = load_grid(args.grid, args.preset)
    if args.workers is not None and args.workers < 1:
        raise ParameterError(f"--workers must be at least 1, got {args.workers}.")
    store_path = Path(args.store)
    if args.store == DEFAULT_STORE:
        store_path.parent.mkdir(parents=True, exist_ok=True)
    store = ResultsStore(store_path)
    if args.executor == "ray":
        from rewarddesign.bench import RayExecutor

        executor = RayExecutor(args.address, args.device, num_cpus=args.workers)
    elif args.address is not None:
        raise ParameterError("--address is for --executor ray; the local executor needs none.")
    elif args.workers == 1:
        executor = SequentialExecutor(args.device)
    else:
        executor = LocalProcessExecutor(args.workers, args.device)
    console.print(
        f"grid [bold]{grid.name}[/]: {len(grid.runs)} runs, {executor.workers} worker(s), "
        f"store {store_path}. {grid.description}"
    )
    start = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        console=console,
    ) as bar:
        tid = bar.add_task("runs", total=len(grid.runs), counts="")

        def update(p, outcome) -> None:
            eta = p.eta(executor.workers)
            running = min(executor.workers, p.submitted - p.done - p.failed)
            counts = (
                f"done {p.done} | skipped {p.skipped} | running {running} | failed {p.failed} "
                f"| remaining {p.remaining} | ETA {'-' if eta is None else f'{eta:.0f}s'}"
            )
            bar.update(tid, total=p.total, completed=p.total - p.remaining, counts=counts)
            if outcome is not None and outcome.error:
                console.print(f"[red]run failed[/] {outcome.key}: {outcome.error}")

        try:
            results = run_grid(grid, store, executor, force=args.force, on_update=update)
            failed = store.failures(run_key(r.spec) for r in grid.runs)
        finally:
            store.close()
    _print_table(summarize(results), f"{grid.name}: final true return over seeds")
    console.print(
        f"total wall time {time.perf_counter() - start:.0f}s; {len(results)} complete runs"
        + (f", {len(failed)} failed (errors and tracebacks are in the store)" if failed else "")
    )
    return 1 if failed else 0


def _pair(text: str) -> tuple[str, str]:
    x, sep, y = text.partition(":")
    if not sep or not x or not y:
        raise SpecError(f"--pair expects X:Y (two method labels), got {text!r}.")
    return x, y


def cmd_report(args: argparse.Namespace) -> int:
    from rewarddesign.bench import ResultsStore, grid_results, load_grid
    from rewarddesign.bench.report import build_report, to_markdown, write_report

    if not Path(args.store).is_file():
        raise SpecError(f"results store {args.store!r} does not exist; run `rewarddesign bench`.")
    if args.reps < 1:
        raise ParameterError(f"--reps must be at least 1, got {args.reps}.")
    store = ResultsStore(args.store)
    try:
        if args.grid is not None:
            grid = load_grid(args.grid, args.preset)
            results, title = grid_results(grid, store), f"{grid.name} report"
        elif len(store.grids()) > 1:
            raise SpecError(
                f"store {args.store!r} holds runs of several grids {store.grids()}; "
                "pick one with --grid so unrelated runs are not pooled."
            )
        else:
            results, title = store.results(), f"{Path(args.store).name} report"
    finally:
        store.close()
    pairs = [_pair(p) for p in args.pair] or None
    report = build_report(results, pairs=pairs, reps=args.reps, seed=args.seed)
    console.print(to_markdown(report), markup=False, highlight=False)
    out = Path(args.out or Path(args.store).with_name(Path(args.store).stem + "-report"))
    paths = write_report(report, out, title)
    console.print(f"wrote {', '.join(sorted(paths))} to {out}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``bench`` and ``report`` commands to the sub-parsers ``sub``."""
    b = sub.add_parser("bench", help="run a benchmark grid into a results store, print its table")
    b.add_argument(
        "grid",
        nargs="?",
        default="quick",
        help="packaged grid name (e.g. quick) or a grid YAML path (default: quick)",
    )
    b.add_argument(
        "--store",
        default=DEFAULT_STORE,
        help=f"SQLite results store; complete runs are skipped (default: {DEFAULT_STORE})",
    )
    b.add_argument("--force", action="store_true", help="rerun runs already complete in the store")
    b.add_argument("--preset", default=None, help="a named preset of the grid (its `presets`)")
    b.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: available cores; 1 runs in this process)",
    )
    b.add_argument("--device", default="auto", help="auto (cuda if available), cpu or cuda")
    b.add_argument(
        "--executor",
        default="local",
        choices=["local", "ray"],
        help="local processes (default) or Ray tasks (the distributed extra)",
    )
    b.add_argument(
        "--address",
        default=None,
        help="Ray cluster: auto (this machine's, from `ray start`) or ray://host:port; "
        "default: a local Ray cluster of --workers CPUs",
    )
    b.set_defaults(func=cmd_bench)

    r = sub.add_parser("report", help="statistics, plots and an HTML report from a results store")
    r.add_argument("store", help="SQLite results store written by `rewarddesign bench`")
    r.add_argument("--grid", default=None, help="report only this grid's runs (name or path)")
    r.add_argument("--preset", default=None, help="the grid preset the runs used")
    r.add_argument("--out", default=None, help="output folder (default: STORE-report next to it)")
    r.add_argument(
        "--pair",
        action="append",
        default=[],
        metavar="X:Y",
        help="method pair for P(X > Y) (repeatable; default: each vs the first)",
    )
    r.add_argument("--reps", type=int, default=2000, help="bootstrap replications (default 2000)")
    r.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    r.set_defaults(func=cmd_report)
