"""Reward methods, registered in one place: :data:`METHODS`.

Each method is one small class in its own module (see :mod:`.base` for the interface).
"""

from __future__ import annotations

from rewarddesign.errors import unknown
from rewarddesign.methods.barfi import Barfi
from rewarddesign.methods.base import Method, RunContext, SB3Method
from rewarddesign.methods.blend import Blend, Weighted
from rewarddesign.methods.heron import Heron
from rewarddesign.methods.learned import Learned
from rewarddesign.methods.pbrl import Pbrl
from rewarddesign.methods.plural import Plural
from rewarddesign.methods.shaping import Shaping
from rewarddesign.methods.true_reward import TrueReward

METHODS: dict[str, type[Method]] = {
    cls.name: cls
    for cls in (TrueReward, Blend, Weighted, Shaping, Pbrl, Heron, Barfi, Plural, Learned)
}


def get(name: str) -> type[Method]:
    """The method class registered under ``name``."""
    if name not in METHODS:
        raise unknown("method", name, METHODS)
    return METHODS[name]


__all__ = ["METHODS", "Method", "RunContext", "SB3Method", "get"]
