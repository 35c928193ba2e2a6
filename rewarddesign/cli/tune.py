"""``rewarddesign tune``: blending weights (or method parameters) tuned with Optuna."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from rewarddesign.cli.common import console, key_values
from rewarddesign.errors import ParameterError, SpecError


def _bounds(items: Sequence[str], flag: str, log: bool = True) -> dict[str, list[Any]]:
    """Parse ``NAME=LOW:HIGH[:log]`` items (``NAME=LOW:HIGH`` unless ``log``); a name
    given twice is refused rather than the first silently dropped."""
    form = "NAME=LOW:HIGH[:log]" if log else "FACTOR=LOW:HIGH (weights are searched on a log scale)"
    out: dict[str, list[Any]] = {}
    for item in items:
        name, sep, rest = item.partition("=")
        parts = rest.split(":")
        try:
            if not sep or not name or len(parts) not in ((2, 3) if log else (2,)):
                raise ValueError
            bounds = [float(parts[0]), float(parts[1]), *parts[2:]]
        except ValueError:
            raise SpecError(f"{flag} expects {form}, got {item!r}.") from None
        if name in out:
            raise SpecError(f"{flag} {name} is given twice; give each name once.")
        out[name] = bounds
    return out


def _check_out(out: str | None) -> None:
    """Refuse an ``--out`` the YAML cannot be written to, before the study runs."""
    if out is None:
        return
    path = Path(out)
    if path.is_dir():
        raise ParameterError(f"--out {out!r} is a folder; give a YAML file, e.g. {out}/best.yaml.")
    if any(p.exists() and not p.is_dir() for p in path.parents):
        raise ParameterError(f"--out {out!r}: a parent of it is a file, not a folder.")


def train_command(task: str, agent: str, preset: str | None, doc: Mapping[str, Any]) -> str:
    """The ``rewarddesign train`` command that trains on a tuning result ``doc`` (as
    :func:`~rewarddesign.tuning.write_best` returns it, plus ``path``, the file it was
    written to): blend weights as that path, every other method parameter by value.

    Example:
        >>> train_command("classic/Pendulum-v1", "sac", None,
        ...               {"method": "weighted", "params": {"beta": 0.25}, "path": "b.yaml"})
        'rewarddesign train classic/Pendulum-v1 --method weighted --param beta=0.25'
    """
    words = ["rewarddesign", "train", task, "--method", doc["method"]]
    if agent != "sac":
        words += ["--agent", agent]
    if preset is not None:
        words += ["--preset", preset]
    for key, value in doc["params"].items():
        # blend reads its weights from the file (so a run's key holds them, not a path)
        text = doc["path"] if key == "weights" else yaml.safe_dump(value, default_flow_style=True)
        words += ["--param", f"{key}={text.strip().removesuffix('...').strip()}"]
    return shlex.join(words)


def cmd_tune(args: argparse.Namespace) -> int:
    import optuna

    from rewarddesign.tuning import DEFAULT_STORAGE, redact, storage_url, tune, write_best

    _check_out(args.out)
    storage = args.storage or DEFAULT_STORAGE

    def header(study: optuna.Study) -> None:  # once the inputs are checked
        console.print(
            f"tuning [bold]{args.method}[/] on {args.task}: {args.trials} trials x "
            f"{args.seeds} seed(s) x {args.budget} steps, {args.workers} worker(s), study "
            f"{study.study_name!r} in {redact(storage_url(storage))}",
            highlight=False,
            soft_wrap=True,
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
        ranges=_bounds(args.range, "--range", log=False),
        params=_bounds(args.search, "--search"),
        method_params=key_values(args.param, "--param"),
        agent_preset=args.preset,
        eval_every=args.eval_every,
        eval_episodes=args.eval_episodes,
        sampler_seed=args.sampler_seed,
        worker_id=args.worker_id,
        heartbeat=args.heartbeat,
        grace=args.grace,
        device=args.device,
        verbose=not args.quiet,
        progress_every=args.progress_every,
        on_start=header,
    )
    out = args.out or f"runs/tuned_{study.study_name.replace('/', '_').replace(':', '_')}.yaml"
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    doc = write_best(study, out)
    train = train_command(args.task, args.agent, args.preset, {**doc, "path": out})
    console.print(
        f"best trial {doc['trial']}: {doc['values']} with {doc['params']}\n"
        f"written to {out}; train on it: {train}\n"
        f"browse the study: optuna-dashboard {redact(storage_url(storage))}",
        highlight=False,
        soft_wrap=True,
    )
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``tune`` command to the sub-parsers ``sub``."""
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
    tu.add_argument(
        "--study",
        default=None,
        help="study name (default TASK:METHOD:HASH of the search settings: the same command "
        "resumes its study, another search gets its own)",
    )
    tu.add_argument("--seeds", type=int, default=1, help="tuning seeds per trial (default 1)")
    tu.add_argument("--seed-base", type=int, default=1000, help="first tuning seed (default 1000)")
    tu.add_argument(
        "--workers",
        type=int,
        default=1,
        help="local worker processes (default 1), worker indices 0..W-1",
    )
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
    tu.add_argument(
        "--sampler-seed",
        type=int,
        default=0,
        help="seed of the TPE samplers; each worker's seed derives from it, the trials the "
        "study holds at start, --worker-id and the worker index (default 0)",
    )
    tu.add_argument(
        "--worker-id",
        default=None,
        help="this machine's name among a study's workers, so workers started apart draw "
        "different trials; default HOST:PID, which is not reproducible: give a fixed one "
        "to repeat a study",
    )
    tu.add_argument("--heartbeat", type=int, default=60, help="seconds between heartbeats")
    tu.add_argument(
        "--grace",
        type=int,
        default=None,
        help="seconds without heartbeat before a trial is failed and retried",
    )
    tu.add_argument("--device", default="auto")
    tu.add_argument(
        "--quiet",
        action="store_true",
        help="no progress (default: a line every 10 s in a log, a live line in a terminal)",
    )
    tu.add_argument(
        "--progress-every",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds between progress lines where stdout is not a terminal (default 10)",
    )
    tu.add_argument(
        "--out", default=None, help="YAML of the best weights (default runs/tuned_*.yaml)"
    )
    tu.set_defaults(func=cmd_tune)
