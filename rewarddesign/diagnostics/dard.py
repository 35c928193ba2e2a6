"""DARD (Wulfe et al. 2022): EPIC with the expectations taken where the dynamics go, so a
learned reward is judged on transitions the task can make.

For a transition ``(s, a, s')`` and ``m`` coverage actions ``A_j``, with
``S'_j = T(s, A_j)`` and ``S''_j = T(s', A_j)`` from the task's own dynamics
(:func:`rewarddesign.task.dynamics.dynamics`),

    C(R)(s, a, s') = R(s, a, s') + mean_j[gamma R(s', A_j, S''_j) - R(s, A_j, S'_j)
                                          - gamma R(S'_j, A_j, S''_j)],

and the distance is the Pearson distance of canonical rewards, as EPIC's. Each sample's
shaping terms cancel exactly (the same ``A_j``, ``S'_j`` and ``S''_j`` in all three).
``3 n m`` reward calls and ``2 n m`` dynamics steps per reward, in chunks.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rewarddesign.common.checks import check_int, check_number
from rewarddesign.diagnostics.epic import (
    DistanceMatrix,
    RewardFn,
    Transitions,
    _call,
    distance_matrix,
)
from rewarddesign.errors import ParameterError
from rewarddesign.task.dynamics import Step


def _tile(x: np.ndarray, k: int) -> np.ndarray:
    return np.tile(x, (k,) + (1,) * (x.ndim - 1))


def neighbours(
    transitions: Transitions, actions: np.ndarray, step: Step, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(s, s', A, S', S'')`` repeated per coverage action: ``n m`` rows each."""
    n, m = len(transitions), len(actions)
    s = np.repeat(transitions.obs, m, axis=0)
    s2 = np.repeat(transitions.next_obs, m, axis=0)
    a = _tile(actions, n)
    return s, s2, a, step(s, a, rng), step(s2, a, rng)


def dard_canonicalize(
    rewards: Mapping[str, RewardFn],
    transitions: Transitions,
    actions: np.ndarray,
    step: Step,
    gamma: float,
    rng: np.random.Generator,
    chunk: int = 1 << 18,
) -> dict[str, np.ndarray]:
    """DARD's canonical rewards of every reward at each transition (the same dynamics
    samples for all rewards), ``{name: (n,)}``."""
    gamma = check_number(gamma, "gamma", 0.0, 1.0)
    chunk = check_int(chunk, "chunk", 1)
    m = len(actions)
    if m < 1:
        raise ParameterError("DARD needs at least 1 coverage action.")
    n = len(transitions)
    out = {name: np.empty(n) for name in rewards}
    per = max(1, chunk // m)
    for start in range(0, n, per):
        t = transitions.take(slice(start, start + per))
        k = len(t)
        s, s2, a, s_next, s2_next = neighbours(t, actions, step, rng)
        for name, fn in rewards.items():
            here = _call(fn, name, t.obs, t.actions, t.next_obs)
            ahead = _call(fn, name, s2, a, s2_next).reshape(k, m).mean(axis=1)
            from_here = _call(fn, name, s, a, s_next).reshape(k, m).mean(axis=1)
            between = _call(fn, name, s_next, a, s2_next).reshape(k, m).mean(axis=1)
            out[name][start : start + k] = here + gamma * ahead - from_here - gamma * between
    return out


def dard(
    rewards: Mapping[str, RewardFn],
    transitions: Transitions,
    actions: np.ndarray,
    step: Step,
    gamma: float,
    rng: np.random.Generator,
    *,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    chunk: int = 1 << 18,
) -> DistanceMatrix:
    """DARD distances between every pair of ``rewards``.

    Args:
        rewards: Batched rewards by name (at least 2).
        transitions: The transitions the distance is over (at least 2).
        actions: Coverage actions ``A_j``.
        step: The task's batched dynamics.
        gamma: The discount of the shaping the distance ignores.
        rng: For stochastic dynamics and the bootstrap.
        bootstrap: Bootstrap resamples for the intervals.
        confidence: Their level.
        chunk: Reward calls per batch.

    Example:
        >>> import numpy as np
        >>> from rewarddesign.task.dynamics import DYNAMICS
        >>> rng = np.random.default_rng(0)
        >>> th = rng.uniform(-3, 3, 200)
        >>> s = np.stack([np.cos(th), np.sin(th), rng.uniform(-8, 8, 200)], 1)
        >>> a = rng.uniform(-2, 2, (200, 1))
        >>> t = Transitions(s, a, DYNAMICS["Pendulum-v1"](s, a, rng))
        >>> r = lambda s, a, s2: -(s[:, 2] ** 2) - a[:, 0] ** 2
        >>> shaped = lambda s, a, s2: r(s, a, s2) + 0.99 * s2[:, 0] - s[:, 0]
        >>> m = dard({"r": r, "shaped": shaped}, t, a[:16], DYNAMICS["Pendulum-v1"], 0.99,
        ...          rng, bootstrap=20)
        >>> round(m.get("r", "shaped"), 6)
        0.0
    """
    if len(rewards) < 2:
        raise ParameterError(f"DARD compares 2 or more rewards, got {list(rewards)}.")
    if len(transitions) < 2:
        raise ParameterError(f"DARD needs 2 or more transitions, got {len(transitions)}.")
    canonical = dard_canonicalize(rewards, transitions, actions, step, gamma, rng, chunk)
    return distance_matrix(
        canonical,
        rng,
        bootstrap=bootstrap,
        confidence=confidence,
        samples=len(actions),
        gamma=float(gamma),
        kind="dard",
    )
