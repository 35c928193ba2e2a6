"""The task core: task specs and their parser, reward factors, the registry (``rd.make``,
``rd.tasks``, ``rd.task_spec``), factor observers, suite adapters and the packaged envs.

It imports no wrapper, method, agent or CLI.
"""

from __future__ import annotations

from rewarddesign.task.registry import make, task_spec, tasks
from rewarddesign.task.spec import TaskSpec

__all__ = ["TaskSpec", "make", "task_spec", "tasks"]
