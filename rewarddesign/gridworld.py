"""Old path of :mod:`rewarddesign.task.gridworld`: task specs name it in ``env.module``."""

from rewarddesign.task.gridworld import DeliveryGridworld, RandomMDP, TabularEnv  # noqa: F401
