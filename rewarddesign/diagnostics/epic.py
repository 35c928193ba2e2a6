"""EPIC (Gleave et al. 2021): the distance between two rewards that ignores potential
shaping and positive scaling, from samples, without training an agent.

A reward is canonicalised with a coverage distribution ``D_S`` of states and ``D_A`` of
actions,

    C(R)(s, a, s') = R(s, a, s') + E[gamma R(s', A, S') - R(s, A, S') - gamma R(S, A, S')],

with ``S, S' ~ D_S`` and ``A ~ D_A`` independent; every shaping term
``gamma Phi(s') - Phi(s)`` becomes a constant there. The distance of two rewards is the
Pearson distance ``sqrt((1 - rho) / 2)`` of their canonical rewards over transitions,
in [0, 1]: 0 for the same reward up to shaping and scale, 1 for its negation.

The expectations are means over ``m`` coverage triples ``(S_j, A_j, S'_j)`` drawn once
and shared by every reward and every transition (so shaping cancels exactly, not only in
expectation); each transition's ``E[R(x, A, S')]`` evaluates the reward on the ``m``
pairs ``(A_j, S'_j)``: ``2 n m`` reward calls per reward, in chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from rewarddesign.common.checks import check_int, check_number, check_probability
from rewarddesign.errors import ParameterError, SpaceMismatchError

RewardFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""A batched reward: ``(obs (n, ...), actions (n, ...), next_obs (n, ...)) -> (n,)``."""


@dataclass(frozen=True)
class Transitions:
    """``n`` transitions ``(obs, actions, next_obs)`` with the same leading size.

    Example:
        >>> t = Transitions(np.zeros((4, 3)), np.zeros((4, 1)), np.ones((4, 3)))
        >>> len(t)
        4
    """

    obs: np.ndarray
    actions: np.ndarray
    next_obs: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.obs)
        if len(self.actions) != n or len(self.next_obs) != n:
            raise SpaceMismatchError(
                f"transitions need as many actions and next observations as observations; "
                f"got {n} observations, {len(self.actions)} actions, "
                f"{len(self.next_obs)} next observations."
            )
        if np.shape(self.obs)[1:] != np.shape(self.next_obs)[1:]:
            raise SpaceMismatchError(
                f"observations {np.shape(self.obs)[1:]} and next observations "
                f"{np.shape(self.next_obs)[1:]} differ in shape; give both of one task."
            )

    def __len__(self) -> int:
        return len(self.obs)

    def take(self, idx: np.ndarray | slice) -> Transitions:
        """The transitions at ``idx``."""
        return Transitions(self.obs[idx], self.actions[idx], self.next_obs[idx])


@dataclass(frozen=True)
class Coverage:
    """Coverage samples: ``m`` triples ``(S_j, A_j, S'_j)`` drawn independently.

    Build it with :func:`draw_coverage` from states and actions of your choice (a
    trajectory file's, a rollout's, uniform actions).
    """

    states: np.ndarray
    actions: np.ndarray
    next_states: np.ndarray

    def __post_init__(self) -> None:
        Transitions(self.states, self.actions, self.next_states)  # the same checks
        if len(self.states) < 1:
            raise ParameterError("coverage needs at least 1 sample.")


def draw_coverage(
    states: np.ndarray, actions: np.ndarray, samples: int, rng: np.random.Generator
) -> Coverage:
    """``samples`` coverage triples: ``S`` and ``S'`` drawn independently (with
    replacement) from ``states``, ``A`` from ``actions``.

    Raises:
        ParameterError: ``samples`` < 1, or no states or actions to draw from.
    """
    samples = check_int(samples, "coverage samples", 1)
    if len(states) < 1 or len(actions) < 1:
        raise ParameterError(
            f"coverage needs states and actions to draw from; got {len(states)} states and "
            f"{len(actions)} actions."
        )
    i, j, k = (rng.integers(n, size=samples) for n in (len(states), len(actions), len(states)))
    return Coverage(np.asarray(states)[i], np.asarray(actions)[j], np.asarray(states)[k])


