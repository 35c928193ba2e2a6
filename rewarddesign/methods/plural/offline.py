"""The offline experience every user of ``plural`` labels: walks to random waypoints
on a point task, drifting random walks elsewhere.

A population's users label pairs of one fixed dataset (VPL, Poddar et al. 2024, labels
offline data). Uniform random actions stay near the start; a walk that keeps one
direction (or one target) for a while, plus noise, reaches every part of the task, so
segments show each persona's goal.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rewarddesign.common.checks import check_int, check_number
from rewarddesign.errors import SpaceMismatchError, unknown
from rewarddesign.preferences import Segments, cut_segments, rollout
from rewarddesign.task.registry import make
from rewarddesign.task.spec import TaskSpec


class Drift:
    """Behaviour policy: every ``period`` steps a new drift ``d``, a random unit direction
    times a speed drawn uniformly in [0, 1]; each action is ``clip(d + N(0, noise), -1,
    1)`` mapped onto the action box. Slow periods linger where they are, fast ones cross
    the task.

    Args:
        space: The env's (bounded) Box action space.
        rng: Draws the directions and the noise.
        period: Steps between new drifts.
        noise: Std of the per-step noise, in units of half the box's width.

    Example:
        >>> import gymnasium as gym, numpy as np
        >>> drift = Drift(gym.spaces.Box(-2.0, 2.0, (2,)), np.random.default_rng(0), 10)
        >>> a = np.array([drift(None) for _ in range(10)])
        >>> bool((np.abs(a) <= 2).all()), a.shape
        (True, (10, 2))
    """

    def __init__(
        self, space: gym.Space, rng: np.random.Generator, period: int, noise: float = 0.1
    ) -> None:
        if not isinstance(space, gym.spaces.Box) or not space.is_bounded():
            raise SpaceMismatchError(
                f"Drift needs a bounded Box action space, got {space}; plural's offline "
                "data walks in continuous actions."
            )
        self.low, self.high = space.low.astype(np.float64), space.high.astype(np.float64)
        self.dtype = space.dtype
        self.rng, self.period = rng, check_int(period, "Drift: period", 1)
        self.noise = check_number(noise, "Drift: noise", 0)
        self.t, self.direction = 0, np.zeros(space.shape)

    def __call__(self, obs: object) -> np.ndarray:
        if self.t % self.period == 0:
            unit = self.rng.normal(size=self.direction.shape)
            unit /= max(np.linalg.norm(unit), 1e-12)
            self.direction = unit * self.rng.uniform(0, 1)
        self.t += 1
        unit = np.clip(self.direction + self.rng.normal(0, self.noise, self.direction.shape), -1, 1)
        return (self.low + (unit + 1) / 2 * (self.high - self.low)).astype(self.dtype)


class Waypoints:
    """Behaviour policy of a point task (the action moves the observation): every
    ``period`` steps a new target drawn uniformly in the observation box widened by
    ``reach`` of its width on each side (so walls and corners are visited), steered to by
    ``clip(gain * (target - obs) + N(0, noise), -1, 1)`` on the action box. It reaches
    and lingers at every part of the task, as the random-goal datasets of offline
    goal-reaching (VPL's two-goal maze) do.

    Args:
        obs_space: A bounded Box observation space.
        space: A bounded Box action space of the same shape.
        rng: Draws the targets and the noise.
        period: Steps between new targets.
        gain: Action per unit of distance to the target.
        noise: Std of the per-step noise, in units of half the action box's width.
        reach: Margin of the targets past the observation box, a fraction of its width.

    Example:
        >>> import gymnasium as gym, numpy as np
        >>> box = gym.spaces.Box(0.0, 1.0, (2,))
        >>> walk = Waypoints(box, gym.spaces.Box(-1.0, 1.0, (2,)), np.random.default_rng(0), 5)
        >>> walk(np.zeros(2)).shape
        (2,)
    """

    def __init__(
        self,
        obs_space: gym.Space,
        space: gym.Space,
        rng: np.random.Generator,
        period: int,
        gain: float = 10.0,
        noise: float = 0.1,
        reach: float = 0.1,
    ) -> None:
        if not is_point_task(obs_space, space):
            raise SpaceMismatchError(
                f"Waypoints needs bounded Box observation and action spaces of one shape (a "
                f"point task), got {obs_space} and {space}; use behaviour 'drift'."
            )
        self.obs_low, self.obs_high = obs_space.low, obs_space.high
        self.low, self.high, self.dtype = space.low, space.high, space.dtype
        self.rng, self.period = rng, check_int(period, "Waypoints: period", 1)
        self.gain = check_number(gain, "Waypoints: gain", 0, low_open=True)
        self.noise = check_number(noise, "Waypoints: noise", 0)
        self.reach = check_number(reach, "Waypoints: reach", 0)
        self.t, self.target = 0, self.obs_low

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        if self.t % self.period == 0:  # a margin past the walls: it also lingers there
            margin = self.reach * (self.obs_high - self.obs_low)
            self.target = self.rng.uniform(self.obs_low - margin, self.obs_high + margin)
        self.t += 1
        push = self.gain * (self.target - np.asarray(obs, dtype=np.float64))
        unit = np.clip(push + self.rng.normal(0, self.noise, push.shape), -1, 1)
        return (self.low + (unit + 1) / 2 * (self.high - self.low)).astype(self.dtype)


def is_point_task(obs_space: gym.Space, action_space: gym.Space) -> bool:
    """Whether both spaces are bounded Boxes of one shape (the action moves the point)."""
    return all(
        isinstance(s, gym.spaces.Box) and s.is_bounded() for s in (obs_space, action_space)
    ) and (obs_space.shape == action_space.shape)


BEHAVIOURS = ("auto", "drift", "waypoints")


def offline_segments(
    task: TaskSpec, steps: int, H: int, seed: int, behaviour: str = "auto"
) -> Segments:
    """Every ``H``-step window of ``steps`` transitions of a behaviour policy on ``task``,
    seeded by ``seed``: :class:`Waypoints` (two targets per horizon) or :class:`Drift`
    (five drifts per horizon); ``auto`` takes waypoints on a point task
    (:func:`is_point_task`), else drift."""
    if behaviour not in BEHAVIOURS:
        raise unknown("offline behaviour", behaviour, BEHAVIOURS)
    env = make(task)
    try:
        horizon, rng = task.horizon or 1000, np.random.default_rng(seed)
        if behaviour == "auto":
            point = is_point_task(env.observation_space, env.action_space)
            behaviour = "waypoints" if point else "drift"
        if behaviour == "waypoints":
            policy: Drift | Waypoints = Waypoints(
                env.observation_space, env.action_space, rng, max(1, horizon // 2)
            )
        else:
            policy = Drift(env.action_space, rng, max(1, horizon // 5))
        return cut_segments(rollout(env, policy, steps, seed=seed), H=H)
    finally:
        env.close()


__all__ = ["BEHAVIOURS", "Drift", "Waypoints", "is_point_task", "offline_segments"]
