"""MetaWorld v3 tasks (MT1): float32 observations and the gripper term of the rewards.

``gymnasium.make("Meta-World/MT1", env_name=...)`` samples a new goal at every reset
(its RandomTaskSelectWrapper, as B-Pref randomises goals per episode) and runs 500-step
episodes; task specs pass ``seed: 0`` so the benchmark's 50 goal variants are the same in
every process, and a seeded reset picks the same goal. ``info`` already carries the
reward terms (``grasp_reward``, ``in_place_reward``, ``near_object``, ``obj_to_target``,
``success``); the adapter adds ``tcp_closed`` (the gripper opening term some rewards
use) and casts observations to float32.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rewarddesign.errors import SpecError
from rewarddesign.task.suites.float32 import Float32Observations


class MetaWorldAdapter(Float32Observations):
    """A MetaWorld env with float32 observations and ``info["tcp_closed"]``.

    Args:
        env: An env from ``gymnasium.make("Meta-World/MT1", env_name=NAME)``.

    Example:
        >>> import gymnasium as gym, metaworld
        >>> env = MetaWorldAdapter(gym.make("Meta-World/MT1", env_name="reach-v3", seed=0))
        >>> obs, _ = env.reset(seed=0)
        >>> obs.dtype, obs.shape
        (dtype('float32'), (39,))
    """

    def __init__(self, env: gym.Env) -> None:
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or space.shape != (39,):
            raise SpecError(
                f"adapter 'metaworld' expects MetaWorld's 39-dimensional Box observations, got "
                f"{space}; use env.id Meta-World/MT1 with module metaworld."
            )
        super().__init__(env)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:  # MT1 picks the episode's goal before it reseeds: seed first
            self.env.unwrapped.np_random = np.random.default_rng(seed)
        return super().reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        # the rewards' gripper term: max(obs[3], 0) of the observation after the step
        info["tcp_closed"] = max(float(obs[3]), 0.0)
        return self.observation(obs), reward, terminated, truncated, info


__all__ = ["MetaWorldAdapter"]
