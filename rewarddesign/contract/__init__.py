"""The run contract, below the methods that use it: a :class:`RunSpec` (pure data) goes in,
a :class:`RunResult` comes out; the :class:`Evaluator` grades a policy on the true reward."""

from __future__ import annotations

from rewarddesign.contract.evaluation import EvalOutcome, Evaluator, Predict
from rewarddesign.contract.runspec import EvalPoint, EvalSpec, RunResult, RunSpec

__all__ = ["EvalOutcome", "EvalPoint", "EvalSpec", "Evaluator", "Predict", "RunResult", "RunSpec"]
