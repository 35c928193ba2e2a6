"""Pessimistic reward: shrink the reward where it is uncertain.

``r' = r * max(exp(-u), floor)`` for a per-step uncertainty ``u >= 0`` (for example the
std of a reward ensemble's members). ``floor`` in [0, 1] bounds how far a reward can be
shrunk. The factor multiplies the reward whatever its sign, so an uncertain *penalty*
is shrunk too: pessimism about gains, optimism about losses. Shift rewards to be
non-negative first where that matters.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np

from rewarddesign.common.checks import check_number, probe_batched
from rewarddesign.errors import ParameterError, SpecError
from rewarddesign.wrappers.core import (
    RewardTransform,
    StepFn,
    Transition,
    WrapContext,
    check_finite,
    finite_one,
)
from rewarddesign.wrappers.forms import RewardWrapper, forms_of


class PessimisticTransform(RewardTransform):
    """``r * max(exp(-u), floor)`` with ``u`` from a batched callable."""

    def __init__(self, uncertainty: StepFn, floor: float = 0.0) -> None:
        if not callable(uncertainty):
            raise SpecError(
                "PessimisticReward: uncertainty must be a batched callable "
                f"u(obs, action, next_obs) -> (m,); got {uncertainty!r}."
            )
        self.uncertainty = uncertainty
        self.floor = check_number(floor, "PessimisticReward: floor", 0, 1)

    def bind(self, ctx: WrapContext) -> None:
        probe_batched(
            self.uncertainty,
            "PessimisticReward uncertainty",
            ctx.observation_space,
            ctx.action_space,
            step=True,
        )

    def __call__(self, t: Transition) -> np.ndarray:
        u = check_finite(
            self.uncertainty(t.obs, t.action, t.next_obs), "uncertainty", len(t.reward)
        )
        if (u < 0).any():
            self._negative(float(u[u < 0][0]))
        return t.reward * np.maximum(np.exp(-u), self.floor)

    def one(self, obs, action, next_obs, reward, terminated, truncated, info, factors) -> float:
        batch = (np.asarray(obs)[None], np.asarray(action)[None], np.asarray(next_obs)[None])
        u = finite_one(self.uncertainty(*batch), "uncertainty")
        if u < 0:
            self._negative(u)
        return reward * max(math.exp(-u), self.floor)

    @staticmethod
    def _negative(u: float) -> None:
        raise ParameterError(
            f"PessimisticReward: uncertainty must be >= 0, got {u!r}; return a spread such "
            "as an ensemble's std."
        )


class PessimisticReward(RewardWrapper):
    """``r * max(exp(-u), floor)``: trust the reward less where it is uncertain.

    Args:
        env: Any Gymnasium env with array observations.
        uncertainty: Batched callable ``u(obs, action, next_obs) -> (m,)``, ``u >= 0``.
        floor: Smallest factor the reward is multiplied by, in [0, 1].

    Example:
        >>> import gymnasium as gym, numpy as np
        >>> env = PessimisticReward(gym.make("Pendulum-v1"),
        ...                         lambda o, a, o2: np.abs(a[:, 0]), floor=0.2)
        >>> _ = env.reset(seed=0)
        >>> _, r, *_ , info = env.step(np.array([1.0], dtype=np.float32))
        >>> bool(abs(r - info["env_reward"] * np.exp(-1.0)) < 1e-9)
        True
    """

    Transform = PessimisticTransform

    def __init__(self, env: gym.Env, uncertainty: StepFn, floor: float = 0.0) -> None:
        super().__init__(env, uncertainty=uncertainty, floor=floor)


VectorPessimisticReward, VecEnvPessimisticReward = forms_of(PessimisticReward)
