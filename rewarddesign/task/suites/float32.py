"""Float32 observations for tasks whose env returns float64 (Gymnasium MuJoCo, MetaWorld)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.utils import RecordConstructorArgs

from rewarddesign.errors import SpaceMismatchError


class Float32Observations(gym.ObservationWrapper, RecordConstructorArgs):
    """Box observations as float32, a fresh array every step.

    SB3 policies and reward models compute in float32 anyway; a float32 replay buffer
    holds half the bytes, and no step's observation aliases another's.

    Example:
        >>> import gymnasium as gym
        >>> env = Float32Observations(gym.make("HalfCheetah-v5"))
        >>> env.reset(seed=0)[0].dtype, env.observation_space.dtype
        (dtype('float32'), dtype('float32'))
    """

    def __init__(self, env: gym.Env) -> None:
        RecordConstructorArgs.__init__(self)
        gym.ObservationWrapper.__init__(self, env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box):
            raise SpaceMismatchError(
                f"float32 observations need a Box observation space, got {space}; drop the "
                "adapter from the task spec."
            )
        self.observation_space = gym.spaces.Box(
            space.low.astype(np.float32), space.high.astype(np.float32), dtype=np.float32
        )

    def observation(self, observation):
        return np.array(observation, dtype=np.float32)  # a copy, even when already float32


__all__ = ["Float32Observations"]