def _call(reward: RewardFn, name: str, obs, actions, next_obs) -> np.ndarray:
    out = np.asarray(reward(obs, actions, next_obs), dtype=np.float64)
    if out.shape != (len(obs),):
        raise ParameterError(
            f"reward {name!r} returned shape {out.shape} for {len(obs)} transitions; a "
            "reward must return one value per transition, (n,)."
        )
    if not np.isfinite(out).all():
        raise ParameterError(f"reward {name!r} returned NaN or inf; check its inputs.")
    return out


def mean_over_coverage(
    reward: RewardFn, states: np.ndarray, coverage: Coverage, name: str, chunk: int
) -> np.ndarray:
    """``E_j[R(x, A_j, S'_j)]`` for every state ``x`` in ``states``: ``(len(states),)``.

    A reward with a ``mean_over(states, actions, next_states)`` method (a reward model's
    adapter) computes it its own, faster way; others are called on the pairs in chunks.
    """
    fast = getattr(reward, "mean_over", None)
    if fast is not None:
        out = np.asarray(fast(states, coverage.actions, coverage.next_states), dtype=np.float64)
        if out.shape != (len(states),) or not np.isfinite(out).all():
            raise ParameterError(f"reward {name!r} gave non-finite or misshapen expectations.")
        return out
    m = len(coverage.states)
    per = max(1, chunk // m)  # states per call: per * m rows
    out = np.empty(len(states), dtype=np.float64)
    for start in range(0, len(states), per):
        x = states[start : start + per]
        k = len(x)
        obs = np.repeat(x, m, axis=0)
        act = np.tile(coverage.actions, (k,) + (1,) * (coverage.actions.ndim - 1))
        nxt = np.tile(coverage.next_states, (k,) + (1,) * (coverage.next_states.ndim - 1))
        out[start : start + k] = _call(reward, name, obs, act, nxt).reshape(k, m).mean(axis=1)
    return out


def canonicalize(
    reward: RewardFn,
    transitions: Transitions,
    coverage: Coverage,
    gamma: float,
    name: str = "reward",
    chunk: int = 1 << 20,
) -> np.ndarray:
    """EPIC's canonical reward ``C(R)`` at each transition, ``(n,)``.

    Args:
        reward: The batched reward.
        transitions: Where to evaluate it.
        coverage: The coverage triples (:func:`draw_coverage`).
        gamma: The discount, in [0, 1].
        name: The reward's name, for messages.
        chunk: Reward calls per batch (bounds memory).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> s, a, s2 = rng.normal(size=(5, 2)), rng.normal(size=(5, 1)), rng.normal(size=(5, 2))
        >>> t = Transitions(s, a, s2)
        >>> cov = draw_coverage(t.obs, t.actions, 8, rng)
        >>> r = lambda s, a, s2: s[:, 0] + a[:, 0]
        >>> shaped = lambda s, a, s2: r(s, a, s2) + 0.9 * s2[:, 1] ** 2 - s[:, 1] ** 2
        >>> c1 = canonicalize(r, t, cov, 0.9)
        >>> c2 = canonicalize(shaped, t, cov, 0.9)
        >>> bool(np.ptp(c2 - c1) < 1e-12)  # shaping became a constant
        True
    """
    gamma = check_number(gamma, "gamma", 0.0, 1.0)
    chunk = check_int(chunk, "chunk", 1)
    n = len(transitions)
    here = _call(reward, name, transitions.obs, transitions.actions, transitions.next_obs)
    states = np.concatenate([transitions.obs, transitions.next_obs])
    # a trajectory's next state is the next transition's state: each distinct state once
    flat = states.reshape(len(states), -1) if states.ndim > 1 else states[:, None]
    _, first, inverse = np.unique(flat, axis=0, return_index=True, return_inverse=True)
    g = mean_over_coverage(reward, states[first], coverage, name, chunk)[inverse.reshape(-1)]
    g_obs, g_next = g[:n], g[n:]
    mean = _call(reward, name, coverage.states, coverage.actions, coverage.next_states).mean()
    return here + gamma * g_next - g_obs - gamma * mean


def pearson_distance(x: np.ndarray, y: np.ndarray, names: tuple[str, str] = ("x", "y")) -> float:
    """``sqrt((1 - rho) / 2)`` of two samples, in [0, 1].

    Raises:
        ParameterError: Fewer than 2 values, or a constant sample (rho is undefined: a
            reward that is constant after canonicalisation is a pure shaping term).

    Example:
        >>> round(pearson_distance(np.array([1.0, 2.0, 3.0]), np.array([-3.0, -4.0, -5.0])), 9)
        1.0
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 2 or len(x) != len(y):
        raise ParameterError(
            f"a Pearson distance needs 2 or more paired values, got {len(x)} and {len(y)}."
        )
    spreads = []
    for v, name in ((x, names[0]), (y, names[1])):
        centred = v - v.mean()
        spread = float(np.sqrt(centred @ centred))
        # constant up to rounding: the spread of float64 noise on values of this size
        if not spread > 1e-9 * max(1.0, float(np.abs(v).max())) * np.sqrt(len(v)):
            raise ParameterError(
                f"reward {name!r} is constant on these transitions after canonicalisation "
                "(a constant or a pure shaping term), so its EPIC distance is undefined; "
                "compare rewards that vary, or sample transitions where it does."
            )
        spreads.append((centred, spread))
    (x, sx), (y, sy) = spreads
    rho = float(np.clip((x @ y) / (sx * sy), -1.0, 1.0))
    return float(np.sqrt((1.0 - rho) / 2.0))


@dataclass(frozen=True)
class DistanceMatrix:
    """Pairwise distances of named rewards with bootstrap confidence intervals.

    Attributes:
        names: The rewards, in order.
        distance: ``(k, k)`` distances on all the transitions.
        low: ``(k, k)`` lower ends of the confidence intervals.
        high: ``(k, k)`` upper ends.
        confidence: The intervals' level, e.g. 0.95.
        transitions: How many transitions the distances are over.
        samples: Coverage samples per expectation.
        gamma: The discount.
        distance_kind: ``"epic"`` or ``"dard"``.
    """

    names: tuple[str, ...]
    distance: np.ndarray
    low: np.ndarray
    high: np.ndarray
    confidence: float
    transitions: int
    samples: int
    gamma: float
    distance_kind: str = "epic"

    def get(self, a: str, b: str) -> float:
        """The distance between rewards named ``a`` and ``b``."""
        for name in (a, b):
            if name not in self.names:
                raise ParameterError(f"no reward named {name!r}; rewards: {list(self.names)}.")
        return float(self.distance[self.names.index(a), self.names.index(b)])

    def rows(self) -> list[dict]:
        """One dict per ordered pair (``a``, ``b``, ``distance``, ``low``, ``high``)."""
        k = len(self.names)
        return [
            {
                "a": self.names[i],
                "b": self.names[j],
                "distance": float(self.distance[i, j]),
                "low": float(self.low[i, j]),
                "high": float(self.high[i, j]),
            }
            for i in range(k)
            for j in range(k)
        ]


def _bootstrap_rho(x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Pearson rho of each bootstrap resample (rows of ``idx``)."""
    xs, ys = x[idx], y[idx]
    xs = xs - xs.mean(axis=1, keepdims=True)
    ys = ys - ys.mean(axis=1, keepdims=True)
    den = np.sqrt((xs * xs).sum(axis=1) * (ys * ys).sum(axis=1))
    return np.clip((xs * ys).sum(axis=1) / np.where(den > 0, den, 1.0), -1.0, 1.0)


def distance_matrix(
    canonical: Mapping[str, np.ndarray],
    rng: np.random.Generator,
    *,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    samples: int = 0,
    gamma: float = 0.0,
    kind: str = "epic",
) -> DistanceMatrix:
    """Pearson distances of canonical rewards (all of one length) with percentile
    bootstrap intervals over the transitions (the same resamples for every pair).

    Raises:
        ParameterError: Fewer than 2 transitions, lengths that differ, a constant
            canonical reward, ``bootstrap`` < 1 or ``confidence`` outside (0, 1).
    """
    bootstrap = check_int(bootstrap, "bootstrap resamples", 1)
    confidence = check_probability(confidence, "confidence")
    if not 0 < confidence < 1:
        raise ParameterError(f"confidence must be in (0, 1), got {confidence!r}.")
    names = tuple(canonical)
    lengths = {len(v) for v in canonical.values()}
    if len(lengths) != 1:
        raise ParameterError(f"canonical rewards differ in length: {sorted(lengths)}.")
    (n,) = lengths
    k = len(names)
    dist, low, high = np.zeros((k, k)), np.zeros((k, k)), np.zeros((k, k))
    for i in range(k):  # every reward must vary, even when compared only with itself
        pearson_distance(canonical[names[i]], canonical[names[i]], (names[i], names[i]))
    per = max(1, (1 << 22) // max(n, 1))  # resamples per batch: bounded memory
    batches = [rng.integers(n, size=(min(per, bootstrap - b), n)) for b in range(0, bootstrap, per)]
    tail = (1 - confidence) / 2
    for i in range(k):
        for j in range(i + 1, k):
            x, y = canonical[names[i]], canonical[names[j]]
            d = pearson_distance(x, y, (names[i], names[j]))
            rho = np.concatenate([_bootstrap_rho(x, y, idx) for idx in batches])
            boot = np.sqrt((1.0 - rho) / 2.0)
            lo, hi = np.quantile(boot, [tail, 1 - tail])
            dist[i, j] = dist[j, i] = d
            low[i, j] = low[j, i] = lo
            high[i, j] = high[j, i] = hi
    return DistanceMatrix(
        names=names,
        distance=dist,
        low=low,
        high=high,
        confidence=confidence,
        transitions=n,
        samples=samples,
        gamma=gamma,
        distance_kind=kind,
    )


def epic(
    rewards: Mapping[str, RewardFn],
    transitions: Transitions,
    coverage: Coverage,
    gamma: float,
    rng: np.random.Generator,
    *,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    chunk: int = 1 << 20,
) -> DistanceMatrix:
    """EPIC distances between every pair of ``rewards``.

    Args:
        rewards: Batched rewards by name (at least 2).
        transitions: The transitions the Pearson distance is over (at least 2).
        coverage: Coverage triples for the expectations (:func:`draw_coverage`).
        gamma: The discount of the shaping the distance ignores.
        rng: For the bootstrap resamples.
        bootstrap: Bootstrap resamples for the intervals.
        confidence: Their level.
        chunk: Reward calls per batch.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> s, a, s2 = (rng.normal(size=(100, d)) for d in (2, 1, 2))
        >>> t = Transitions(s, a, s2)
        >>> r = lambda s, a, s2: s2[:, 0] - a[:, 0] ** 2
        >>> m = epic({"r": r, "2r+1": lambda *x: 2 * r(*x) + 1, "-r": lambda *x: -r(*x)},
        ...          t, draw_coverage(s, a, 64, rng), 0.99, rng, bootstrap=100)
        >>> round(m.get("r", "2r+1"), 6), round(m.get("r", "-r"), 6)
        (0.0, 1.0)
    """
    if len(rewards) < 2:
        raise ParameterError(f"EPIC compares 2 or more rewards, got {list(rewards)}.")
    if len(transitions) < 2:
        raise ParameterError(f"EPIC needs 2 or more transitions, got {len(transitions)}.")
    canonical = {
        name: canonicalize(fn, transitions, coverage, gamma, name, chunk)
        for name, fn in rewards.items()
    }
    return distance_matrix(
        canonical,
        rng,
        bootstrap=bootstrap,
        confidence=confidence,
        samples=len(coverage.states),
        gamma=float(gamma),
    )
