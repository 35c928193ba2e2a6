"""Old path of :mod:`rewarddesign.task.continuous_gridworld` (``env.module`` of task specs)."""

from rewarddesign.task.continuous_gridworld import ContinuousGridWorld  # noqa: F401
