"""The agents the factory builds, in one registry: their family, class and what they read.

Two families share one interface: SB3 (PyTorch) and SBX (JAX, `sbx-rl`), whose classes
subclass SB3's base classes (the same VecEnvs, callbacks and replay buffers). What a
method needs to know of an agent (does it learn off-policy from a replay buffer, does it
need continuous actions, has it a critic or a squashed-Gaussian actor) is a field of its
:class:`AgentKind`, never a branch on its name.

Example:
    >>> kind("sbx-tqc").off_policy, kind("sbx-tqc").family, kind("ppo").continuous
    (True, 'sbx', False)
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from typing import Any

from rewarddesign.errors import ParameterError, unknown

JAX_EXTRA = "jax"
"""The optional extra that installs the SBX family: ``pip install 'rewarddesign[jax]'``."""


@dataclass(frozen=True)
class AgentKind:
    """One agent of the factory.

    Attributes:
        name: The agent's name in run specs, grids and the CLI (``"sbx-sac"``).
        family: ``"sb3"`` (PyTorch) or ``"sbx"`` (JAX).
        cls_name: Its class in the family's package (``stable_baselines3`` or ``sbx``).
        off_policy: Learns from a replay buffer (``model.replay_buffer``), storing
            actions scaled to [-1, 1].
        continuous: Acts only in a continuous (Box) action space.
        critic: Has a Q critic (``Q(s, a)``).
        gaussian: Its actor is a squashed Gaussian (SAC's), so ``V(s)`` can be sampled.
        counterpart: The agent whose settings its spec follows and whose options it is
            compared with (an SBX agent's SB3 one; an SB3 agent's own name).
    """

    name: str
    family: str
    cls_name: str
    off_policy: bool
    continuous: bool
    critic: bool
    gaussian: bool
    counterpart: str


AGENTS: dict[str, AgentKind] = {
    k.name: k
    for k in (
        AgentKind("sac", "sb3", "SAC", True, True, True, True, "sac"),
        AgentKind("td3", "sb3", "TD3", True, True, True, False, "td3"),
        AgentKind("ppo", "sb3", "PPO", False, False, False, False, "ppo"),
        AgentKind("sbx-sac", "sbx", "SAC", True, True, True, True, "sac"),
        AgentKind("sbx-td3", "sbx", "TD3", True, True, True, False, "td3"),
        AgentKind("sbx-tqc", "sbx", "TQC", True, True, True, True, "sac"),
        AgentKind("sbx-crossq", "sbx", "CrossQ", True, True, True, True, "sac"),
        AgentKind("sbx-ppo", "sbx", "PPO", False, False, False, False, "ppo"),
    )
}
"""Every agent the factory builds, by name (the SB3 family first)."""

EXPERT_AGENTS = tuple(name for name, k in AGENTS.items() if k.critic and k.gaussian)
"""SAC's family (a critic and a squashed-Gaussian actor): the agents whose ``Q`` and
sampled ``V`` an expert's :class:`~rewarddesign.preferences.CriticOracle` reads."""


def kind(name: str) -> AgentKind:
    """The :class:`AgentKind` of an agent name.

    Raises:
        UnknownNameError: For a name not in :data:`AGENTS`.
    """
    if name not in AGENTS:
        raise unknown("agent", name, AGENTS)
    return AGENTS[name]


def has_jax() -> bool:
    """Whether the SBX family's packages (``sbx-rl``, ``jax``) are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("sbx", "jax"))


def prepare_jax() -> None:
    """Set JAX's process settings before it is first imported: allocate GPU memory as it
    is needed rather than 75% of it up front, so a torch reward model and a JAX agent
    share one GPU."""
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")


def agent_class(name: str) -> type[Any]:
    """The class of an agent, importing its family on first use.

    Raises:
        UnknownNameError: For an unknown agent name.
        ParameterError: For an SBX agent when the ``jax`` extra is not installed.
    """
    k = kind(name)
    if k.family == "sb3":
        return getattr(importlib.import_module("stable_baselines3"), k.cls_name)
    if not has_jax():
        raise ParameterError(
            f"agent {name!r} is an SBX (JAX) agent and needs the optional extra "
            f"rewarddesign[{JAX_EXTRA}] (sbx-rl and jax), which is not installed; install it "
            f"with pip install 'rewarddesign[{JAX_EXTRA}]', or use an SB3 agent "
            f"({', '.join(n for n, a in AGENTS.items() if a.family == 'sb3')})."
        )
    prepare_jax()
    return getattr(importlib.import_module("sbx"), k.cls_name)
