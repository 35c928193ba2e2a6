"""``gymnasium.vector`` forms of the reward wrappers (next-step autoreset).

Example:
    >>> import gymnasium as gym, numpy as np
    >>> from rewarddesign.wrappers import vector
    >>> envs = gym.vector.SyncVectorEnv([lambda: gym.make("Pendulum-v1")] * 2)
    >>> envs = vector.PotentialShaping(envs, lambda o: -o[:, 2] ** 2, gamma=0.99)
    >>> _ = envs.reset(seed=0)
    >>> envs.step(np.zeros((2, 1), dtype=np.float32))[1].shape
    (2,)
"""

from __future__ import annotations

from rewarddesign.wrappers.blended import VectorBlendedReward as BlendedReward
from rewarddesign.wrappers.bounded import VectorCenteredSigmoid as CenteredSigmoid
from rewarddesign.wrappers.constrained import VectorConstrainedReward as ConstrainedReward
from rewarddesign.wrappers.gated import VectorGatedReward as GatedReward
from rewarddesign.wrappers.learned import VectorLearnedReward as LearnedReward
from rewarddesign.wrappers.meta import VectorMetaLearnedReward as MetaLearnedReward
from rewarddesign.wrappers.pessimistic import VectorPessimisticReward as PessimisticReward
from rewarddesign.wrappers.potential import VectorPotentialShaping as PotentialShaping

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
