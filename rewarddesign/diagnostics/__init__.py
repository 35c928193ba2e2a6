"""Reward diagnostics: distances between rewards (EPIC, DARD) from transitions, without
training an agent; the adapter that turns any reward here into a batched function of
transitions; a learned reward's measures against the true one; over-optimisation on a
learning curve. Pure functions over arrays, batched."""

from __future__ import annotations

from rewarddesign.diagnostics.comparison import compare
from rewarddesign.diagnostics.dard import dard
from rewarddesign.diagnostics.epic import (
    Coverage,
    DistanceMatrix,
    Transitions,
    canonicalize,
    distance_matrix,
    draw_coverage,
    epic,
    pearson_distance,
)
from rewarddesign.diagnostics.measures import LearnedVsTrue, learned_vs_true
from rewarddesign.diagnostics.overoptimisation import find_overoptimisation
from rewarddesign.diagnostics.rewards import as_reward
from rewarddesign.diagnostics.tabular import tabular_dard, tabular_epic

__all__ = [
    "Coverage",
    "DistanceMatrix",
    "LearnedVsTrue",
    "Transitions",
    "as_reward",
    "canonicalize",
    "compare",
    "dard",
    "distance_matrix",
    "draw_coverage",
    "epic",
    "find_overoptimisation",
    "learned_vs_true",
    "pearson_distance",
    "tabular_dard",
    "tabular_epic",
]
