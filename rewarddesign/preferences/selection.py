"""Query selection: which pairs of a candidate batch to ask the teacher about.

Each rule picks ``m`` of ``n`` candidate pairs. ``disagreement`` and ``entropy`` need a
model with ``predict_proba(pairs) -> (members, n)``, the probability, per ensemble
member, that the first segment is preferred (the reward ensemble provides it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rewarddesign.common.checks import is_int
from rewarddesign.errors import ParameterError, unknown
from rewarddesign.preferences.segments import Pairs

RULES = ("uniform", "disagreement", "entropy")


def _scores(rule: str, pairs: Pairs, model: Any) -> np.ndarray:
    if model is None or not hasattr(model, "predict_proba"):
        raise ParameterError(f"query selection {rule!r} needs a model with predict_proba(pairs).")
    probs = np.asarray(model.predict_proba(pairs), dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != pairs.n:
        raise ParameterError(
            f"predict_proba returned shape {probs.shape}; expected (members, {pairs.n})."
        )
    if rule == "disagreement":
        return probs.std(axis=0)
    p = np.clip(probs.mean(axis=0), 1e-12, 1 - 1e-12)
    return -(p * np.log(p) + (1 - p) * np.log(1 - p))


def select_queries(
    pairs: Pairs,
    m: int,
    rule: str = "uniform",
    model: Any = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Indices of the ``m`` pairs to ask about.

    Args:
        pairs: The candidate batch.
        m: How many to pick (1 <= m <= pairs.n).
        rule: ``"uniform"`` (random, needs ``rng``), ``"disagreement"`` (largest std of
            P(first) over ensemble members) or ``"entropy"`` (largest entropy of the
            members' mean P(first)).
        model: For the model-based rules.
        rng: For ``"uniform"``.

    Returns:
        ``m`` distinct indices; for the model-based rules, best first (ties by index).
    """
    if rule not in RULES:
        raise unknown("query selection rule", rule, RULES)
    if not is_int(m) or not 1 <= m <= pairs.n:
        raise ParameterError(f"select {m!r} queries out of {pairs.n} candidates: need 1 <= m <= n.")
    if rule == "uniform":
        if rng is None:
            raise ParameterError("uniform query selection needs rng (a numpy Generator).")
        return rng.choice(pairs.n, size=m, replace=False)
    return np.argsort(-_scores(rule, pairs, model), kind="stable")[:m]
