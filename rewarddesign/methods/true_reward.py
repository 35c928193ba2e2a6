"""Method ``true``: train on the task's true reward (the baseline every table needs)."""

from __future__ import annotations

from rewarddesign.methods.base import RunContext, SB3Method


class TrueReward(SB3Method):
    """Train the agent on the task's true reward: the env's own reward, or the spec's
    ``primary`` reward where it declares one.

    Example:
        >>> import rewarddesign as rd
        >>> r = rd.run("classic/Pendulum-v1", "true", "sac", seed=0, budget=300,
        ...            agent_preset="fast", eval_episodes=1)
        >>> r.env_steps
        300
    """

    name = "true"

    def proxy_wrapper(self, ctx: RunContext) -> None:
        """None: the agent trains on the true reward, there is no proxy."""
        return None
