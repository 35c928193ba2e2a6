"""Suite adapters: what a suite's raw Gymnasium env needs before its task spec applies.

A task spec names one in ``env.adapter``; :func:`rewarddesign.make` wraps the env from
``gymnasium.make`` in it, below the factor observer. Adapters give flat float32
observations (a fresh array every step) and put the suite's reward terms into ``info``,
where the spec's factors read them.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym

from rewarddesign.task.suites.dmc import DmcAdapter
from rewarddesign.task.suites.float32 import Float32Observations
from rewarddesign.task.suites.metaworld import MetaWorldAdapter

ADAPTERS: dict[str, Callable[[gym.Env], gym.Env]] = {
    "float32": Float32Observations,
    "dmc": DmcAdapter,
    "metaworld": MetaWorldAdapter,
}
"""Adapters by the name a task spec's ``env.adapter`` gives."""

__all__ = ["ADAPTERS", "DmcAdapter", "Float32Observations", "MetaWorldAdapter"]
