"""Held-out users assigned to their group by the EM mixture and by VPL (two-goal GridWorld).

Usage: python benchmarks/population_assignment.py [--seeds 0 1 2 3 4] [--users 20]
    [--pairs 50] [--held-out 20] [--held-out-pairs 8] [--out FILE]

Per seed: 20k steps of drifting random walks on ``gridworld/two-goals`` (each episode a
random direction plus noise, so segments reach both goals), cut into 25-step segments;
a population of users, 80% ``left`` and 20% ``right``, each labelling its own pairs; an
EM mixture (K = 2) and a VPL model (latent 2) fitted on them. Then held-out users (half
of each persona) give 8 labels each: EM assigns them by the E-step, VPL by the nearest
centre of the training users' latents per persona. A held-out user counts as right
when it lands on its persona's group (for EM: the cluster most of that persona's
training users are in). Prints accuracies per seed and their median, and the fit
times. Target (the Pluralistic preferences issue): >= 90%.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

import rewarddesign as rd
from rewarddesign.models import EnsembleConfig
from rewarddesign.models.mixture import RewardMixture
from rewarddesign.models.vpl import LatentRewardConfig, LatentRewardModel
from rewarddesign.models.vpl_training import fit_vpl
from rewarddesign.preferences import cut_segments, rollout
from rewarddesign.preferences.population import TeacherPopulation

TASK = "gridworld/two-goals"


class Drift:
    """Behaviour policy of the offline data: per episode a random direction, plus noise."""

    def __init__(self, rng: np.random.Generator, horizon: int) -> None:
        self.rng, self.horizon, self.t, self.d = rng, horizon, 0, np.zeros(2)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        if self.t % self.horizon == 0:
            self.d = self.rng.uniform(-1, 1, 2)
        self.t += 1
        return np.clip(self.d + self.rng.normal(0, 0.5, 2), -1, 1).astype(np.float32)


def one_seed(seed: int, args: argparse.Namespace) -> dict:
    env = rd.make(TASK)
    rng = np.random.default_rng(seed)
    traj = rollout(env, Drift(rng, rd.task_spec(TASK).horizon), 20_000, seed=seed)
    segments = cut_segments(traj, H=25)
    train = TeacherPopulation(TASK, {"left": 0.8, "right": 0.2}, users=args.users)
    data = train.label(segments, args.pairs, rng)
    held = TeacherPopulation(TASK, {"left": 0.5, "right": 0.5}, users=args.held_out)
    held_data = held.label(segments, args.held_out_pairs, rng)
    truth = held.groups()
    spaces = (env.observation_space, env.action_space)

    start = time.perf_counter()
    mixture = RewardMixture.for_spaces(*spaces, clusters=2, device="cpu", hidden=(64, 64))
    fit = mixture.fit(data, seed=seed)
    em_s = time.perf_counter() - start
    groups = train.groups()
    cluster_of = [np.bincount(fit.assignments[groups == g], minlength=2).argmax() for g in (0, 1)]
    em = [mixture.assign(*held_data.of_labeller(u)) for u in range(args.held_out)]
    em_acc = float(np.mean([em[u] == cluster_of[truth[u]] for u in range(args.held_out)]))

    start = time.perf_counter()
    steps = EnsembleConfig.for_spaces(*spaces, members=1, seed=seed)
    vpl = LatentRewardModel(
        LatentRewardConfig(steps, latent_dim=2, hidden=(64, 64), encoder_hidden=(64, 64)), "cpu"
    )
    vfit = fit_vpl(vpl, data, steps=1500, seed=seed)
    vpl_s = time.perf_counter() - start
    centres = np.stack([vfit.latents[groups == g].mean(0) for g in (0, 1)])
    z = np.stack([vpl.infer(*held_data.of_labeller(u)) for u in range(args.held_out)])
    nearest = ((z[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
    vpl_acc = float((nearest == truth).mean())
    train_right = float(
        np.mean([fit.assignments[u] == cluster_of[g] for u, g in enumerate(groups)])
    )
    return {
        "seed": seed,
        "em_train_assignment": train_right,
        "em_heldout_accuracy": em_acc,
        "vpl_heldout_accuracy": vpl_acc,
        "vpl_label_accuracy": vfit.accuracy,
        "em_fit_s": em_s,
        "vpl_fit_s": vpl_s,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--pairs", type=int, default=50, help="labelled pairs per training user")
    p.add_argument("--held-out", type=int, default=20)
    p.add_argument("--held-out-pairs", type=int, default=8)
    p.add_argument("--out", default=None, help="also write the rows as JSON lines here")
    args = p.parse_args()
    rows = [one_seed(s, args) for s in args.seeds]
    print(
        f"{TASK}: {args.users} users (80% left, 20% right), {args.pairs} pairs each; "
        f"{args.held_out} held-out users (50/50), {args.held_out_pairs} pairs each"
    )
    print("| seed | EM train users right | EM held-out | VPL held-out | EM fit s | VPL fit s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['seed']} | {r['em_train_assignment']:.2f} | {r['em_heldout_accuracy']:.2f} | "
            f"{r['vpl_heldout_accuracy']:.2f} | {r['em_fit_s']:.1f} | {r['vpl_fit_s']:.1f} |"
        )
    for key in ("em_heldout_accuracy", "vpl_heldout_accuracy"):
        print(f"median {key}: {statistics.median(r[key] for r in rows):.2f}")
    if args.out:
        with open(args.out, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)


if __name__ == "__main__":
    main()
