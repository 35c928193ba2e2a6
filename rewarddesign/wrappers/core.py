"""What every reward wrapper shares: a batched reward transform and the step it sees.

A wrapper's math lives in one :class:`RewardTransform`, written once for a batch of
envs. Its three forms (:mod:`.forms`: a ``gymnasium.Wrapper``, a
``gymnasium.vector`` wrapper and an SB3 ``VecEnvWrapper``) feed it the same
:class:`Transition` and so give the same rewards, autoreset included.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from rewarddesign.common.checks import BATCHED
from rewarddesign.errors import ParameterError, SpaceMismatchError, SpecError
from rewarddesign.task.spec import TaskSpec

Index = slice | np.ndarray
"""Which envs of the batch a call covers: ``slice(None)`` for all, else an index array."""

ALL: Index = slice(None)

_add_reduce = np.add.reduce

StepFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""A batched per-step function ``f(obs, action, next_obs) -> values of shape (m,)``."""


class Transition(NamedTuple):
    """One step of ``m`` envs, batched along the first axis (a tuple: cheap to build).

    Attributes:
        idx: The envs these rows belong to (rows of the transform's per-env state).
        obs: Observations before the step.
        action: Actions taken.
        next_obs: Observations after the step; for an episode that ended, its final
            observation (not the next episode's first).
        reward: Incoming reward (from the env or the wrapper below), float64.
        terminated: True where the step reached a terminal state.
        truncated: True where the episode was cut (a time limit); not a terminal.
        factors: ``info["factors"]`` rows, for transforms that need the task.
        true_reward: ``info["true_reward"]``, for transforms that need the task.
        success: ``info["success"]`` (0 where the task defines no success).
    """

    idx: Index
    obs: np.ndarray
    action: np.ndarray
    next_obs: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    factors: np.ndarray | None = None
    true_reward: np.ndarray | None = None
    success: np.ndarray | None = None


@dataclass(frozen=True)
class WrapContext:
    """What a transform learns about the env(s) it is put on.

    Attributes:
        task: The task spec if the env was built by ``rd.make`` (it then carries
            factors in ``info``); for the single-env form on a plain env, the task
            registered for its env id (the wrapper reads the factors itself); else None.
        observation_space: The space of one env's observations.
        action_space: The space of one env's actions.
        n_envs: Number of envs stepped together (1 for the single-env form).
        where: The wrapper's name, for error messages.
    """

    task: TaskSpec | None
    observation_space: gym.Space
    action_space: gym.Space
    n_envs: int
    where: str

    def require_task(self) -> TaskSpec:
        """The task spec, or a clear error saying the env must come from ``rd.make``."""
        if self.task is None:
            raise SpecError(
                f"{self.where} reads the task's reward factors from info; build the env "
                "with rd.make(task_id) (or vectorise envs built that way; the single-env "
                "form also takes a plain env whose id a registered task uses)."
            )
        return self.task


class RewardTransform(ABC):
    """The reward math of one wrapper, batched over envs, with per-env state.

    Subclasses set ``needs_task`` if they read factors, the true reward or success,
    allocate their per-env state in :meth:`bind`, reset it in :meth:`start` and
    compute rewards in :meth:`__call__`, touching only the rows ``t.idx``.
    """

    needs_task: bool = False
    task: TaskSpec | None = None  # set when bound: the task of the env(s) served

    def bind(self, ctx: WrapContext) -> None:  # noqa: B027 - optional hook
        """Check the parameters against the env(s) and allocate per-env state."""

    def start(self, idx: Index, obs: np.ndarray) -> None:  # noqa: B027 - optional hook
        """Episodes begin for the envs ``idx`` with first observations ``obs``."""

    def fused(self, reader: Any) -> Callable[[float, dict], float] | None:
        """Optional: ``f(reward, info) -> reward`` for the single-env form on a plain env,
        reading factors with ``reader`` (a ``FactorReader``) in one call; None (default)
        uses :meth:`one`. Only for stateless transforms whose reward needs nothing else."""
        return None

    @abstractmethod
    def __call__(self, t: Transition) -> np.ndarray:
        """The rewards (float64, shape ``(m,)``) for a batched step."""

    def one(
        self,
        obs: Any,
        action: Any,
        next_obs: Any,
        reward: float,
        terminated: bool,
        truncated: bool,
        info: dict[str, Any],
        factors: list[float] | None,
    ) -> float:
        """The reward of one env's step (the single-env form calls this every step).

        ``factors`` are the step's factors as Python floats (None unless ``needs_task``);
        ``info`` holds ``true_reward`` and, where the task defines it, ``success``. This
        batches the step into one row; transforms override it with the same math on
        Python scalars, because numpy's per-call cost on one-row arrays would dominate
        the wrapper's cost.
        """
        extra = {}
        if self.needs_task:
            extra = {
                "factors": np.array([factors], dtype=np.float64),
                "true_reward": np.array([info["true_reward"]], dtype=np.float64),
                "success": np.array([info.get("success", 0.0)], dtype=np.float64),
            }
        t = Transition(
            ALL,
            np.asarray(obs)[None],
            np.asarray(action)[None],
            np.asarray(next_obs)[None],
            np.array([reward], dtype=np.float64),
            np.array([terminated]),
            np.array([truncated]),
            **extra,
        )
        return float(self(t)[0])


def check_finite(values: np.ndarray, what: str, m: int) -> np.ndarray:
    """``values`` as float64 of shape ``(m,)``, or a clear error if it is not finite."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (m,):
        raise ParameterError(
            f"{what} returned shape {values.shape} for a batch of {m}; it must return one "
            f"value per row, shape ({m},): {BATCHED}."
        )
    # The sum is finite for finite values (bar overflow): one cheap reduction per step.
    if not math.isfinite(_add_reduce(values)) and not np.isfinite(values).all():
        raise ParameterError(
            f"{what} returned a non-finite value ({float(values[~np.isfinite(values)][0])!r}); "
            "make it finite for every state the env can reach."
        )
    return values


def finite_one(values: Any, what: str) -> float:
    """The single value of a one-row batch, as a float, or the error of :func:`check_finite`."""
    values = np.asarray(values)
    if values.shape == (1,):
        value = float(values[0])
        if math.isfinite(value):
            return value
    return float(check_finite(values, what, 1)[0])  # raises, naming the problem


def check_array_observations(space: gym.Space, where: str) -> None:
    """Transforms index observations by env: they must be arrays, not dicts or tuples."""
    if isinstance(space, gym.spaces.Dict | gym.spaces.Tuple):
        raise SpaceMismatchError(
            f"{where} needs array observations, got {space}; flatten them first with "
            "gymnasium.wrappers.FlattenObservation."
        )
