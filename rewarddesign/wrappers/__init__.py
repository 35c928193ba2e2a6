"""Reward wrappers: each turns an env's reward (or a task's factors) into the reward an
agent trains on.

Every wrapper here is a ``gymnasium.Wrapper``; the same names in
:mod:`rewarddesign.wrappers.vector` (``gymnasium.vector``) and
:mod:`rewarddesign.wrappers.vec_env` (SB3 ``VecEnv``) take the same arguments and give
the same rewards. The true (primary) reward always stays in ``info["true_reward"]``.
"""

from __future__ import annotations

from rewarddesign.wrappers import vec_env, vector
from rewarddesign.wrappers.blended import BlendedReward
from rewarddesign.wrappers.bounded import CenteredSigmoid, RunningQuantile
from rewarddesign.wrappers.constrained import ConstrainedReward, DualAscent
from rewarddesign.wrappers.gated import GatedReward
from rewarddesign.wrappers.learned import LearnedReward
from rewarddesign.wrappers.meta import MetaLearnedReward
from rewarddesign.wrappers.pessimistic import PessimisticReward
from rewarddesign.wrappers.potential import PotentialShaping, agent_value

WRAPPERS = (
    PotentialShaping,
    BlendedReward,
    CenteredSigmoid,
    GatedReward,
    ConstrainedReward,
    PessimisticReward,
    LearnedReward,
    MetaLearnedReward,
)
"""Every reward wrapper, registered in one place (the vector forms follow it)."""

__all__ = [
    "WRAPPERS",
    "BlendedReward",
    "CenteredSigmoid",
    "ConstrainedReward",
    "DualAscent",
    "GatedReward",
    "LearnedReward",
    "MetaLearnedReward",
    "PessimisticReward",
    "PotentialShaping",
    "RunningQuantile",
    "agent_value",
    "vec_env",
    "vector",
]
