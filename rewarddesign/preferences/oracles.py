"""Exact optimal values of tabular tasks, for the regret teacher."""

from __future__ import annotations

from typing import Any

import numpy as np

from rewarddesign.errors import ParameterError, SpecError


class ValueIterationOracle:
    """``V*`` and ``Q*`` of a finite MDP by value iteration (exact to ``tol``).

    Args:
        P: (S, A, S) transition probabilities.
        R: (S, A, S) reward of each transition, or (S, A) expected rewards.
        discount: In [0, 1); 1 only if every policy reaches a terminal state.
        terminal: (S,) bool, absorbing states whose value is 0.
        tol: Stop when the largest change of ``Q`` is below this.

    Example:
        >>> import numpy as np
        >>> P = np.zeros((2, 1, 2)); P[0, 0, 1] = P[1, 0, 1] = 1.0
        >>> oracle = ValueIterationOracle(P, np.array([[1.0], [0.0]]), 0.9,
        ...                               terminal=np.array([False, True]))
        >>> oracle.V(np.array([0, 1]))
        array([1., 0.])
    """

    def __init__(self, P: np.ndarray, R: np.ndarray, discount: float,
                 terminal: np.ndarray | None = None, tol: float = 1e-12,
                 max_iterations: int = 100_000) -> None:  # fmt: skip
        P, R = np.asarray(P, dtype=np.float64), np.asarray(R, dtype=np.float64)
        if P.ndim != 3 or P.shape[0] != P.shape[2]:
            raise ParameterError(f"ValueIterationOracle: P must be (S, A, S), got {P.shape}.")
        if not np.allclose(P.sum(axis=2), 1.0, atol=1e-9) or (P < 0).any():
            raise ParameterError("ValueIterationOracle: every P[s, a] must be a distribution.")
        if R.shape not in (P.shape, P.shape[:2]) or not np.isfinite(R).all():
            raise ParameterError(
                f"ValueIterationOracle: R must be finite, shaped {P.shape} or {P.shape[:2]}; "
                f"got {R.shape}."
            )
        if not 0 <= discount <= 1:
            raise ParameterError(
                f"ValueIterationOracle: discount must be in [0, 1], got {discount!r}."
            )
        S = P.shape[0]
        terminal = np.zeros(S, bool) if terminal is None else np.asarray(terminal, dtype=bool)
        expected = (P * R).sum(axis=2) if R.ndim == 3 else R
        q = np.zeros(P.shape[:2])
        for _ in range(max_iterations):
            v = np.where(terminal, 0.0, q.max(axis=1))
            new = expected + discount * P @ v
            new[terminal] = 0.0
            if np.abs(new - q).max() < tol:
                break
            q = new
        else:
            raise ParameterError(
                f"value iteration did not converge in {max_iterations} sweeps (discount "
                f"{discount}); use a discount below 1 or make a terminal state reachable."
            )
        self.q, self.v = new, np.where(terminal, 0.0, new.max(axis=1))
        self.n_states, self.discount, self.terminal = S, float(discount), terminal

    @classmethod
    def from_env(cls, env: Any, discount: float) -> ValueIterationOracle:
        """The oracle of a tabular env exposing ``P``, ``R`` and ``terminal``."""
        base = env.unwrapped
        if not all(hasattr(base, k) for k in ("P", "R", "terminal")):
            raise SpecError(
                f"{base} is not a tabular task (it exposes no P, R and terminal); regret "
                "labels for continuous control need an expert's critic."
            )
        return cls(base.P, base.R, discount, base.terminal)

    def V(self, states: np.ndarray) -> np.ndarray:
        """``V*`` of integer states (any shape)."""
        return self.v[np.asarray(states, dtype=np.int64)]

    def Q(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """``Q*`` of integer states and actions (same shape)."""
        return self.q[np.asarray(states, dtype=np.int64), np.asarray(actions, dtype=np.int64)]
