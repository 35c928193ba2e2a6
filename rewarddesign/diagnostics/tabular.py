"""Exact EPIC and DARD on finite MDPs: rewards as ``(S, A, S)`` tensors, expectations as
sums over the distributions, no sampling.

EPIC's canonical reward with state distribution ``d_S`` and action distribution ``d_A``:
``C(R)(s,a,s') = R(s,a,s') + gamma g(s') - g(s) - gamma c``, where
``g(x) = sum_{a,s'} d_A(a) d_S(s') R(x,a,s')`` and ``c = sum_s d_S(s) g(s)``. DARD
(Wulfe et al. 2022) takes the expectations' next states from the dynamics ``P``
instead, so a reward is only evaluated on transitions the task can make (see
:func:`dard_canonical`). The Pearson distance is weighted by a
distribution over transitions, by default ``d_S x d_A x d_S``.
"""

from __future__ import annotations

import numpy as np

from rewarddesign.common.checks import check_number
from rewarddesign.errors import ParameterError, SpaceMismatchError


def _distribution(p: np.ndarray | None, n: int, what: str) -> np.ndarray:
    if p is None:
        return np.full(n, 1.0 / n)
    p = np.asarray(p, dtype=np.float64)
    if p.shape != (n,) or (p < 0).any() or not np.isclose(p.sum(), 1.0):
        raise ParameterError(
            f"{what} must be {n} non-negative probabilities that sum to 1, got shape "
            f"{p.shape} summing to {p.sum():.6g}."
        )
    return p


def _check_reward(R: np.ndarray, name: str) -> np.ndarray:
    R = np.asarray(R, dtype=np.float64)
    if R.ndim != 3 or R.shape[0] != R.shape[2]:
        raise SpaceMismatchError(f"tabular reward {name!r} must be (S, A, S), got {R.shape}.")
    if not np.isfinite(R).all():
        raise ParameterError(f"tabular reward {name!r} has NaN or inf entries.")
    return R


def _pair(R1: np.ndarray, R2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    R1, R2 = _check_reward(R1, "R1"), _check_reward(R2, "R2")
    if R1.shape != R2.shape:
        raise SpaceMismatchError(f"rewards of different MDPs: {R1.shape} and {R2.shape}.")
    return R1, R2


def epic_canonical(
    R: np.ndarray,
    gamma: float,
    state_dist: np.ndarray | None = None,
    action_dist: np.ndarray | None = None,
) -> np.ndarray:
    """EPIC's canonical reward of an ``(S, A, S)`` reward, exactly.

    Example:
        >>> R = np.random.default_rng(0).normal(size=(3, 2, 3))
        >>> phi = np.array([1.0, -2.0, 0.5])
        >>> shaped = R + 0.9 * phi[None, None, :] - phi[:, None, None]
        >>> bool(np.allclose(epic_canonical(R, 0.9), epic_canonical(shaped, 0.9)))
        True
    """
    R = _check_reward(R, "R")
    gamma = check_number(gamma, "gamma", 0.0, 1.0)
    S, A, _ = R.shape
    d_s = _distribution(state_dist, S, "state distribution")
    d_a = _distribution(action_dist, A, "action distribution")
    g = np.einsum("xaz,a,z->x", R, d_a, d_s)
    c = d_s @ g
    return R + gamma * g[None, None, :] - g[:, None, None] - gamma * c


def dard_canonical(
    R: np.ndarray,
    P: np.ndarray,
    gamma: float,
    action_dist: np.ndarray | None = None,
) -> np.ndarray:
    """DARD's canonical reward of an ``(S, A, S)`` reward under dynamics ``P (S, A, S)``.

    ``C(R)(s,a,s') = R(s,a,s') + E[gamma R(s',A,S'') - R(s,A,S') - gamma R(S',A,S'')]``
    with ``A ~ d_A``, ``S' ~ P(.|s,A)`` and ``S'' ~ P(.|s',A)``, as Wulfe et al. (2022),
    eq. 6: the expectations stay near the transition, on states the dynamics reach.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> P = rng.random((3, 2, 3)); P /= P.sum(-1, keepdims=True)
        >>> R, phi = rng.normal(size=(3, 2, 3)), rng.normal(size=3)
        >>> shaped = R + 0.9 * phi[None, None, :] - phi[:, None, None]
        >>> bool(np.allclose(dard_canonical(R, P, 0.9), dard_canonical(shaped, P, 0.9)))
        True
    """
    R = _check_reward(R, "R")
    gamma = check_number(gamma, "gamma", 0.0, 1.0)
    P = np.asarray(P, dtype=np.float64)
    if P.shape != R.shape:
        raise SpaceMismatchError(f"dynamics P {P.shape} must match the reward's {R.shape}.")
    A = R.shape[1]
    d_a = _distribution(action_dist, A, "action distribution")
    # near[x] = E[R(x, A, Z)], Z ~ P(x, A): the reward of one step from x
    near = np.einsum("a,xaz,xaz->x", d_a, P, R)
    # far[s, t] = E[R(U, A, Z)], U ~ P(s, A), Z ~ P(t, A), one A for both (as the
    # paper's sampling: S' and S'' are the two successors of one action)
    far = np.einsum("a,sau,taz,uaz->st", d_a, P, P, R, optimize=True)
    return R + gamma * near[None, None, :] - near[:, None, None] - gamma * far[:, None, :]


def weighted_pearson_distance(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, names: tuple[str, str] = ("x", "y")
) -> float:
    """``sqrt((1 - rho) / 2)`` with rho the Pearson correlation under ``weights``.

    Raises:
        ParameterError: Weights that are negative or sum to 0, or a reward constant under
            them (EPIC undefined).
    """
    x, y, w = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (x, y, weights))
    if (w < 0).any() or w.sum() <= 0 or len(w) != len(x) or len(x) != len(y):
        raise ParameterError("transition weights must be non-negative, sum above 0 and fit R.")
    w = w / w.sum()
    x, y = x - w @ x, y - w @ y
    vx, vy = w @ (x * x), w @ (y * y)
    for v, name, arr in ((vx, names[0], x), (vy, names[1], y)):
        if v <= (1e-12 * max(1.0, np.abs(arr).max(initial=0.0))) ** 2:
            raise ParameterError(
                f"reward {name!r} is constant after canonicalisation (a constant or a pure "
                "shaping term), so its distance is undefined; compare rewards that vary."
            )
    rho = float(np.clip(w @ (x * y) / np.sqrt(vx * vy), -1.0, 1.0))
    return float(np.sqrt((1.0 - rho) / 2.0))


