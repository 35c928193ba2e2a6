"""Method ``blend``: train on a weighted sum of the task's reward factors."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym

from rewarddesign.errors import SpecError
from rewarddesign.methods.base import RunContext, SB3Method
from rewarddesign.taskspec import TaskSpec
from rewarddesign.wrappers.shaping import BlendedReward, blend_weights


@dataclass(frozen=True)
class BlendParams:
    """Parameters of ``blend``.

    Attributes:
        weights: ``{factor name or "primary": weight}``; None takes the task spec's
            reward weights (the env's own reward, formed from the factors).
    """

    weights: dict[str, float] | None = None


class Blend(SB3Method):
    """Train on ``BlendedReward(env, weights)``.

    Example:
        >>> import rewarddesign as rd
        >>> r = rd.run("classic/Pendulum-v1", "blend", "sac", seed=0, budget=300,
        ...            agent_preset="fast", eval_episodes=1,
        ...            weights={"theta_sq": -1.0, "u_sq": -0.01})
        >>> r.spec.method_params["weights"]["u_sq"]
        -0.01
    """

    name = "blend"
    Params = BlendParams

    def weights(self, task: TaskSpec) -> dict[str, float]:
        """The weights in force for a task."""
        if self.params.weights is not None:
            return self.params.weights
        if not task.default_weights:
            raise SpecError(
                f"task {task.id!r} forms its reward by formula {task.reward.formula!r}, not a "
                f"weighted sum; give blend weights over {list(task.factor_names)}."
            )
        return task.default_weights

    def validate(self, task: TaskSpec, agent: str) -> None:
        blend_weights(self.weights(task), task, f"blend weights for task {task.id!r}")

    def wrap(self, env: gym.Env, ctx: RunContext) -> gym.Env:
        return BlendedReward(env, self.weights(ctx.task))
