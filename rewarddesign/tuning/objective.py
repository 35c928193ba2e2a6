"""The trial objective: a trial's short runs on the tuning seeds, and its pruning reports.

:class:`TuneConfig` is everything a worker needs to run trials, as plain data so it can
go to a spawned process and be stored with the study; :class:`Objective` scores a trial.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import optuna

from rewarddesign.contract.runspec import EvalPoint
from rewarddesign.experiment.runner import run
from rewarddesign.tuning.space import Dimension, suggest


@dataclass(frozen=True)
class TuneConfig:
    """What a worker needs to run trials (plain data, so it can go to another process)."""

    task: str
    method: str
    agent: str
    budget: int
    seeds: tuple[int, ...]
    space: tuple[Dimension, ...]
    fixed_params: dict[str, Any] = field(default_factory=dict)
    agent_preset: str | None = None
    agent_overrides: dict[str, Any] = field(default_factory=dict)
    eval_every: int | None = None
    eval_episodes: int = 5
    cost: str | None = None
    device: str = "auto"

    def study_attrs(self) -> dict[str, Any]:
        """What makes two studies the same search (stored with the study)."""
        attrs = asdict(self)
        attrs.pop("device")
        attrs["space"] = [d.stored() for d in self.space]
        return json.loads(json.dumps(attrs))  # tuples -> lists, as stored


class Objective:
    """The study's objective: mean final true return over the tuning seeds (and, with a
    cost factor, its mean final episode sum)."""

    def __init__(self, config: TuneConfig) -> None:
        self.config = config

    def method_params(self, weights: dict, params: dict) -> dict[str, Any]:
        out = {**self.config.fixed_params, **params}
        if weights:
            out["weights"] = weights
        return out

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        c = self.config
        weights, params = suggest(trial, c.space)
        method_params = self.method_params(weights, params)
        finals, costs = [], []
        for k, seed in enumerate(c.seeds):

            def on_eval(point: EvalPoint, k: int = k, seed: int = seed) -> None:
                if c.cost is not None:
                    return
                trial.report((sum(finals) + point.mean_return) / (k + 1), k * c.budget + point.step)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at seed {seed}, step {point.step}")

            result = run(
                c.task,
                c.method,
                c.agent,
                seed,
                c.budget,
                agent_preset=c.agent_preset,
                agent_overrides=c.agent_overrides,
                eval_every=c.eval_every,
                eval_episodes=c.eval_episodes,
                device=c.device,
                on_eval=on_eval,
                method_params=method_params,
            )
            finals.append(result.final_return)
            if c.cost is not None:
                costs.append(result.curve[-1].factors[c.cost])
        trial.set_user_attr("final_returns", finals)
        if c.cost is not None:
            return float(np.mean(finals)), float(np.mean(costs))
        return float(np.mean(finals))


__all__ = ["Objective", "TuneConfig"]
