"""Reward wrappers: each turns a task env's factors into the reward an agent trains on.

The true (primary) reward always stays visible in ``info["true_reward"]``.
"""

from __future__ import annotations

from rewarddesign.wrappers.shaping import BlendedReward

__all__ = ["BlendedReward"]
