"""Export of a study's result: the tuned method parameters as a YAML document.

The document holds the best trial (or, with a cost objective, the Pareto front) in the
form ``rd.run(task, method, **doc["params"])`` and a grid's ``params: {weights: PATH}`` take.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.trial import TrialState

from rewarddesign.common.files import write_atomic
from rewarddesign.errors import SpecError
from rewarddesign.tuning.objective import Objective, TuneConfig
from rewarddesign.tuning.space import Dimension, suggest


def best_weights(study: optuna.Study) -> dict[str, Any]:
    """The best trial's method parameters as a YAML-ready document.

    Single objective: the best trial. Multi-objective: the Pareto front (``pareto``),
    with the front's highest-return trial at the top level.
    """
    attrs = study.user_attrs.get("rewarddesign")
    if not attrs:
        raise SpecError(f"study {study.study_name!r} was not created by rewarddesign tune.")
    config = TuneConfig(
        **{
            **attrs,
            "space": tuple(Dimension(**d) for d in attrs["space"]),
            "seeds": tuple(attrs["seeds"]),
        }
    )
    objective = Objective(config)
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    if not done:
        raise SpecError(f"study {study.study_name!r} has no complete trial yet.")

    def entry(t: optuna.trial.FrozenTrial) -> dict[str, Any]:
        weights, params = suggest(optuna.trial.FixedTrial(t.params), config.space)
        return {
            "trial": t.number,
            "values": [float(v) for v in t.values],
            "params": objective.method_params(weights, params),
        }

    front = [entry(t) for t in study.best_trials]
    top = max(front, key=lambda e: e["values"][0])
    doc = {
        "task": config.task,
        "method": config.method,
        "study": study.study_name,
        "objectives": ["final true return"]
        + ([f"{config.cost} episode sum"] if config.cost else []),
        **top,
    }
    if config.cost is not None:
        doc["pareto"] = front
    return doc


def write_best(study: optuna.Study, path: str | Path) -> dict[str, Any]:
    """Write :func:`best_weights` as YAML (atomically); ``rd.run(task, method, **doc["params"])``
    and a grid's ``params: {weights: PATH}`` take it."""
    doc = best_weights(study)
    write_atomic(path, yaml.safe_dump(doc, sort_keys=False))
    return doc


__all__ = ["best_weights", "write_best"]
