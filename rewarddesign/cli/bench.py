"""``rewarddesign bench`` (a grid into a results store) and ``rewarddesign report``
(statistics, plots and an HTML report from a store)."""

from __future__ import annotations

import argparse
import contextlib
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


def _executor(args: argparse.Namespace):
    from rewarddesign.bench import LocalProcessExecutor, SequentialExecutor

    if args.executor == "ray":
        from rewarddesign.bench import RayExecutor

        return RayExecutor(
            args.address, args.device, num_cpus=args.workers, save_runs=args.save_runs
        )
    if args.address is not None:
        raise ParameterError("--address is for --executor ray; the local executor needs none.")
    if args.workers == 1:
        return SequentialExecutor(args.device, save_runs=args.save_runs)
    return LocalProcessExecutor(args.workers, args.device, save_runs=args.save_runs)


def _dry_run(grid, store_path: Path, args: argparse.Namespace) -> int:
    """List the runs, their keys and status, and the time left from stored wall times."""
    from rewarddesign.bench import ResultsStore, plan_grid
    from rewarddesign.bench.executors import available_cores
    from rewarddesign.common.progress import duration

    store = ResultsStore(store_path) if store_path.is_file() else None  # creates nothing
    try:
        plan = plan_grid(grid, store, force=args.force)
    finally:
        if store is not None:
            store.close()
    table = Table(title=f"{grid.name}: runs (dry run, nothing runs)")
    for col in ("task", "method", "seed", "budget", "key", "in store", "estimate"):
        table.add_column(col, justify="right" if col in ("seed", "budget", "estimate") else "left")
    for p in plan:
        state = {None: "-", "done": "complete"}.get(p.status, p.status)
        if p.status == "done":
            state += ", reruns (--force)" if p.runs else ", skipped"
        estimate = duration(p.estimate) if p.runs else "-"
        spec = p.run.spec
        table.add_row(
            spec.task, p.run.method_label, str(spec.seed), str(spec.budget), p.key, state, estimate
        )
    console.print(table)
    todo = [p for p in plan if p.runs]
    known = [p.estimate for p in todo if p.estimate is not None]
    workers = args.workers or available_cores()
    if not todo:
        left = "nothing to run"
    elif not known:
        left = "time left unknown (the store has no complete run of these tasks and methods)"
    else:
        left = (
            f"time left about {duration(sum(known) / workers)} with {workers} worker(s), from "
            "the median seconds per env step of the store's complete runs of each task and "
            "method"
        )
        if len(known) < len(todo):
            left += f", plus {len(todo) - len(known)} run(s) of unknown time"
    console.print(
        f"{len(plan)} runs: {len(plan) - len(todo)} complete and skipped, {len(todo)} to run; "
        f"{left}."
    )
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from rewarddesign.bench import ResultsStore, load_grid, run_grid, run_key, summarize
    from rewarddesign.common.progress import ProgressLines, duration

    grid = load_grid(args.grid, args.preset, seeds=args.seeds, budget=args.budget)
    if args.workers is not None and args.workers < 1:
        raise ParameterError(f"--workers must be at least 1, got {args.workers}.")
    if args.save_runs is not None:
        from rewarddesign.experiment.runner import check_save_dir

        check_save_dir(args.save_runs)  # a file there fails now, not after the first run
    if args.progress_every <= 0:
        raise ParameterError(f"--progress-every must be positive, got {args.progress_every}.")
    store_path = Path(args.store)
    if args.dry_run:
        if args.executor == "ray" or args.address is not None:
            raise ParameterError("--dry-run runs nothing; leave out --executor and --address.")
        return _dry_run(grid, store_path, args)
    if args.store == DEFAULT_STORE:
        store_path.parent.mkdir(parents=True, exist_ok=True)
    store = ResultsStore(store_path)
    try:
        executor = _executor(args)
    except BaseException:
        store.close()
        raise
    console.print(
        f"grid [bold]{grid.name}[/]: {len(grid.runs)} runs, {executor.workers} worker(s), "
        f"store {store_path}. {grid.description}"
    )
    start = time.perf_counter()
    state: dict = {}

    def counts(p) -> str:
        return (
            f"done {p.done} | skipped {p.skipped} | running {p.running} | failed {p.failed} "
            f"| remaining {p.remaining} | ETA {duration(p.eta(executor.workers))}"
        )

    def line() -> str:
        p = state.get("progress")
        if p is None:
            return f"{grid.name}: starting"
        finished = f"{p.done + p.failed}/{p.total - p.skipped} runs finished"
        return f"{grid.name}: {finished} | {counts(p)} | elapsed {duration(p.elapsed)}"

    if args.quiet:
        display = contextlib.nullcontext()
    elif console.is_terminal:
        display = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            console=console,
        )
    else:  # a log (CI, nohup, a pipe): a line every few seconds
        display = ProgressLines(line, console.print, args.progress_every)
    bar = display if isinstance(display, Progress) else None
    tid = bar.add_task("runs", total=len(grid.runs), counts="") if bar else None

    def update(p, outcome) -> None:
        state["progress"] = p
        if bar is not None:
            bar.update(tid, total=p.total, completed=p.total - p.remaining, counts=counts(p))
        if outcome is not None and outcome.error:
            console.print(f"[red]run failed[/] {outcome.key}: {outcome.error}")

    with display:
        try:
            results = run_grid(grid, store, executor, force=args.force, on_update=update)
            failed = store.failures(run_key(r.spec) for r in grid.runs)
        finally:
            store.close()
    failures = max(len(failed), state["progress"].failed)
    _print_table(summarize(results), f"{grid.name}: final true return over seeds")
    console.print(
        f"total wall time {time.perf_counter() - start:.0f}s; {len(results)} complete runs"
        + (f", {failures} failed (errors and tracebacks are in the store)" if failures else "")
    )
    return 1 if failures else 0


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
    b.add_argument(
        "--force",
        action="store_true",
        help="rerun runs already complete in the store (each old result stays until its "
        "new one is complete)",
    )
    b.add_argument("--preset", default=None, help="a named preset of the grid (its `presets`)")
    b.add_argument(
        "--seeds",
        type=int,
        default=None,
        metavar="N",
        help="the first N seeds of every task (the full grid's runs; past a task's last seed, "
        "the next ones)",
    )
    b.add_argument(
        "--budget",
        type=int,
        default=None,
        metavar="B",
        help="replace every run's budget (schedules are not rescaled; a run B cannot hold "
        "is refused)",
    )
    b.add_argument(
        "--dry-run",
        action="store_true",
        help="list the runs, their keys, which are complete in the store and the time "
        "left; run nothing",
    )
    b.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")
    b.add_argument(
        "--progress-every",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds between progress lines where stdout is not a terminal (default 10)",
    )
    b.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: available cores; 1 runs in this process)",
    )
    b.add_argument("--device", default="auto", help="auto (cuda if available), cpu or cuda")
    b.add_argument(
        "--save-runs",
        default=None,
        metavar="DIR",
        help="save each run's folder (policy, reward model, feedback sessions' labels and "
        "models) as DIR/KEY",
    )
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
