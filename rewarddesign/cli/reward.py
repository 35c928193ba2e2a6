"""``rewarddesign fit-reward``: a reward ensemble fitted on any labelled dataset (a
simulated teacher's or people's), with its held-out accuracy."""

from __future__ import annotations

import argparse

from rewarddesign.cli.common import console


def cmd_fit_reward(args: argparse.Namespace) -> int:
    from rewarddesign.common.checks import check_int, check_seed
    from rewarddesign.errors import SpecError
    from rewarddesign.models.fit import file_sha256, fit_reward, save_fit
    from rewarddesign.preferences import PreferenceDataset

    check_int(args.members, "--members", 1)
    check_int(args.epochs, "--epochs", 1)
    check_seed(args.seed, "--seed")
    data = PreferenceDataset.load(args.labels)
    task = args.task or data.task
    if task is None:
        raise SpecError(
            f"{args.labels!r} does not record the task it was labelled on (a dataset saved "
            "before tasks were recorded); pass --task with its id or spec file."
        )
    model, report = fit_reward(
        data,
        task,
        members=args.members,
        hidden=tuple(args.hidden),
        inputs=args.inputs,
        held_out=args.held_out,
        max_epochs=args.epochs,
        seed=args.seed,
        device=args.device,
        dataset_sha256=file_sha256(args.labels),
    )
    save_fit(model, report, args.out)
    held = (
        "no held-out accuracy (nothing decided held out)"
        if report.held_out_accuracy is None
        else f"held-out accuracy {report.held_out_accuracy:.3f} on {report.held_out_decided} "
        "decided pairs"
    )
    console.print(
        f"fitted a {args.members}-member reward of {report.task} on {report.train_pairs} "
        f"pairs ({report.epochs} epochs, training accuracy {report.train_accuracy:.3f}); "
        f"{held}; wrote {args.out}"
    )
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``fit-reward`` command to the sub-parsers ``sub``."""
    fr = sub.add_parser(
        "fit-reward", help="fit a reward ensemble on a labelled dataset (.npz), print accuracy"
    )
    fr.add_argument("labels", help="preference dataset (.npz) of `label` or the label UI")
    fr.add_argument("--out", required=True, help="folder for the reward model")
    fr.add_argument(
        "--task", default=None, help="task id or spec file (default: the one the labels record)"
    )
    fr.add_argument("--members", type=int, default=3, help="ensemble members (default 3)")
    fr.add_argument(
        "--hidden", type=int, nargs="+", default=[256, 256], help="hidden sizes (256 256)"
    )
    fr.add_argument(
        "--inputs",
        default="obs_action",
        help="the reward's inputs (default obs_action; rewarddesign.models.INPUTS lists them)",
    )
    fr.add_argument(
        "--held-out", type=float, default=0.2, help="fraction held out for accuracy (0.2)"
    )
    fr.add_argument("--epochs", type=int, default=200, help="most epochs (default 200)")
    fr.add_argument("--seed", type=int, default=0)
    fr.add_argument("--device", default="auto", help="auto, cpu or cuda")
    fr.set_defaults(func=cmd_fit_reward)
