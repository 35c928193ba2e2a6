"""Bounded, centred rewards: PAR (Fu et al. 2025) and LSC (Wang et al. 2024).

PAR trains on ``mean_m sigmoid((r - ref_m) / scale)``, LSC on
``mean_m log sigmoid((r - ref_m) / scale)``: the reward is centred on a reference and
bounded (PAR in (0, 1), LSC in (-inf, 0)).

Early termination changes what such a reward asks for. Every PAR reward is strictly
positive, so each step alive adds to the return: it acts as an alive bonus, and the
agent learns to avoid termination whatever the task reward says. Every LSC reward is
negative, so each step costs: in a task that terminates early, ending the episode
sooner raises the return, and the agent can learn to fail on purpose. Prefer PAR for
tasks that terminate on failure (Hopper, Walker2d, Ant), LSC for fixed-length tasks,
or centre on a reference that keeps the sign meaningful.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from scipy.special import expit

from rewarddesign.common.checks import check_number, is_int, probe_batched
from rewarddesign.errors import ParameterError, SpecError
from rewarddesign.wrappers.core import (
    RewardTransform,
    StepFn,
    Transition,
    WrapContext,
    check_finite,
)
from rewarddesign.wrappers.forms import RewardWrapper, forms_of

MODES = ("sigmoid", "logsigmoid")


@dataclass(frozen=True)
class RunningQuantile:
    """Reference = the ``q``-quantile of each env's last ``window`` incoming rewards.

    The window includes the current step's reward and runs across episode boundaries.

    Attributes:
        q: Quantile in [0, 1] (0.5 = median).
        window: Number of recent rewards kept per env.
    """

    q: float = 0.5
    window: int = 1000

    def __post_init__(self) -> None:
        check_number(self.q, "RunningQuantile: q", 0, 1)
        if not is_int(self.window) or self.window < 1:
            raise ParameterError(
                f"RunningQuantile: window must be an int >= 1, got {self.window!r}."
            )


Reference = float | Sequence[float] | RunningQuantile | StepFn
"""A constant, several constants (PAR's reference set), a running quantile, or a batched
callable ``ref(obs, action, next_obs) -> (m,)`` or ``(m, M)``."""


class CenteredSigmoidTransform(RewardTransform):
    """PAR / LSC on the incoming reward; a running reference keeps a window per env."""

    def __init__(self, reference: Reference, mode: str = "sigmoid", scale: float = 1.0) -> None:
        if mode not in MODES:
            raise ParameterError(f"CenteredSigmoid: mode must be one of {MODES}, got {mode!r}.")
        self.mode, self.scale = (
            mode,
            check_number(scale, "CenteredSigmoid: scale", 0, low_open=True),
        )
        self.reference = reference
        self._const: np.ndarray | None = None
        if isinstance(reference, int | float | Sequence | np.ndarray) and not isinstance(
            reference, str | bool
        ):
            const = np.atleast_1d(np.asarray(reference, dtype=np.float64))
            if const.ndim != 1 or const.size == 0 or not np.isfinite(const).all():
                raise ParameterError(
                    "CenteredSigmoid: a constant reference must be finite numbers, "
                    f"got {reference!r}."
                )
            self._const = const
            self._const_tuple = tuple(float(c) for c in const)
        elif not isinstance(reference, RunningQuantile) and not callable(reference):
            raise SpecError(
                "CenteredSigmoid: reference must be a number, a sequence of numbers, a "
                f"RunningQuantile or a callable ref(obs, action, next_obs); got {reference!r}."
            )

    def bind(self, ctx: WrapContext) -> None:
        if isinstance(self.reference, RunningQuantile):
            self._windows = [_SortedWindow(self.reference.window) for _ in range(ctx.n_envs)]
        elif callable(self.reference):
            probe_batched(
                self.reference,
                "CenteredSigmoid reference",
                ctx.observation_space,
                ctx.action_space,
                step=True,
            )

    def _references(self, t: Transition) -> np.ndarray:
        """References, shape (m, M)."""
        if self._const is not None:
            return self._const[None, :]
        ref = self.reference
        if isinstance(ref, RunningQuantile):  # a per-env window: one update per env
            rows = np.arange(len(self._windows))[t.idx]
            return np.array(
                [
                    [self._windows[i].push_quantile(float(r), ref.q)]
                    for i, r in zip(rows, t.reward, strict=True)
                ]
            )
        out = np.asarray(ref(t.obs, t.action, t.next_obs), dtype=np.float64)
        if out.ndim == 2 and len(out) == len(t.reward):  # several references per row
            return check_finite(out.reshape(-1), "reference", out.size).reshape(out.shape)
        return check_finite(out, "reference", len(t.reward))[:, None]

    def __call__(self, t: Transition) -> np.ndarray:
        x = (t.reward[:, None] - self._references(t)) / self.scale
        if self.mode == "sigmoid":
            return expit(x).mean(axis=1)
        return (-np.logaddexp(0.0, -x)).mean(axis=1)

    def one(self, obs, action, next_obs, reward, terminated, truncated, info, factors) -> float:
        if self._const is None:
            if not isinstance(self.reference, RunningQuantile):
                return super().one(
                    obs, action, next_obs, reward, terminated, truncated, info, factors
                )
            refs = (self._windows[0].push_quantile(reward, self.reference.q),)
        else:
            refs = self._const_tuple
        f = _sigmoid if self.mode == "sigmoid" else _log_sigmoid
        return sum(f((reward - c) / self.scale) for c in refs) / len(refs)


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


class _SortedWindow:
    """The last ``size`` values of one env, kept sorted too, for O(size) quantiles."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.recent: deque[float] = deque()
        self.sorted: list[float] = []

    def push_quantile(self, value: float, q: float) -> float:
        """Add ``value`` (dropping the oldest beyond ``size``); the ``q``-quantile with
        linear interpolation, as ``numpy.quantile``."""
        if len(self.recent) == self.size:
            del self.sorted[bisect.bisect_left(self.sorted, self.recent.popleft())]
        self.recent.append(value)
        bisect.insort(self.sorted, value)
        pos = q * (len(self.sorted) - 1)
        lo = math.floor(pos)
        if lo + 1 >= len(self.sorted):
            return self.sorted[lo]
        a, b = self.sorted[lo], self.sorted[lo + 1]
        return a + (b - a) * (pos - lo)


class CenteredSigmoid(RewardWrapper):
    """PAR / LSC: a bounded reward centred on a reference.

    ``mode="sigmoid"`` (PAR) gives ``mean_m sigmoid((r - ref_m) / scale)`` in (0, 1);
    ``mode="logsigmoid"`` (LSC) gives ``mean_m log sigmoid((r - ref_m) / scale)`` < 0,
    where ``r`` is the incoming reward. With early termination a strictly positive
    reward is an alive bonus and a negative one rewards ending early (module docs).

    Args:
        env: Any Gymnasium env with array observations.
        reference: A constant; a sequence of constants (PAR's references, averaged);
            :class:`RunningQuantile` of recent rewards; or a batched callable
            ``ref(obs, action, next_obs)`` returning ``(m,)`` or ``(m, M)``.
        mode: ``"sigmoid"`` (PAR) or ``"logsigmoid"`` (LSC).
        scale: Width of the sigmoid in reward units (> 0).

    Example:
        >>> import gymnasium as gym
        >>> env = CenteredSigmoid(gym.make("Pendulum-v1"), reference=-1.0)
        >>> _ = env.reset(seed=0)
        >>> _, r, *_ , info = env.step(env.action_space.sample())
        >>> 0.0 < r < 1.0
        True
    """

    Transform = CenteredSigmoidTransform

    def __init__(
        self, env: gym.Env, reference: Reference, mode: str = "sigmoid", scale: float = 1.0
    ) -> None:
        super().__init__(env, reference=reference, mode=mode, scale=scale)


VectorCenteredSigmoid, VecEnvCenteredSigmoid = forms_of(CenteredSigmoid)
