"""The README's two-goal figure: each held-out user's path under the single reward's
policy and under the EM-conditioned one.

Usage: python benchmarks/plural_figure.py [--seed 0] [--budget 50000]
    [--runs runs/plural_figure] [--out benchmarks/results/plural_two_goals_paths.png]

Trains (or reuses, from ``--runs``) two ``plural`` runs of the ``plural_two_goals``
grid's settings, saved with their held-out users (``users.npz``); then rolls out every
held-out user with its own condition from its own start and draws the paths on the map,
coloured by the user's persona, with both goals' bonus discs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import rewarddesign as rd
from rewarddesign.methods.plural.evaluation import load_users
from rewarddesign.wrappers.latent import LatentConditioned

TASK = "gridworld/two-goals"
GOALS = {"left": (0.15, 0.85), "right": (0.85, 0.85)}
COLOURS = {"left": "tab:blue", "right": "tab:orange"}
COMMON = {"reward_inputs": "obs_factors", "proportions": {"left": 0.8, "right": 0.2}}
RUNS = {
    "single reward": {"reward": "single", **COMMON},
    "EM mixture, conditioned policy": {"reward": "em", **COMMON},
}


def paths(folder: Path) -> list[tuple[str, np.ndarray]]:
    """``(persona, (T + 1, 2) positions)`` of each held-out user of a saved run."""
    personas, conditions = load_users(folder)
    env = rd.make(TASK)
    if conditions[0] is not None:
        env = LatentConditioned(env, np.zeros((1, len(conditions[0]))))
    model = rd.agents.load(folder / "model", env, device="cpu")
    out = []
    for user, (persona, condition) in enumerate(zip(personas, conditions, strict=True)):
        play = rd.make(TASK)
        obs, _ = play.reset(seed=1000 + user)
        seen, done = [obs], False
        while not done:
            x = obs if condition is None else np.concatenate([obs, condition]).astype(np.float32)
            obs, _, terminated, truncated, _ = play.step(model.predict(x, deterministic=True)[0])
            seen.append(obs)
            done = terminated or truncated
        out.append((persona, np.array(seen)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=int, default=50_000)
    parser.add_argument("--runs", type=Path, default=Path("runs/plural_figure"))
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/plural_two_goals_paths.png")
    )
    args = parser.parse_args()

    fig, axes = plt.subplots(1, len(RUNS), figsize=(4.2 * len(RUNS), 4.2))
    for ax, (title, params) in zip(axes, RUNS.items(), strict=True):
        folder = args.runs / f"{params['reward']}_s{args.seed}"
        if not (folder / "result.json").exists():
            rd.run(TASK, "plural", "ppo", seed=args.seed, budget=args.budget, eval_episodes=10,
                   save_dir=folder, method_params=params)  # fmt: skip
        for name, centre in GOALS.items():
            ax.add_patch(plt.Circle(centre, 0.1, color=COLOURS[name], alpha=0.2))
            ax.annotate(f"{name} goal", centre, ha="center", va="center", fontsize=8)
        for persona, xy in paths(folder):
            ax.plot(xy[:, 0], xy[:, 1], color=COLOURS[persona], alpha=0.6, lw=1)
        ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", title=title)
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [plt.Line2D([], [], color=c, label=f"{p} users") for p, c in COLOURS.items()]
    fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False)
    fig.suptitle("Two-goal GridWorld, 80% left / 20% right users: held-out users' paths")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(args.out)


if __name__ == "__main__":
    main()
