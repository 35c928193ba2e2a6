"""``rewarddesign label-ui``: label segment pairs of a rendered trajectory in the browser;
each answer is saved as it is given, and a restart resumes."""

from __future__ import annotations

import argparse

from rewarddesign.cli.common import console


def cmd_label_ui(args: argparse.Namespace) -> int:
    import secrets

    from rewarddesign.errors import ParameterError
    from rewarddesign.human.app import build_app, needs_token
    from rewarddesign.human.serve import bind, server, url
    from rewarddesign.human.session import check_annotator, open_session
    from rewarddesign.task.registry import task_spec

    if args.annotator is not None:
        check_annotator(args.annotator)
    model = None
    if args.select == "disagreement":
        if args.model is None:
            raise ParameterError(
                "--select disagreement needs --model DIR: a reward ensemble (fit-reward's "
                "--out, or a pbrl run's reward_model/) whose members' disagreement picks pairs."
            )
        from rewarddesign.models import RewardEnsemble

        model = RewardEnsemble.load(args.model, device="cpu")
    elif args.model is not None:
        raise ParameterError("--model is read by --select disagreement only; drop it or add that.")
    sock = bind(args.host, args.port)  # a port in use fails before any work
    try:
        session = open_session(args.trajectories, args.pairs, args.H, args.out, args.seed, model)
        spec = task_spec(session.task)
        instructions = (
            f"{spec.id}: {spec.description or 'the task'}. Which of the two behaviours does "
            "the task better? Left, right, equal, or can't tell."
        )
        token = secrets.token_urlsafe(16) if needs_token(args.host) else None
        app = build_app(session, instructions, token)
        done = len(session.answers)
        console.print(
            f"labelling {session.total} pairs of {spec.id} ({done} answers so far, saved to "
            f"{args.out}); open {url(sock, args.host, annotator=args.annotator, token=token)}"
            " and press Ctrl-C when done",
            soft_wrap=True,
        )
        server(app).run(sockets=[sock])
    finally:
        sock.close()
    console.print(f"saved {len(session.answers)} answers to {args.out}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``label-ui`` command to the sub-parsers ``sub``."""
    ui = sub.add_parser(
        "label-ui", help="label segment pairs of a rendered trajectory in the browser"
    )
    ui.add_argument("trajectories", help="trajectory file of `rollout --render`")
    ui.add_argument("--pairs", type=int, required=True, help="pairs each annotator labels")
    ui.add_argument("--H", type=int, default=50, help="segment length (default 50)")
    ui.add_argument("--out", required=True, help="preference dataset (.npz), saved per answer")
    ui.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free)")
    ui.add_argument(
        "--host", default="127.0.0.1", help="address (default 127.0.0.1; others need a token)"
    )
    ui.add_argument("--select", default="uniform", choices=["uniform", "disagreement"])
    ui.add_argument("--model", default=None, help="reward ensemble for --select disagreement")
    ui.add_argument("--annotator", default=None, help="your name (else the page asks)")
    ui.add_argument("--seed", type=int, default=0, help="seed of the pairs (default 0)")
    ui.set_defaults(func=cmd_label_ui)
