"""LearnedReward: the reward predicted by a reward model (mean over its ensemble)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign.errors import SpaceMismatchError, SpecError
from rewarddesign.wrappers.core import RewardTransform, Transition, WrapContext, finite_one
from rewarddesign.wrappers.forms import RewardWrapper, forms_of


def _encoding(space: gym.Space) -> tuple[tuple[int, ...], int]:
    """(shape, number of values) of a space as reward models encode it (0: not discrete)."""
    if isinstance(space, gym.spaces.Discrete):
        return (), int(space.n)
    return tuple(int(d) for d in space.shape), 0


class LearnedRewardTransform(RewardTransform):
    """Batched inference of a reward model on the model's device."""

    def __init__(self, model: Any, latent: Any = None) -> None:
        if isinstance(model, str | Path):
            raise SpecError(
                f"LearnedReward needs a reward model, got the path {str(model)!r}; load it "
                "first: rewarddesign.models.RewardEnsemble.load(path)."
            )
        if latent is not None:  # one user's reward of a population model
            if not hasattr(model, "at"):
                raise SpecError(
                    f"LearnedReward: latent={latent!r} needs a model of a population of users "
                    f"(RewardMixture: a cluster; LatentRewardModel: a latent), got "
                    f"{type(model).__name__}; drop latent for a single reward model."
                )
            model = model.at(latent)
        if latent is None and hasattr(model, "at"):
            raise SpecError(
                f"LearnedReward: a {type(model).__name__} models a population of users; "
                "pass latent= (a cluster of a RewardMixture, a latent of a "
                "LatentRewardModel) to say whose reward."
            )
        if not (hasattr(model, "predict") and hasattr(model, "config")):
            raise SpecError(
                f"LearnedReward needs a reward model (rewarddesign.models.RewardEnsemble), "
                f"got {type(model).__name__}."
            )
        self.model = model
        self.needs_task = model.config.inputs == "obs_factors"

    def bind(self, ctx: WrapContext) -> None:
        have = self.model.config
        for key, (shape, n) in (
            ("obs", _encoding(ctx.observation_space)),
            ("act", _encoding(ctx.action_space)),
        ):
            model_shape = tuple(getattr(have, f"{key}_shape"))
            model_n = have.n_states if key == "obs" else have.n_actions
            if (shape, n) != (model_shape, model_n):
                raise SpaceMismatchError(
                    f"{ctx.where}: the reward model was built for {key}_shape={model_shape} "
                    f"(discrete: {model_n}), the env has {shape} (discrete: {n}); use a model "
                    "trained on this task."
                )
        if self.needs_task and len(ctx.require_task().factor_names) != have.factor_dim:
            raise SpaceMismatchError(
                f"{ctx.where}: the reward model reads {have.factor_dim} factors, task "
                f"{ctx.task.id!r} has {len(ctx.task.factor_names)}."
            )

    def __call__(self, t: Transition) -> np.ndarray:
        return self.model.predict(t.obs, t.action, t.next_obs, t.factors)

    def one(self, obs, action, next_obs, reward, terminated, truncated, info, factors) -> float:
        factors = np.array([factors]) if self.needs_task else None
        batch = (np.asarray(obs)[None], np.asarray(action)[None], np.asarray(next_obs)[None])
        return finite_one(self.model.predict(*batch, factors), "reward model")


class LearnedReward(RewardWrapper):
    """Reward = a learned reward model's prediction (the mean over ensemble members).

    The true reward stays in ``info["true_reward"]``; the env's in ``info["env_reward"]``.

    Args:
        env: Any env whose spaces match the model's.
        model: A :class:`~rewarddesign.models.RewardEnsemble` (or anything with
            ``predict(obs, actions, next_obs, factors)`` and a matching ``config``).
        latent: For a model of a population of users: whose reward, a cluster of a
            :class:`~rewarddesign.models.mixture.RewardMixture` or a latent of a
            :class:`~rewarddesign.models.vpl.LatentRewardModel` (``model.at(latent)``).

    Example:
        >>> import gymnasium as gym
        >>> from rewarddesign.models import EnsembleConfig, RewardEnsemble
        >>> env = gym.make("Pendulum-v1")
        >>> model = RewardEnsemble(EnsembleConfig.for_spaces(env.observation_space,
        ...                                                  env.action_space, hidden=(8,)), "cpu")
        >>> env = LearnedReward(env, model)
        >>> obs, _ = env.reset(seed=0)
        >>> _, r, *_, info = env.step(env.action_space.sample())
        >>> isinstance(r, float) and "true_reward" in info
        True
    """

    Transform = LearnedRewardTransform

    def __init__(self, env: gym.Env, model: Any, latent: Any = None) -> None:
        super().__init__(env, model=model, latent=latent)


VectorLearnedReward, VecEnvLearnedReward = forms_of(LearnedReward)
