"""``rewarddesign rollout`` (a policy's transitions to a trajectory file) and
``rewarddesign label`` (segment pairs of a trajectory file labelled by a teacher)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rewarddesign.cli.common import console
from rewarddesign.errors import ParameterError, SpecError


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


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``rollout`` and ``label`` commands to the sub-parsers ``sub``."""
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
