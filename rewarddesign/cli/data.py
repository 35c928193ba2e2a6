"""``rewarddesign rollout`` (a policy's transitions to a trajectory file) and
``rewarddesign label`` (segment pairs of a trajectory file labelled by a teacher)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rewarddesign.cli.common import console
from rewarddesign.common.checks import check_int, check_seed
from rewarddesign.errors import ParameterError, RewardDesignError, SpecError

#: ``label``'s teacher flags (argparse dests, also make_teacher's option names) and their
#: defaults, which are the teachers' own. A flag left at its default is not passed on, so
#: only a flag given to a teacher that does not take it is refused, by make_teacher, with
#: the error pbrl gives for the same option (the parser is built without importing it).
TEACHER_FLAGS: dict[str, Any] = {
    "beta": float("inf"),
    "myopic_gamma": 1.0,
    "eps_mistake": 0.0,
    "eps_skip": 0.0,
    "eps_equal": 0.0,
    "discount": 0.99,
    "form": "deterministic",
    "expert": None,
}


def cmd_rollout(args: argparse.Namespace) -> int:
    from rewarddesign import agents
    from rewarddesign.preferences import rollout
    from rewarddesign.task.registry import make

    check_seed(args.seed, "--seed")
    check_int(args.steps, "--steps", 1)
    if args.render:
        check_int(args.frame_size, "--frame-size", 16, 1024)
    env = make(args.task, render_mode="rgb_array") if args.render else make(args.task)
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
    traj = rollout(env, policy, args.steps, args.seed, args.frame_size if args.render else None)
    traj.save(args.out)
    episodes = int(traj.episode_starts.sum())
    frames = f", {args.frame_size}x{args.frame_size} frames" if args.render else ""
    console.print(
        f"wrote {len(traj)} transitions ({episodes} episodes{frames}) of {traj.task} to {args.out}"
    )
    return 0


def teacher_options(args: argparse.Namespace) -> dict[str, Any]:
    """The teacher options of ``label``'s flags: those given a value other than the
    default (see :data:`TEACHER_FLAGS`)."""
    return {k: getattr(args, k) for k, d in TEACHER_FLAGS.items() if getattr(args, k) != d}


def _trajectory_task(traj: Any, path: str, override: str | None) -> Any:
    """The spec of the task a trajectory file was recorded on (``--task`` overrides the
    one it records), refused if its factors are not the file's."""
    from rewarddesign.task.registry import task_spec

    try:
        spec = task_spec(override or traj.task)
    except RewardDesignError as exc:
        if override is not None:
            raise
        raise type(exc)(
            f"{exc} (trajectory file {path!r} records task {traj.task!r}; pass --task with "
            "its id or spec file)"
        ) from exc
    if traj.factor_names and tuple(traj.factor_names) != spec.factor_names:
        raise SpecError(
            f"trajectory file {path!r} has factors {list(traj.factor_names)}, task "
            f"{spec.id!r} has {list(spec.factor_names)}; pass --task with the task it was "
            "recorded on."
        )
    return spec


def _check_segment_length(task: Any, H: int) -> None:
    """Refuse a segment longer than every episode of the task can be."""
    from rewarddesign.task.registry import horizon, task_spec

    longest = horizon(task)
    if longest is not None and longest < H:
        raise ParameterError(
            f"--H {H} is longer than the horizon of task {task_spec(task).id!r} ({longest} "
            f"steps), so no episode holds a segment; give --H {longest} or less."
        )


def cmd_label(args: argparse.Namespace) -> int:
    import numpy as np

    from rewarddesign.preferences import (
        PreferenceDataset,
        Trajectories,
        check_teacher_options,
        cut_segments,
        make_teacher,
        margin_from_rewards,
        random_pairs,
    )

    check_int(args.pairs, "--pairs", 1)
    check_int(args.H, "--H (segment length)", 1)
    check_seed(args.seed, "--seed")
    options = teacher_options(args)
    check_teacher_options(args.teacher, options)  # before loading anything
    if args.task is not None:
        _check_segment_length(args.task, args.H)
    traj = Trajectories.load(args.trajectories)
    task = _trajectory_task(traj, args.trajectories, args.task)
    _check_segment_length(task, args.H)
    margin = None
    if args.eps_equal or args.eps_skip:  # B-Pref's margin, from this trajectory
        margin = margin_from_rewards(traj.rewards, args.H)
    teacher = make_teacher(args.teacher, task, margin=margin, **options)
    rng = np.random.default_rng(args.seed)
    pairs = random_pairs(cut_segments(traj, H=args.H), args.pairs, rng)
    record = teacher.label(pairs, rng)
    data = PreferenceDataset(task=task.id)
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
    ro.add_argument("task", help="task id (see `rewarddesign tasks`) or spec file (.yaml)")
    ro.add_argument("--policy", default="random", help="random, or a saved agent's folder")
    ro.add_argument("--steps", type=int, required=True, help="transitions to record")
    ro.add_argument("--seed", type=int, default=0)
    ro.add_argument("--out", required=True, help="trajectory file (.npz)")
    ro.add_argument(
        "--render", action="store_true", help="also store a frame of each state (label-ui)"
    )
    ro.add_argument("--frame-size", type=int, default=128, help="frame side in pixels (128)")
    ro.set_defaults(func=cmd_rollout)

    la = sub.add_parser("label", help="label random segment pairs of a trajectory file")
    la.add_argument("trajectories", help="trajectory file written by `rewarddesign rollout`")
    la.add_argument(
        "--teacher", required=True, choices=["partial-return", "regret", "hierarchical"]
    )
    la.add_argument("--pairs", type=int, required=True, help="pairs to label")
    la.add_argument(
        "--task",
        default=None,
        help="task id or spec file (default: the one the trajectory file records)",
    )
    la.add_argument("--H", type=int, default=50, help="segment length (default 50)")
    la.add_argument("--seed", type=int, default=0)
    la.add_argument(
        "--beta", type=float, default=TEACHER_FLAGS["beta"], help="rationality (default inf)"
    )
    la.add_argument("--myopic-gamma", type=float, default=TEACHER_FLAGS["myopic_gamma"])
    la.add_argument("--eps-mistake", type=float, default=TEACHER_FLAGS["eps_mistake"])
    la.add_argument("--eps-skip", type=float, default=TEACHER_FLAGS["eps_skip"])
    la.add_argument("--eps-equal", type=float, default=TEACHER_FLAGS["eps_equal"])
    la.add_argument(
        "--discount", type=float, default=TEACHER_FLAGS["discount"], help="regret discount"
    )
    la.add_argument("--form", default=TEACHER_FLAGS["form"], choices=["deterministic", "advantage"])
    la.add_argument(
        "--expert",
        default=TEACHER_FLAGS["expert"],
        help="regret teacher on continuous control: an expert's folder",
    )
    la.add_argument("--out", required=True, help="preference dataset (.npz)")
    la.set_defaults(func=cmd_label)
