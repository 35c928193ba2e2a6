"""Reward models learned from preferences: batched ensembles and their trainer."""

from __future__ import annotations

from rewarddesign.models.ensemble import INPUTS, EnsembleConfig, RewardEnsemble
from rewarddesign.models.training import (
    RewardTrainer,
    TrainStats,
    bradley_terry_loss,
    decided_accuracy,
)

__all__ = [
    "INPUTS",
    "EnsembleConfig",
    "RewardEnsemble",
    "RewardTrainer",
    "TrainStats",
    "bradley_terry_loss",
    "decided_accuracy",
]
