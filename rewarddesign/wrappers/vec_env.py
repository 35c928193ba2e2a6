"""SB3 ``VecEnv`` forms of the reward wrappers (what SB3 agents step).

Example:
    >>> import gymnasium as gym, numpy as np
    >>> from rewarddesign.wrappers import vec_env
    >>> from stable_baselines3.common.vec_env import DummyVecEnv
    >>> envs = DummyVecEnv([lambda: gym.make("Pendulum-v1")] * 2)
    >>> envs = vec_env.PotentialShaping(envs, lambda o: -o[:, 2] ** 2, gamma=0.99)
    >>> _ = envs.reset()
    >>> envs.step(np.zeros((2, 1), dtype=np.float32))[1].shape
    (2,)
"""

from __future__ import annotations

from rewarddesign.wrappers.blended import VecEnvBlendedReward as BlendedReward
from rewarddesign.wrappers.bounded import VecEnvCenteredSigmoid as CenteredSigmoid
from rewarddesign.wrappers.constrained import VecEnvConstrainedReward as ConstrainedReward
from rewarddesign.wrappers.gated import VecEnvGatedReward as GatedReward
from rewarddesign.wrappers.learned import VecEnvLearnedReward as LearnedReward
from rewarddesign.wrappers.meta import VecEnvMetaLearnedReward as MetaLearnedReward
from rewarddesign.wrappers.pessimistic import VecEnvPessimisticReward as PessimisticReward
from rewarddesign.wrappers.potential import VecEnvPotentialShaping as PotentialShaping

__all__ = [
    "BlendedReward",
    "CenteredSigmoid",
    "ConstrainedReward",
    "GatedReward",
    "LearnedReward",
    "MetaLearnedReward",
    "PessimisticReward",
    "PotentialShaping",
]
