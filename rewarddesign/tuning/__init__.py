"""Optuna tuning of blending weights and method parameters (``rd.tune``, ``rewarddesign tune``)."""

from __future__ import annotations

from rewarddesign.tuning.study import (
    DEFAULT_STORAGE,
    Dimension,
    Objective,
    TuneConfig,
    best_weights,
    open_storage,
    redact,
    search_space,
    storage_url,
    tune,
    work,
    write_best,
)

__all__ = [
    "DEFAULT_STORAGE",
    "Dimension",
    "Objective",
    "TuneConfig",
    "best_weights",
    "open_storage",
    "redact",
    "search_space",
    "storage_url",
    "tune",
    "work",
    "write_best",
]
