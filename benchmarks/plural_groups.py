"""Issue 24's measured rows: each user group's return, raw and normalised, on a task
with personas (the two-goal GridWorld, HalfCheetah-v5).

Usage: python benchmarks/plural_groups.py [--store runs/plural.sqlite]
    [--task gridworld/two-goals] [--reps 2000] [--out FILE.md]

Reads the runs of ``--task`` in a plural grid's store (``rewarddesign bench
benchmarks/grids/plural_two_goals.yaml --store runs/plural.sqlite``, or
``plural_halfcheetah.yaml``). First each persona's median raw return: R, its held-out
users' mean return on that persona's reward, and R_random, a random policy's on the same
episodes. Then, once every persona has an ``oracle-<persona>`` run, a run's score for a
persona, ``(R - R_random) / (R_oracle - R_random)`` with R_oracle the mean of those
runs: per method each persona's median, the worst group's, the held-out assignment (EM,
VPL) and the wall time, the scores per seed, and P(worst group of X > worst group of
single) with its 95% CI (rliable), X each learned group method. Targets (two goals):
single's minority near 0; each group >= 0.8 for a conditioned policy; MaxMin's worst
group beats single's with P >= 0.75 and the CI above 0.5.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from rewarddesign.bench.stats import probability_of_improvement
from rewarddesign.bench.store import ResultsStore
from rewarddesign.errors import ParameterError
from rewarddesign.methods.plural.evaluation import RANDOM, RETURN, normalised_groups, worst_and_mean
from rewarddesign.task.registry import task_spec


def raw_table(runs: list, personas: list[str]) -> list[str]:
    """Per method, each persona's median R and R_random over its runs."""
    by_label: dict[str, list] = defaultdict(list)
    for label, r in runs:
        by_label[label].append(r)
    head = " | ".join(f"{p}: R | {p}: R_random" for p in personas)
    lines = [
        f"| method | seeds | {head} | wall s (median) |",
        "|---|---|" + "---|" * (2 * len(personas)) + "---|",
    ]
    for label, mine in by_label.items():
        cells = []
        for p in personas:
            for prefix in (RETURN, RANDOM):
                cells.append(f"{np.median([r.series[prefix + p][-1][1] for r in mine]):.1f}")
        seeds = ",".join(str(r.spec.seed) for r in mine)
        wall = np.median([r.wall_time for r in mine])
        lines.append(f"| {label} | {seeds} | {' | '.join(cells)} | {wall:.0f} |")
    return lines


def normalised_table(runs: list, personas: list[str], reps: int) -> list[str]:
    """Per method the median normalised score of each persona and of the worst group,
    the scores per seed and the probability of improvement over ``single``."""
    scores = normalised_groups(runs)
    head = " | ".join(f"{p} (median)" for p in personas)
    lines = [
        f"| method | seeds | {head} | worst group (median) | held-out assignment (median) |",
        "|---|---|" + "---|" * len(personas) + "---|---|",
    ]
    worst: dict[str, np.ndarray] = {}
    for label, per_persona in scores.items():
        mine = [r for lab, r in runs if lab == label]
        worst[label] = worst_and_mean(per_persona)[0]
        assigned = [
            r.series["heldout_assignment"][0][1] for r in mine if "heldout_assignment" in r.series
        ]
        cells = [f"{np.median(per_persona[p]):.2f}" for p in personas]
        seeds = ",".join(str(r.spec.seed) for r in mine)
        assignment = f"{np.median(assigned):.2f}" if assigned else "-"
        lines.append(
            f"| {label} | {seeds} | {' | '.join(cells)} | {np.median(worst[label]):.2f} | "
            f"{assignment} |"
        )
    lines += ["", f"Per seed ({', '.join(personas)}):", ""]
    for label, per_persona in scores.items():
        rows = zip(*(per_persona[p] for p in personas), strict=True)
        lines.append(
            f"- {label}: " + ", ".join(f"({', '.join(f'{v:.2f}' for v in row)})" for row in rows)
        )
    others = [x for x in worst if x != "single" and not x.startswith("oracle")]
    if "single" in worst and others and len(worst["single"]) > 1:
        points, cis = probability_of_improvement(
            [(x, "single") for x in others], {k: v[:, None] for k, v in worst.items()}, reps, 0
        )
        lines += ["", "P(worst group of X > worst group of single), 95% CI:", ""]
        for key, value in points.items():
            low, high = cis[key]
            lines.append(f"- {key}: {value:.2f} [{low:.2f}, {high:.2f}]")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="runs/plural.sqlite")
    parser.add_argument("--task", default="gridworld/two-goals")
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    personas = list(task_spec(args.task).personas)
    store = ResultsStore(args.store)
    runs = [(label, r) for label, r in store.results() if r.spec.task == args.task]
    runs.sort(key=lambda lr: (lr[0], lr[1].spec.seed))
    lines = [f"{args.task}: each group's return on its own persona's reward", ""]
    lines += raw_table(runs, personas)
    try:
        normalised = normalised_table(runs, personas, args.reps)
    except ParameterError as exc:  # a grid still running: no oracle of some persona yet
        normalised = [f"(no normalised scores yet: {exc})"]
    lines += ["", "Normalised (R - R_random) / (R_oracle - R_random):", "", *normalised]
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
