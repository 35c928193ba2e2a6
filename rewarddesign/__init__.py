"""rewarddesign: reward design for control and robot tasks.

Attributes are imported on first use, so ``import rewarddesign`` (and the command line)
stays fast until torch or Stable-Baselines3 are actually needed.

Example:
    >>> import rewarddesign as rd
    >>> env = rd.wrappers.BlendedReward(rd.make("mujoco/HalfCheetah-v5"),
    ...                                 weights={"forward": 1.0, "ctrl": -0.1})
    >>> "classic/Pendulum-v1" in rd.tasks()
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rewarddesign.common.version import package_version

__version__ = package_version()

# public name -> module that defines it (modules themselves map to their own path)
_LAZY = {
    "EvalSpec": "rewarddesign.contract.runspec",
    "RunResult": "rewarddesign.contract.runspec",
    "RunSpec": "rewarddesign.contract.runspec",
    "check_task": "rewarddesign.task.check",
    "compare": "rewarddesign.diagnostics.comparison",
    "diagnostics": "rewarddesign.diagnostics",
    "execute": "rewarddesign.experiment.runner",
    "run": "rewarddesign.experiment.runner",
    "make": "rewarddesign.task.registry",
    "task_spec": "rewarddesign.task.registry",
    "tasks": "rewarddesign.task.registry",
    "tune": "rewarddesign.tuning",
    "tuning": "rewarddesign.tuning",
    "agents": "rewarddesign.agents",
    "errors": "rewarddesign.errors",
    "wrappers": "rewarddesign.wrappers",
    "preferences": "rewarddesign.preferences",
    "models": "rewarddesign.models",
}

__all__ = [
    "EvalSpec",
    "RunResult",
    "RunSpec",
    "__version__",
    "agents",
    "check_task",
    "compare",
    "diagnostics",
    "errors",
    "execute",
    "make",
    "models",
    "preferences",
    "run",
    "task_spec",
    "tasks",
    "tune",
    "tuning",
    "wrappers",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'rewarddesign' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    value = module if module.__name__.endswith("." + name) else getattr(module, name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # for type checkers and IDEs
    from rewarddesign import agents, diagnostics, errors, models, preferences, tuning, wrappers
    from rewarddesign.contract.runspec import EvalSpec, RunResult, RunSpec
    from rewarddesign.diagnostics.comparison import compare
    from rewarddesign.experiment.runner import execute, run
    from rewarddesign.task.check import check_task
    from rewarddesign.task.registry import make, task_spec, tasks
    from rewarddesign.tuning import tune
