"""A tuned blend against the task's default weights on fresh seeds (issue 11).

Usage: python benchmarks/tune_blend.py [--storage runs/tune-bench.sqlite]
       [--store runs/tune-bench-eval.sqlite] [--trials 40] [--workers 2]
       [--budget 10000] [--smoke] [--out benchmarks/results/tune_blend.md]

1. Tunes the factor weights of ``blend`` on Pendulum-v1 (SAC, the `fast` preset with four
   env steps then four gradient steps, ``budget`` steps, one tuning seed per trial from
   1000 up, TPE seeded from 0 and the worker id ``bench`` (reproducible from an empty study), median
   pruning, ``workers`` local workers on one SQLite study).
   The study is resumable: a rerun completes it.
2. Writes the best weights (``runs/tune-bench-weights.yaml``).
3. Trains ``blend`` with the default weights (the task's own reward) and with the tuned
   ones on fresh seeds 0-4 (a grid into a results store, resumable) and prints IQM and
   mean final true return with 95% bootstrap CIs, P(tuned > default) and wall times.

Target: the tuned weights' IQM is higher and P(improvement) >= 0.7, with at most 40
trials in about 60 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import yaml

import rewarddesign as rd
from rewarddesign.bench import LocalProcessExecutor, ResultsStore, load_grid, run_grid, stats
from rewarddesign.common.files import write_atomic
from rewarddesign.tuning import write_best

TASK = "classic/Pendulum-v1"
AGENT = {
    "agent": "sac",
    "agent_preset": "fast",
    "agent_overrides": {"train_freq": 4, "gradient_steps": 4},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default="runs/tune-bench.sqlite")
    parser.add_argument("--store", default="runs/tune-bench-eval.sqlite")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--budget", type=int, default=10_000)
    parser.add_argument("--smoke", action="store_true", help="2 trials, 2 seeds, 600 steps")
    parser.add_argument("--out", help="also write the table (markdown) here")
    args = parser.parse_args()
    trials, budget, seeds = args.trials, args.budget, [0, 1, 2, 3, 4]
    if args.smoke:
        trials, budget, seeds = 2, 600, [0, 1]
    start = time.perf_counter()
    study = rd.tune(
        TASK,
        "blend",
        trials,
        budget=budget,
        storage=args.storage,
        study=f"bench-{budget}",
        workers=args.workers,
        worker_id="bench",  # the default (host:pid) would draw other trials each time
        eval_every=budget // 10,
        **AGENT,
    )
    tune_time = time.perf_counter() - start
    weights_file = Path(args.storage).with_name(Path(args.storage).stem + "-weights.yaml")
    best = write_best(study, weights_file)

    grid_file = weights_file.with_name(weights_file.stem + "-grid.yaml")
    write_atomic(
        grid_file,
        yaml.safe_dump(
            {
                "name": "tune-blend-eval",
                "seeds": seeds,
                "budget": budget,
                **AGENT,
                "eval": {"every": budget // 10, "episodes": 5},
                "tasks": [TASK],
                "methods": [
                    {"method": "blend", "label": "default"},
                    {
                        "method": "blend",
                        "label": "tuned",
                        "params": {"weights": best["params"]["weights"]},
                    },
                ],
            },
            sort_keys=False,
        ),
    )
    grid = load_grid(grid_file)
    start = time.perf_counter()
    results = run_grid(grid, ResultsStore(args.store), LocalProcessExecutor(args.workers, "cpu"))
    eval_time = time.perf_counter() - start
    finals = {
        label: np.array([[r.final_return] for lab, r in results if lab == label])
        for label in ("default", "tuned")
    }
    points, cis = stats.interval_estimates(finals, stats.mean_and_iqm, 2000, 0)
    p_imp, p_ci = stats.probability_of_improvement([("tuned", "default")], finals, 2000, 0)
    states = [t.state.name for t in study.trials]
    lines = [
        f"Study `bench-{budget}` in {args.storage}: {len(states)} trials "
        f"({states.count('COMPLETE')} complete, {states.count('PRUNED')} pruned), "
        f"best trial {best['trial']} (tuning seed mean {best['values'][0]:.1f}); "
        f"wall time in this invocation: tuning {tune_time:.0f} s, evaluation {eval_time:.0f} s.",
        "",
        f"Tuned weights: {best['params']['weights']}",
        "",
        "| weights | seeds | final true return per seed | IQM [95% CI] | mean [95% CI] |",
        "| --- | ---: | --- | --- | --- |",
    ]
    for label in ("default", "tuned"):
        per_seed = " ".join(f"{x:.1f}" for x in finals[label][:, 0])
        lines.append(
            f"| {label} | {len(finals[label])} | {per_seed} | {points[label][1]:.1f} "
            f"[{cis[label][0, 1]:.1f}, {cis[label][1, 1]:.1f}] | {points[label][0]:.1f} "
            f"[{cis[label][0, 0]:.1f}, {cis[label][1, 0]:.1f}] |"
        )
    key = "tuned vs default"
    lines += ["", f"P(tuned > default) = {p_imp[key]:.2f} [{p_ci[key][0]:.2f}, {p_ci[key][1]:.2f}]"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        write_atomic(args.out, text + "\n")


if __name__ == "__main__":
    main()
