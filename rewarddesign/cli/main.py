"""The ``rewarddesign`` command line: tasks, train, bench, report, tune, rollout, label."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from rewarddesign.errors import ParameterError, RewardDesignError, SpecError

DEFAULT_STORE = "runs/results.sqlite"
console = Console()
if not console.is_terminal:  # piped or captured: don't squeeze tables into 80 columns
    console = Console(width=160)


def _key_values(items: Sequence[str], flag: str) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` items; values are YAML (numbers, lists, mappings)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SpecError(f"{flag} expects KEY=VALUE, got {item!r}.")
        try:
            out[key] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise SpecError(f"{flag} {item!r}: the value is not valid YAML ({exc}).") from exc
    return out


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("true return {task.fields[ret]}"),
        TimeRemainingColumn(),
        console=console,
    )


def _hook(bar: Progress, task_id: Any):
    def hook(done: int, budget: int, ret: float | None) -> None:
        bar.update(task_id, completed=done, total=budget, ret="-" if ret is None else f"{ret:.1f}")

    return hook


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


def cmd_train(args: argparse.Namespace) -> int:
    from rewarddesign.contract.runspec import EvalSpec, RunSpec
    from rewarddesign.experiment.runner import execute

    spec = RunSpec(
        task=args.task,
        method=args.method,
        agent=args.agent,
        seed=args.seed,
        budget=args.budget,
        method_params=_key_values(args.param, "--param"),
        agent_preset=args.preset,
        agent_overrides=_key_values(args.agent_param, "--agent-param"),
        eval=EvalSpec(every=args.eval_every, episodes=args.eval_episodes),
    )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = (
        Path(args.out)
        if args.out
        else Path("runs")
        / (f"{args.task.replace('/', '_')}_{args.method}_{args.agent}_s{args.seed}_{stamp}")
    )
    with _progress() as bar:
        tid = bar.add_task(f"{args.task} {args.method} {args.agent}", total=args.budget, ret="-")
        result = execute(spec, device=args.device, progress=_hook(bar, tid), save_dir=out)
    console.print(
        f"final true return {result.final_return:.2f}"
        + ("" if result.final_success is None else f", success {result.final_success:.0%}")
        + f" after {result.env_steps} env steps, {result.wall_time:.1f}s on {result.device}"
    )
    console.print(f"saved model and result.json to {out}")
    return 0


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


def _bounds(items: Sequence[str], flag: str) -> dict[str, list[Any]]:
    """Parse ``NAME=LOW:HIGH[:log]`` items."""
    out: dict[str, list[Any]] = {}
    for item in items:
        name, sep, rest = item.partition("=")
        parts = rest.split(":")
        try:
            if not sep or not name or len(parts) not in (2, 3):
                raise ValueError
            out[name] = [float(parts[0]), float(parts[1]), *parts[2:]]
        except ValueError:
            raise SpecError(f"{flag} expects NAME=LOW:HIGH[:log], got {item!r}.") from None
    return out


def cmd_tune(args: argparse.Namespace) -> int:
    from rewarddesign.tuning import DEFAULT_STORAGE, redact, storage_url, tune, write_best

    storage = args.storage or DEFAULT_STORAGE
    console.print(
        f"tuning [bold]{args.method}[/] on {args.task}: {args.trials} trials x {args.seeds} "
        f"seed(s) x {args.budget} steps, {args.workers} worker(s), storage "
        f"{redact(storage_url(storage))}",
        highlight=False,
    )
    study = tune(
        args.task,
        args.method,
        args.trials,
        agent=args.agent,
        budget=args.budget,
        seeds=args.seeds,
        seed_base=args.seed_base,
        storage=storage,
        study=args.study,
        workers=args.workers,
        pruner=args.pruner,
        cost=args.cost,
        factors=args.factors.split(",") if args.factors else None,
        ranges={k: v[:2] for k, v in _bounds(args.range, "--range").items()},
        params=_bounds(args.search, "--search"),
        method_params=_key_values(args.param, "--param"),
        agent_preset=args.preset,
        eval_every=args.eval_every,
        eval_episodes=args.eval_episodes,
        sampler_seed=args.sampler_seed,
        heartbeat=args.heartbeat,
        grace=args.grace,
        device=args.device,
    )
    out = args.out or f"runs/tuned_{study.study_name.replace('/', '_').replace(':', '_')}.yaml"
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    doc = write_best(study, out)
    console.print(
        f"best trial {doc['trial']}: {doc['values']} with {doc['params']}\n"
        f"written to {out}; train on it: rewarddesign train {args.task} --method "
        f"{args.method} --param weights={out}\n"
        f"browse the study: optuna-dashboard {redact(storage_url(storage))}",
        highlight=False,
    )
    return 0


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


def cmd_rollout(args: argparse.Namespace) -> int:
    from rewarddesign import agents
    from rewarddesign.preferences import rollout
    from rewarddesign.task.registry import make

    env = make(args.task)
    policy = None
    if args.policy != "random":
        folder = Path(args.policy)
        folder = folder / "model" if (folder / "model").is_dir() else folder
        if not (folder / "agent.json").is_file():
            raise SpecError(
                f"--policy {args.policy!r} is neither 'random' nor a saved agent (a folder with "
                "agent.json, as `rewarddesign train` writes under model/)."
            )
        model = agents.load(folder, env, device="cpu")
        policy = lambda obs: model.predict(obs, deterministic=True)[0]  # noqa: E731
    traj = rollout(env, policy, args.steps, args.seed)
    traj.save(args.out)
    episodes = int(traj.episode_starts.sum())
    console.print(
        f"wrote {len(traj)} transitions ({episodes} episodes) of {traj.task} to {args.out}"
    )
    return 0


def cmd_expert(args: argparse.Namespace) -> int:
    from rewarddesign.experiment.experts import list_experts, train_expert

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
        raise ParameterError("expert train needs a task id: rewarddesign expert train TASK.")
    with _progress() as bar:
        tid = bar.add_task(f"expert {args.task}", total=args.steps, ret="-")
        record = train_expert(
            args.task,
            args.steps,
            args.seed,
            args.device,
            args.dir,
            args.preset,
            progress=_hook(bar, tid),
        )
    console.print(
        f"expert for {record['task']}: true return {record['true_return']:.1f} after "
        f"{record['steps']} steps, {record['wall_time']:.0f} s on {record['device']}; "
        f"saved under {args.dir}"
    )
    return 0


def _teacher(args: argparse.Namespace, traj: Any) -> Any:
    import numpy as np

    from rewarddesign.preferences import (
        CriticOracle,
        HierarchicalTeacher,
        PartialReturnTeacher,
        RegretTeacher,
        ValueIterationOracle,
        margin_from_returns,
    )
    from rewarddesign.task.registry import make, task_spec

    if args.teacher == "hierarchical":
        return HierarchicalTeacher.from_task(task_spec(traj.task))
    margin = None
    if args.eps_equal or args.eps_skip:  # B-Pref's margin, from this trajectory's episodes
        episode = traj.episode_ids()
        returns = np.bincount(episode, weights=traj.rewards)
        lengths = np.bincount(episode)
        margin = margin_from_returns(float(returns.mean()), args.H, float(lengths.mean()))
    if args.teacher == "partial-return":
        return PartialReturnTeacher(
            beta=args.beta,
            myopic_gamma=args.myopic_gamma,
            eps_mistake=args.eps_mistake,
            eps_skip=args.eps_skip,
            eps_equal=args.eps_equal,
            margin=margin,
        )
    if args.eps_skip:
        raise SpecError("--eps-skip applies to the partial-return teacher only.")
    if args.expert:  # continuous control: the expert's critic, at the expert's discount
        oracle = CriticOracle.from_dir(args.expert, task=traj.task)
        discount = oracle.discount
    else:
        oracle = ValueIterationOracle.from_env(make(traj.task), args.discount)
        discount = args.discount
    return RegretTeacher(
        oracle,
        discount,
        beta=args.beta,
        eps_mistake=args.eps_mistake,
        eps_equal=args.eps_equal,
        margin=margin,
        form=args.form,
    )


def cmd_label(args: argparse.Namespace) -> int:
    import numpy as np

    from rewarddesign.preferences import (
        PreferenceDataset,
        Trajectories,
        cut_segments,
        random_pairs,
    )

    if args.pairs < 1:
        raise ParameterError(f"--pairs must be >= 1, got {args.pairs}.")
    traj = Trajectories.load(args.trajectories)
    rng = np.random.default_rng(args.seed)
    pairs = random_pairs(cut_segments(traj, H=args.H), args.pairs, rng)
    record = _teacher(args, traj).label(pairs, rng)
    data = PreferenceDataset()
    data.append(pairs, record)
    data.save(args.out)
    console.print(
        f"wrote {data.asked} pairs ({data.usable} usable, {data.charged} charged) "
        f"labelled by the {args.teacher} teacher to {args.out}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``rewarddesign`` command."""
    p = argparse.ArgumentParser(
        prog="rewarddesign", description="Reward design for control and robot tasks."
    )
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("tasks", help="list the registered tasks and their reward factors")
    t.set_defaults(func=cmd_tasks)

    tr = sub.add_parser("train", help="one run: train, evaluate on the true reward, save")
    tr.add_argument("task", help="task id, e.g. classic/Pendulum-v1 (see `rewarddesign tasks`)")
    tr.add_argument("--method", default="true", help="reward method (default: true)")
    tr.add_argument("--agent", default="sac", help="sac, td3 or ppo (default: sac)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--budget", type=int, default=20_000, help="env steps (default: 20000)")
    tr.add_argument("--preset", default=None, help="agent preset, e.g. fast")
    tr.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="method parameter, value in YAML (repeatable)",
    )
    tr.add_argument(
        "--agent-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="agent hyperparameter override, value in YAML (repeatable)",
    )
    tr.add_argument("--eval-every", type=int, default=None, help="default: budget // 10")
    tr.add_argument("--eval-episodes", type=int, default=5)
    tr.add_argument("--device", default="auto", help="auto (cuda if available), cpu or cuda")
    tr.add_argument("--out", default=None, help="run folder (default: runs/<task>_<...>)")
    tr.set_defaults(func=cmd_train)

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

    tu = sub.add_parser("tune", help="tune blending weights (or method parameters) with Optuna")
    tu.add_argument("task", help="task id (see `rewarddesign tasks`)")
    tu.add_argument("--method", default="blend", help="reward method (default: blend)")
    tu.add_argument(
        "--trials", type=int, required=True, help="finished trials the study should hold"
    )
    tu.add_argument(
        "--storage",
        default=None,
        help="SQLite file or URL (sqlite:///..., postgresql://...); default runs/tune.sqlite",
    )
    tu.add_argument("--study", default=None, help="study name (default TASK:METHOD)")
    tu.add_argument("--seeds", type=int, default=1, help="tuning seeds per trial (default 1)")
    tu.add_argument("--seed-base", type=int, default=1000, help="first tuning seed (default 1000)")
    tu.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    tu.add_argument("--agent", default="sac")
    tu.add_argument("--budget", type=int, default=10_000, help="env steps per run (default 10000)")
    tu.add_argument("--preset", default=None, help="agent preset, e.g. fast")
    tu.add_argument("--pruner", default="median", choices=["median", "halving", "none"])
    tu.add_argument(
        "--cost",
        default=None,
        help="a factor to minimise too (multi-objective: Pareto front, no pruning)",
    )
    tu.add_argument("--factors", default=None, help="comma-separated factors to weight (blend)")
    tu.add_argument(
        "--range",
        action="append",
        default=[],
        metavar="FACTOR=LOW:HIGH",
        help="magnitude range of a factor weight (repeatable)",
    )
    tu.add_argument(
        "--search",
        action="append",
        default=[],
        metavar="PARAM=LOW:HIGH[:log]",
        help="search a numeric method parameter (repeatable)",
    )
    tu.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fixed method parameter, value in YAML (repeatable)",
    )
    tu.add_argument("--eval-every", type=int, default=None)
    tu.add_argument("--eval-episodes", type=int, default=5)
    tu.add_argument("--sampler-seed", type=int, default=0)
    tu.add_argument("--heartbeat", type=int, default=60, help="seconds between heartbeats")
    tu.add_argument(
        "--grace",
        type=int,
        default=None,
        help="seconds without heartbeat before a trial is failed and retried",
    )
    tu.add_argument("--device", default="auto")
    tu.add_argument(
        "--out", default=None, help="YAML of the best weights (default runs/tuned_*.yaml)"
    )
    tu.set_defaults(func=cmd_tune)

    ro = sub.add_parser("rollout", help="record transitions of a policy to a trajectory file")
    ro.add_argument("task", help="task id (see `rewarddesign tasks`)")
    ro.add_argument("--policy", default="random", help="random, or a saved agent's folder")
    ro.add_argument("--steps", type=int, required=True, help="transitions to record")
    ro.add_argument("--seed", type=int, default=0)
    ro.add_argument("--out", required=True, help="trajectory file (.npz)")
    ro.set_defaults(func=cmd_rollout)

    la = sub.add_parser("label", help="label random segment pairs of a trajectory file")
    la.add_argument("trajectories", help="trajectory file written by `rewarddesign rollout`")
    la.add_argument(
        "--teacher", required=True, choices=["partial-return", "regret", "hierarchical"]
    )
    la.add_argument("--pairs", type=int, required=True, help="pairs to label")
    la.add_argument("--H", type=int, default=50, help="segment length (default 50)")
    la.add_argument("--seed", type=int, default=0)
    la.add_argument("--beta", type=float, default=float("inf"), help="rationality (default inf)")
    la.add_argument("--myopic-gamma", type=float, default=1.0)
    la.add_argument("--eps-mistake", type=float, default=0.0)
    la.add_argument("--eps-skip", type=float, default=0.0)
    la.add_argument("--eps-equal", type=float, default=0.0)
    la.add_argument("--discount", type=float, default=0.99, help="regret discount")
    la.add_argument("--form", default="deterministic", choices=["deterministic", "advantage"])
    la.add_argument(
        "--expert", default=None, help="regret teacher on continuous control: an expert's folder"
    )
    la.add_argument("--out", required=True, help="preference dataset (.npz)")
    la.set_defaults(func=cmd_label)

    ex = sub.add_parser("expert", help="train or list expert SAC agents (regret labels' critic)")
    ex.add_argument("action", choices=["train", "list"])
    ex.add_argument("task", nargs="?", help="task id to train an expert for")
    ex.add_argument("--steps", type=int, default=100_000, help="env steps (default: 100000)")
    ex.add_argument("--seed", type=int, default=0)
    ex.add_argument("--preset", default=None, help="agent preset (default: the task's settings)")
    ex.add_argument("--device", default="auto", help="auto (cuda if available), cpu or cuda")
    ex.add_argument("--dir", default="experts", help="experts folder (default: experts)")
    ex.set_defaults(func=cmd_expert)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; bad input exits with status 2 and a one-line error."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RewardDesignError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
