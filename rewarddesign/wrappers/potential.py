"""Potential-based shaping (Ng, Harada and Russell 1999).

``r' = r + gamma * Phi(s') - Phi(s)``, with ``Phi(s') = 0`` when ``s'`` is terminal. A
time-limit truncation is not a terminal: the potential of its last state counts. With
``gamma`` equal to the agent's discount, optimal policies are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign.common.checks import check_number, probe_batched
from rewarddesign.errors import SpecError, unknown
from rewarddesign.wrappers.core import (
    Index,
    RewardTransform,
    Transition,
    WrapContext,
    check_finite,
    finite_one,
)
from rewarddesign.wrappers.forms import RewardWrapper, forms_of

Potential = Callable[[np.ndarray], np.ndarray] | str | Any
"""A batched callable ``Phi(obs[m, ...]) -> (m,)``, a potential named in the task spec, or
a trained SB3 agent (its value function)."""


def agent_value(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """``V(s)`` of a trained SB3 or SBX agent, batched: "shaping by an expert's value".

    PPO uses its value head; SAC, TD3 and their SBX kin use ``min_i Q_i(s, pi(s))`` with
    the actor's deterministic action (the twin-critic minimum they use for their own
    targets; TQC its kept quantiles' mean), read through :func:`rewarddesign.agents.view`.

    Raises:
        SpecError: If the model is not an agent the factory builds.
    """
    from rewarddesign import agents

    if agents.kind_of(model) is None:
        raise SpecError(
            f"cannot take a value function from {type(model).__name__}: give an agent of "
            f"rd.agents.AGENTS ({', '.join(agents.AGENTS)})."
        )
    return agents.view(model).value


def _is_agent(potential: Any) -> bool:
    return hasattr(potential, "policy") and hasattr(potential, "predict")


class PotentialTransform(RewardTransform):
    """Batched potential-based shaping; per env it keeps ``Phi`` of the current state."""

    def __init__(self, potential: Potential, gamma: float, scale: float = 1.0) -> None:
        self.potential = potential
        self.gamma = check_number(gamma, "PotentialShaping: gamma", 0, 1)
        self.scale = check_number(scale, "PotentialShaping: scale")

    def bind(self, ctx: WrapContext) -> None:
        pot = self.potential
        if isinstance(pot, str):
            task = ctx.require_task()
            if pot not in task.potentials:
                raise unknown(
                    f"potential of task {task.id!r}",
                    pot,
                    task.potentials,
                    "Declare it under `potentials:` in the task spec.",
                )
            self._phi_fn, self._what = task.potentials[pot], f"potential {pot!r}"
        elif _is_agent(pot):
            self._phi_fn, self._what = agent_value(pot), f"value of {type(pot).__name__}"
        elif callable(pot):
            self._phi_fn, self._what = pot, f"potential {getattr(pot, '__name__', pot)!r}"
            probe_batched(pot, self._what, ctx.observation_space, ctx.action_space, step=False)
        else:
            raise SpecError(
                f"PotentialShaping: potential must be a callable on a batch of observations, "
                f"a potential named in the task spec or a trained SB3 agent; got {pot!r}."
            )
        self._phi = np.zeros(ctx.n_envs)

    def phi(self, obs: np.ndarray) -> np.ndarray:
        """``scale * Phi(obs)``, checked to be finite, one value per row."""
        values = check_finite(self._phi_fn(obs), self._what, len(obs))
        return values if self.scale == 1.0 else self.scale * values

    def start(self, idx: Index, obs: np.ndarray) -> None:
        self._phi[idx] = self.phi(obs)
        self._phi_one = float(self._phi[0])  # the single-env path keeps a Python float

    def one(self, obs, action, next_obs, reward, terminated, truncated, info, factors) -> float:
        phi_next = finite_one(self._phi_fn(np.asarray(next_obs)[None]), self._what)
        if self.scale != 1.0:
            phi_next = self.scale * phi_next
        shaped = (0.0 if terminated else self.gamma * phi_next) + reward - self._phi_one
        self._phi_one = phi_next
        return shaped

    def __call__(self, t: Transition) -> np.ndarray:
        phi_next = self.phi(t.next_obs)
        shaped = self.gamma * phi_next
        if t.terminated.any():
            shaped[t.terminated] = 0.0  # Phi(terminal) = 0; a truncation keeps Phi(s')
        shaped += t.reward
        shaped -= self._phi[t.idx]
        self._phi[t.idx] = phi_next
        return shaped


class PotentialShaping(RewardWrapper):
    """Potential-based shaping: ``r + gamma * Phi(s') - Phi(s)``, ``Phi(terminal) = 0``.

    Optimal policies are unchanged when ``gamma`` is the agent's discount (Ng et al.
    1999); a time-limit truncation is not a terminal, so its ``Phi(s')`` counts.

    Args:
        env: Any Gymnasium env with array observations.
        potential: ``Phi``: a callable on a *batch* of observations returning one value
            per row; the name of a potential in the task spec (env from ``rd.make``);
            or a trained SB3 agent, whose value function is used.
        gamma: The discount in ``F``; use the agent's discount.
        scale: Multiplier on ``Phi``.

    Raises:
        ParameterError: ``gamma`` outside [0, 1], or a potential that is not finite.
        UnknownNameError: A potential name the task does not declare.

    Example:
        >>> import gymnasium as gym, numpy as np
        >>> phi = lambda o: -o[:, 2].astype(np.float64) ** 2  # batched: one value per row
        >>> env = PotentialShaping(gym.make("Pendulum-v1"), phi, 0.99)
        >>> obs, _ = env.reset(seed=0)
        >>> nxt, r, *_, info = env.step(np.array([1.0], dtype=np.float32))
        >>> shaping = 0.99 * phi(nxt[None])[0] - phi(obs[None])[0]
        >>> bool(abs(r - (info["env_reward"] + shaping)) < 1e-9)
        True
    """

    Transform = PotentialTransform

    def __init__(
        self, env: gym.Env, potential: Potential, gamma: float, scale: float = 1.0
    ) -> None:
        super().__init__(env, potential=potential, gamma=gamma, scale=scale)


VectorPotentialShaping, VecEnvPotentialShaping = forms_of(PotentialShaping)
