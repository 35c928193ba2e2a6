"""rewarddesign: reward design for control and robot tasks.

Example:
    >>> import rewarddesign as rd
    >>> env = rd.wrappers.BlendedReward(rd.make("mujoco/HalfCheetah-v5"),
    ...                                 weights={"forward": 1.0, "ctrl": -0.1})
    >>> "classic/Pendulum-v1" in rd.tasks()
    True
"""

from __future__ import annotations

import importlib.metadata

from rewarddesign import agents, errors, wrappers
from rewarddesign.runner import execute, run
from rewarddesign.runspec import EvalSpec, RunResult, RunSpec
from rewarddesign.task_registry import make, task_spec, tasks

try:
    __version__ = importlib.metadata.version("rewarddesign")
except importlib.metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+source"

__all__ = [
    "EvalSpec",
    "RunResult",
    "RunSpec",
    "__version__",
    "agents",
    "errors",
    "execute",
    "make",
    "run",
    "task_spec",
    "tasks",
    "wrappers",
]
