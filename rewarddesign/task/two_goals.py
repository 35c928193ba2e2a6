"""A continuous GridWorld with two goals, for populations of users who want different
things (VPL's two-goal maze, Poddar et al. 2024).

The agent starts near ``(0.5, 0.1)`` in the unit square and moves by ``0.1 * action``
(a 2-D action in ``[-1, 1]``, plus Gaussian noise of std ``noise``). Goal disks of
radius 0.1 sit at the top left ``(0.15, 0.85)`` and top right ``(0.85, 0.85)``. No goal
ends an episode (the task's horizon does): a user who wants the left goal should stay
there, and passing through the other user's goal is no escape. The env's own reward is
goal-agnostic, ``-min(distance to either goal) + 1`` inside either disk; the task spec's
personas (``left``, ``right``) each reward one goal. Importing this module registers the
env id.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rewarddesign.errors import ParameterError

LEFT = np.array([0.15, 0.85])
RIGHT = np.array([0.85, 0.85])
RADIUS = 0.1
START = np.array([0.5, 0.1])
STEP = 0.1


class TwoGoalGridWorld(gym.Env):
    """Continuous positions, continuous moves, two goal disks.

    Args:
        noise: Std of the Gaussian noise added to each move.

    Example:
        >>> env = TwoGoalGridWorld()
        >>> obs, _ = env.reset(seed=0)
        >>> obs.shape, env.action_space.shape
        ((2,), (2,))
    """

    def __init__(self, noise: float = 0.01) -> None:
        if not (isinstance(noise, int | float) and 0 <= noise <= 1):
            raise ParameterError(f"TwoGoalGridWorld noise must be in [0, 1], got {noise!r}.")
        self.noise = float(noise)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (2,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), dtype=np.float32)
        self.pos = START.copy()

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.pos = START + self.np_random.uniform(-0.05, 0.05, 2)
        return self.pos.astype(np.float32), {}

    def step(self, action):
        move = STEP * np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        if self.noise:
            move = move + self.np_random.normal(0.0, self.noise, 2)
        self.pos = np.clip(self.pos + move, 0.0, 1.0)
        obs = self.pos.astype(np.float32)
        # the factors read the float32 observation, so the reward here does too
        where = obs.astype(np.float64)
        near = min(np.linalg.norm(where - LEFT), np.linalg.norm(where - RIGHT))
        reward = -near + float(near <= RADIUS + 1e-6)
        return obs, float(reward), False, False, {}


if "rewarddesign/TwoGoalGridWorld-v0" not in gym.registry:
    gym.register("rewarddesign/TwoGoalGridWorld-v0", entry_point=TwoGoalGridWorld)
