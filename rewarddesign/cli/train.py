"""``rewarddesign train``: one run, trained, evaluated on the true reward and saved."""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

from rewarddesign.cli.common import console, key_values


def cmd_train(args: argparse.Namespace) -> int:
    from rewarddesign.contract.runspec import EvalSpec, RunSpec
    from rewarddesign.experiment.progress import terminal_progress
    from rewarddesign.experiment.runner import check_save_dir, execute, validate

    spec = RunSpec(
        task=args.task,
        method=args.method,
        agent=args.agent,
        seed=args.seed,
        budget=args.budget,
        method_params=key_values(args.param, "--param"),
        agent_preset=args.preset,
        agent_overrides=key_values(args.agent_param, "--agent-param"),
        eval=EvalSpec(every=args.eval_every, episodes=args.eval_episodes),
    )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = (
        Path(args.out)
        if args.out
        else Path("runs")
        / (f"{args.task.replace('/', '_')}_{args.method}_{args.agent}_s{args.seed}_{stamp}")
    )
    validate(spec)  # a refused run prints its error alone, before any bar
    check_save_dir(out)  # before the bar and the training, not after them
    title = f"{args.task} {args.method} {args.agent} seed {args.seed}"
    # a bar only in a terminal: a log or a pipe gets the result lines alone
    bar = contextlib.nullcontext() if args.quiet else terminal_progress(title, args.budget, console)
    with bar as hook:
        result = execute(spec, device=args.device, progress=hook, save_dir=out)
    console.print(
        f"final true return {result.final_return:.2f}"
        + ("" if result.final_success is None else f", success {result.final_success:.0%}")
        + f" after {result.env_steps} env steps, {result.wall_time:.1f}s on {result.device}"
    )
    console.print(f"saved model and result.json to {out}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``train`` command to the sub-parsers ``sub``."""
    tr = sub.add_parser("train", help="one run: train, evaluate on the true reward, save")
    tr.add_argument("task", help="task id, e.g. classic/Pendulum-v1 (see `rewarddesign tasks`)")
    tr.add_argument("--method", default="true", help="reward method (default: true)")
    tr.add_argument(
        "--agent",
        default="sac",
        help="sac (default), td3, ppo, or SBX's sbx-sac, sbx-td3, sbx-tqc, sbx-crossq, sbx-ppo",
    )
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
    tr.add_argument(
        "--quiet", action="store_true", help="no progress bar (shown only in a terminal anyway)"
    )
    tr.set_defaults(func=cmd_train)
