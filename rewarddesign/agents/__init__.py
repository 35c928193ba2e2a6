"""Agents: the factory (``rd.agents.make``, ``config``, ``save``, ``load``), device
resolution, the SB3 (torch) and SBX (JAX) families (:mod:`.kinds`), the adapter methods
read agents through (:func:`view`), and the policy-gradient learner that BARFI trains
(:mod:`.pg`).

Example:
    >>> import rewarddesign as rd
    >>> env = rd.make("classic/Pendulum-v1")
    >>> model = rd.agents.make("sac", env, seed=0, preset="fast")
    >>> type(model).__name__
    'SAC'
"""

from __future__ import annotations

from rewarddesign.agents.access import AgentView, is_jax, kind_of, view
from rewarddesign.agents.factory import (
    EXTRA_KEYS,
    RESERVED_KEYS,
    check_action_space,
    config,
    load,
    make,
    resolve_device,
    save,
)
from rewarddesign.agents.kinds import AGENTS, EXPERT_AGENTS, AgentKind, has_jax, kind
from rewarddesign.agents.sbx import single_threaded_xla

__all__ = [
    "AGENTS",
    "EXPERT_AGENTS",
    "EXTRA_KEYS",
    "RESERVED_KEYS",
    "AgentKind",
    "AgentView",
    "check_action_space",
    "config",
    "has_jax",
    "is_jax",
    "kind",
    "kind_of",
    "load",
    "make",
    "resolve_device",
    "save",
    "single_threaded_xla",
    "view",
]
