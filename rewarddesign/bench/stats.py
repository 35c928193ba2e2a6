"""Statistics of benchmark results (rliable): IQM, stratified-bootstrap CIs, optimality
gap, probability of improvement, performance profiles.

Score arrays follow rliable's layout: ``(runs, tasks)`` for final scores and ``(runs,
tasks, steps)`` for curves. Every bootstrap takes an explicit seed. rliable's stratified
bootstrap draws its resamples from numpy's *global* generator (and arch's from the
``random_state`` it is given), so each call here seeds both; a report is then
reproducible number for number.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
from rliable import library as rly
from rliable import metrics

CONFIDENCE = 0.95


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean over all entries: the mean of the middle 50% (25% trimmed each side)."""
    return float(metrics.aggregate_iqm(np.asarray(scores, dtype=np.float64)))


def seeded(seed: int) -> np.random.RandomState:
    """Seed numpy's global generator (rliable's resampling) and return a RandomState."""
    np.random.seed(seed)
    return np.random.RandomState(seed)


def interval_estimates(
    score_dict: dict[str, np.ndarray], func, reps: int, seed: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Point estimates and 95% stratified-bootstrap CIs (rliable, percentile method)."""
    with _quiet():
        return rly.get_interval_estimates(
            score_dict,
            func,
            reps=reps,
            confidence_interval_size=CONFIDENCE,
            random_state=seeded(seed),
        )


def interval_estimates_each(
    score_dict: dict[str, np.ndarray], func, reps: int, seed: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """:func:`interval_estimates` of each entry on its own, every one with ``seed``.

    rliable draws the resamples of a dict's entries one after another from one
    generator, so an entry's interval would depend on the entries before it; bootstrapped
    alone, it depends on its own scores only (what a table cell needs).

    Example:
        >>> a, b = np.arange(8.0).reshape(4, 2), np.ones((3, 2))
        >>> _, alone = interval_estimates_each({"a": a}, mean_and_iqm, reps=50, seed=1)
        >>> _, both = interval_estimates_each({"b": b, "a": a}, mean_and_iqm, reps=50, seed=1)
        >>> bool((alone["a"] == both["a"]).all())
        True
    """
    points, cis = {}, {}
    for key, scores in score_dict.items():
        p, c = interval_estimates({key: scores}, func, reps, seed)
        points[key], cis[key] = p[key], c[key]
    return points, cis


def mean_and_iqm(scores: np.ndarray) -> np.ndarray:
    """``[mean, IQM]`` of a score array (a func for :func:`interval_estimates`)."""
    return np.array([metrics.aggregate_mean(scores), iqm(scores)])


def iqm_and_gap(scores: np.ndarray) -> np.ndarray:
    """``[IQM, optimality gap]`` of normalised scores."""
    return np.array([metrics.aggregate_iqm(scores), metrics.aggregate_optimality_gap(scores)])


def iqm_per_step(scores: np.ndarray) -> np.ndarray:
    """IQM at each step of ``(runs, tasks, steps)`` scores."""
    return np.array([metrics.aggregate_iqm(scores[..., t]) for t in range(scores.shape[-1])])


def probability_of_improvement(
    pairs: Sequence[tuple[str, str]], score_dict: dict[str, np.ndarray], reps: int, seed: int
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """P(X > Y) for each ``(X, Y)`` pair, with 95% CIs ``[low, high]``; keys are ``"X vs Y"``."""
    pair_scores = {f"{x} vs {y}": (score_dict[x], score_dict[y]) for x, y in pairs}
    with _quiet():
        points, cis = rly.get_interval_estimates(
            pair_scores,
            metrics.probability_of_improvement,
            reps=reps,
            confidence_interval_size=CONFIDENCE,
            random_state=seeded(seed),
        )
    return {k: float(v) for k, v in points.items()}, {k: np.ravel(v) for k, v in cis.items()}


def performance_profiles(
    score_dict: dict[str, np.ndarray], taus: np.ndarray, reps: int, seed: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Score distributions (fraction of runs above tau) with 95% CIs."""
    with _quiet():
        seeded(seed)  # rliable's profile bootstrap takes no random_state
        return rly.create_performance_profile(score_dict, taus, reps=reps)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # arch warns that rliable still passes `random_state`; that is rliable's to change.
    # The global generator's state is restored afterwards: seeding it is rliable's need,
    # not a side effect callers should see.
    state = np.random.get_state()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        np.random.set_state(state)
