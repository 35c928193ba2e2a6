"""Method ``blend``: train on a weighted sum of the task's reward factors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym

from rewarddesign.common.checks import is_number
from rewarddesign.errors import ParameterError, SpecError
from rewarddesign.methods.base import RunContext, SB3Method
from rewarddesign.task.spec import TaskSpec
from rewarddesign.wrappers.blended import BlendedReward, blend_weights, read_weights


@dataclass(frozen=True)
class BlendParams:
    """Parameters of ``blend``.

    Attributes:
        weights: ``{factor name or "primary": weight}``, or the path of a YAML file of
            tuned weights (``rewarddesign tune --out``); None takes the task spec's
            reward weights (the env's own reward, formed from the factors).
    """

    weights: dict[str, float] | str | None = None

    def __post_init__(self) -> None:
        # read a file here, so a run (and its key) holds the weights, not a path whose
        # contents can change
        if isinstance(self.weights, str | Path):
            object.__setattr__(self, "weights", read_weights(self.weights))


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


@dataclass(frozen=True)
class WeightedParams:
    """Parameters of ``weighted``.

    Attributes:
        beta: Weight ratio between consecutive levels, in (0, 1].
        order: Factor names, most important first (None: the task spec's ``heron:``).
        signs: +1 where more is better, -1 for costs (None: the spec's).
    """

    beta: float = 0.5
    order: tuple[str, ...] | None = None
    signs: tuple[int, ...] | None = None


class Weighted(Blend):
    """HERON's weighted-sum baseline: ``r = sum_l beta^(l-1) * s_l * z_l`` on raw factors.

    Uses the same ranking as ``heron`` (the task spec's ``heron:`` section unless given);
    the paper tunes ``beta`` per task.

    Example:
        >>> from rewarddesign.task.registry import task_spec
        >>> m = Weighted(Weighted.parse_params({"beta": 0.5}))
        >>> m.weights(task_spec("classic/Pendulum-v1"))
        {'theta_sq': -1.0, 'theta_dot_sq': -0.5, 'u_sq': -0.25}
    """

    name = "weighted"
    Params = WeightedParams

    def weights(self, task: TaskSpec) -> dict[str, float]:
        p = self.params
        if not is_number(p.beta) or not 0 < p.beta <= 1:
            raise ParameterError(f"weighted: beta must be in (0, 1], got {p.beta!r}.")
        rank = task.ranking(p.order, p.signs)
        return {
            n: float(s * p.beta**lvl)
            for lvl, (n, s) in enumerate(zip(rank.order, rank.signs, strict=True))
        }
