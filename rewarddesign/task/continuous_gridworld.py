"""BARFI's continuous GridWorld: reach a goal in the unit square, past a distractor.

The agent starts near ``(0.1, 0.1)`` and moves 0.1 up, down, left or right; with
probability ``noise`` the move is replaced by a uniformly random one. Entering the goal
disk (radius 0.1 around ``(0.9, 0.9)``) ends the episode. ``info`` carries ``goal``
(1 on reaching it), ``step`` (1 per step), ``distance`` (to the goal's centre, after
the step) and ``distractor`` (1 while inside the distractor disk around
``(0.9, 0.1)``). The task spec forms the primary reward ``100 goal - 0.1 step`` and the
auxiliary rewards from these. Importing this module registers the env id.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rewarddesign.errors import ParameterError

GOAL = np.array([0.9, 0.9])
DISTRACTOR = np.array([0.9, 0.1])
RADIUS = 0.1
MOVES = np.array([[0.0, 1.0], [0.0, -1.0], [-1.0, 0.0], [1.0, 0.0]]) * 0.1


class ContinuousGridWorld(gym.Env):
    """Continuous 2-D positions, 4 discrete moves, action noise.

    Args:
        noise: Probability that a move is replaced by a random one.

    Example:
        >>> env = ContinuousGridWorld()
        >>> obs, _ = env.reset(seed=0)
        >>> obs.shape, int(env.action_space.n)
        ((2,), 4)
    """

    def __init__(self, noise: float = 0.1) -> None:
        if not 0 <= noise <= 1:
            raise ParameterError(f"ContinuousGridWorld noise must be in [0, 1], got {noise!r}.")
        self.noise = float(noise)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (2,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(4)
        self.pos = np.zeros(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.pos = np.array([0.1, 0.1]) + self.np_random.uniform(-0.05, 0.05, 2)
        return self.pos.astype(np.float32), {}

    def step(self, action):
        a = int(action)
        if self.np_random.random() < self.noise:
            a = int(self.np_random.integers(4))
        self.pos = np.clip(self.pos + MOVES[a], 0.0, 1.0)
        distance = float(np.linalg.norm(self.pos - GOAL))
        goal = distance <= RADIUS
        info = {
            "goal": float(goal),
            "step": 1.0,
            "distance": distance,
            "distractor": float(np.linalg.norm(self.pos - DISTRACTOR) <= RADIUS),
        }
        reward = 100.0 * goal - 0.1
        return self.pos.astype(np.float32), reward, goal, False, info


if "rewarddesign/ContinuousGridWorld-v0" not in gym.registry:
    gym.register("rewarddesign/ContinuousGridWorld-v0", entry_point=ContinuousGridWorld)
