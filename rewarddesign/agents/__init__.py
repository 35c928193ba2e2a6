"""Agents: the factory (``rd.agents.make``, ``config``, ``save``, ``load``), device
resolution, the SB3 family and the policy-gradient learner that BARFI trains (:mod:`.pg`).

Example:
    >>> import rewarddesign as rd
    >>> env = rd.make("classic/Pendulum-v1")
    >>> model = rd.agents.make("sac", env, seed=0, preset="fast")
    >>> type(model).__name__
    'SAC'
"""

from __future__ import annotations

from rewarddesign.agents.factory import (
    ALGORITHMS,
    EXTRA_KEYS,
    RESERVED_KEYS,
    check_action_space,
    config,
    load,
    make,
    resolve_device,
    save,
)

__all__ = [
    "ALGORITHMS",
    "EXTRA_KEYS",
    "RESERVED_KEYS",
    "check_action_space",
    "config",
    "load",
    "make",
    "resolve_device",
    "save",
]
