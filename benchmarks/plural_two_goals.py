"""Issue 24's measured rows: each user group's normalised return on the two-goal GridWorld.

Usage: python benchmarks/plural_two_goals.py [--store runs/plural.sqlite]
    [--reps 2000] [--out FILE.md]

Reads the ``plural_two_goals`` grid's runs (``rewarddesign bench
benchmarks/grids/plural_two_goals.yaml --store runs/plural.sqlite``). A run's score for a
persona is ``(R - R_random) / (R_oracle - R_random)``: R its held-out users' mean return
on that persona's reward, R_random a random policy's on the same episodes, R_oracle the
mean of the ``oracle-<persona>`` runs. Prints, per method, each persona's median score,
the worst group's, the held-out assignment (EM, VPL) and the wall time; then
P(worst group of X > worst group of single) with its 95% CI (rliable), X each learned
group method. Targets: single's minority near 0; each group >= 0.8 for a conditioned
policy; MaxMin's worst group beats single's with P >= 0.75 and the CI above 0.5.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from rewarddesign.bench.stats import probability_of_improvement
from rewarddesign.bench.store import ResultsStore
from rewarddesign.methods.plural.evaluation import normalised_groups, worst_and_mean

TASK = "gridworld/two-goals"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="runs/plural.sqlite")
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    store = ResultsStore(args.store)
    runs = [(label, r) for label, r in store.results() if r.spec.task == TASK]
    runs.sort(key=lambda lr: (lr[0], lr[1].spec.seed))
    scores = normalised_groups(runs)
    lines = [
        "| method | seeds | " + " | ".join(f"{p} (median)" for p in ("left", "right")) + " | "
        "worst group (median) | held-out assignment (median) | wall s (median) |",
        "|---|---|---|---|---|---|---|",
    ]
    worst: dict[str, np.ndarray] = {}
    for label, per_persona in scores.items():
        mine = [r for lab, r in runs if lab == label]
        worst[label] = worst_and_mean(per_persona)[0]
        assigned = [
            r.series["heldout_assignment"][0][1] for r in mine if "heldout_assignment" in r.series
        ]
        cells = [f"{np.median(per_persona[p]):.2f}" for p in ("left", "right")]
        seeds = ",".join(str(r.spec.seed) for r in mine)
        assignment = f"{np.median(assigned):.2f}" if assigned else "-"
        wall = np.median([r.wall_time for r in mine])
        lines.append(
            f"| {label} | {seeds} | {' | '.join(cells)} | {np.median(worst[label]):.2f} | "
            f"{assignment} | {wall:.0f} |"
        )
    lines += ["", "Per seed (left, right):", ""]
    for label, per_persona in scores.items():
        pairs = zip(per_persona["left"], per_persona["right"], strict=True)
        lines.append(f"- {label}: " + ", ".join(f"({a:.2f}, {b:.2f})" for a, b in pairs))
    others = [x for x in worst if x != "single" and not x.startswith("oracle")]
    if "single" in worst and others:
        points, cis = probability_of_improvement(
            [(x, "single") for x in others],
            {k: v[:, None] for k, v in worst.items()},
            args.reps,
            0,
        )
        lines += ["", "P(worst group of X > worst group of single), 95% CI:", ""]
        for key, value in points.items():
            low, high = cis[key]
            lines.append(f"- {key}: {value:.2f} [{low:.2f}, {high:.2f}]")
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