def tabular_epic(
    R1: np.ndarray,
    R2: np.ndarray,
    gamma: float,
    state_dist: np.ndarray | None = None,
    action_dist: np.ndarray | None = None,
    transition_weights: np.ndarray | None = None,
) -> float:
    """Exact EPIC distance of two ``(S, A, S)`` rewards.

    Args:
        R1: The first reward.
        R2: The second, of the same shape.
        gamma: The discount.
        state_dist: ``d_S`` (default uniform).
        action_dist: ``d_A`` (default uniform).
        transition_weights: ``(S, A, S)`` weights of the Pearson distance (default
            ``d_S x d_A x d_S``).

    Example:
        >>> R = np.random.default_rng(1).normal(size=(4, 2, 4))
        >>> round(tabular_epic(R, 3 * R + 2, 0.9), 9), round(tabular_epic(R, -R, 0.9), 9)
        (0.0, 1.0)
    """
    R1, R2 = _pair(R1, R2)
    S, A, _ = R1.shape
    if transition_weights is None:
        d_s = _distribution(state_dist, S, "state distribution")
        d_a = _distribution(action_dist, A, "action distribution")
        transition_weights = np.einsum("x,a,z->xaz", d_s, d_a, d_s)
    c1 = epic_canonical(R1, gamma, state_dist, action_dist)
    c2 = epic_canonical(R2, gamma, state_dist, action_dist)
    return weighted_pearson_distance(c1, c2, transition_weights, ("R1", "R2"))


def tabular_dard(
    R1: np.ndarray,
    R2: np.ndarray,
    P: np.ndarray,
    gamma: float,
    action_dist: np.ndarray | None = None,
    transition_weights: np.ndarray | None = None,
) -> float:
    """Exact DARD distance of two ``(S, A, S)`` rewards under dynamics ``P``; the Pearson
    distance is weighted by ``transition_weights`` (default: uniform states, ``d_A``
    actions and ``P``'s next states, the transitions the dynamics can make)."""
    R1, R2 = _pair(R1, R2)
    S, A, _ = R1.shape
    if transition_weights is None:
        d_a = _distribution(action_dist, A, "action distribution")
        transition_weights = np.asarray(P, dtype=np.float64) * d_a[None, :, None] / S
    c1 = dard_canonical(R1, P, gamma, action_dist)
    c2 = dard_canonical(R2, P, gamma, action_dist)
    return weighted_pearson_distance(c1, c2, transition_weights, ("R1", "R2"))
