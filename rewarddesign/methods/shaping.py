"""Method ``shaping``: potential-based shaping with a potential named in the task spec."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import gymnasium as gym

from rewarddesign import agents
from rewarddesign.common.checks import check_number
from rewarddesign.errors import SpecError, unknown
from rewarddesign.methods.base import RunContext, SB3Method
from rewarddesign.task.spec import TaskSpec
from rewarddesign.wrappers.potential import PotentialShaping


class ShapingWarning(UserWarning):
    """The shaping discount differs from the agent's, so optimal policies may change."""


@dataclass(frozen=True)
class ShapingParams:
    """Parameters of ``shaping``.

    Attributes:
        potential: Name of a potential in the task spec; None takes the task's only one
            (or the first declared, if it declares several).
        gamma: Discount of the shaping term; None takes the agent's discount, which is
            what keeps optimal policies unchanged.
        scale: Multiplier on the potential.
    """

    potential: str | None = None
    gamma: float | None = None
    scale: float = 1.0


class Shaping(SB3Method):
    """Train on ``true reward + gamma * Phi(s') - Phi(s)`` (Ng et al. 1999).

    Example:
        >>> import rewarddesign as rd
        >>> r = rd.run("classic/MountainCarContinuous-sparse-v0", "shaping", "sac", seed=0,
        ...            budget=200, agent_preset="fast", eval_episodes=1,
        ...            agent_overrides={"learning_starts": 100})
        >>> r.spec.method, r.final_success  # 200 steps: not at the goal yet
        ('shaping', 0.0)
    """

    name = "shaping"
    Params = ShapingParams

    def potential(self, task: TaskSpec) -> str:
        """The name of the potential in force for a task."""
        if not task.potentials:
            raise SpecError(
                f"task {task.id!r} declares no potentials; add one under `potentials:` in "
                "its spec to use method 'shaping'."
            )
        name = self.params.potential or next(iter(task.potentials))
        if name not in task.potentials:
            raise unknown(f"potential of task {task.id!r}", name, task.potentials)
        return name

    def validate(self, task: TaskSpec, agent: str) -> None:
        self.potential(task)
        check_number(self.params.scale, "method 'shaping': scale")
        if self.params.gamma is not None:
            check_number(self.params.gamma, "method 'shaping': gamma", 0, 1)

    def gamma(self, ctx: RunContext) -> float:
        """The shaping discount: the agent's unless given; a mismatch warns."""
        spec = ctx.spec
        cfg = agents.config(spec.agent, spec.task, spec.agent_preset, **spec.agent_overrides)
        agent_gamma = float(cfg.get("gamma", 0.99))
        if self.params.gamma is None:
            return agent_gamma
        if self.params.gamma != agent_gamma:
            warnings.warn(
                f"shaping gamma {self.params.gamma} differs from the agent's discount "
                f"{agent_gamma}: potential-based shaping keeps optimal policies only when "
                "they are equal. Leave gamma unset to use the agent's.",
                ShapingWarning,
                stacklevel=2,
            )
        return float(self.params.gamma)

    def wrap(self, env: gym.Env, ctx: RunContext) -> gym.Env:
        return PotentialShaping(env, self.potential(ctx.task), self.gamma(ctx), self.params.scale)
