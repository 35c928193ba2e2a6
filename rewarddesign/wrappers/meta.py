"""MetaLearnedReward: the reward blend BARFI meta-learned, applied to any env of its task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign.errors import SpaceMismatchError, SpecError, unknown
from rewarddesign.wrappers.core import RewardTransform, Transition, WrapContext, check_finite
from rewarddesign.wrappers.forms import RewardWrapper, forms_of


class MetaBlendTransform(RewardTransform):
    """``phi1(s) + phi2(s) * r_primary + phi3(s) * r_aux`` from a saved :class:`MetaBlend`."""

    needs_task = True

    def __init__(self, blend: Any) -> None:
        from rewarddesign.models.meta_blend import MetaBlend

        self.blend = blend if isinstance(blend, MetaBlend) else MetaBlend.load(blend)

    def bind(self, ctx: WrapContext) -> None:
        task = ctx.require_task()
        b = self.blend
        if b.task and b.task != task.id:
            raise SpecError(
                f"{ctx.where}: the blend was learned on task {b.task!r}, the env is {task.id!r}; "
                "use a blend learned on this task."
            )
        if b.aux not in task.auxiliary:
            raise unknown(f"auxiliary reward of task {task.id!r}", b.aux, task.auxiliary)
        space = ctx.observation_space
        if not isinstance(space, gym.spaces.Box) or int(np.prod(space.shape)) != b.obs_dim:
            raise SpaceMismatchError(
                f"{ctx.where}: the blend reads {b.obs_dim} observation features, the env's "
                f"observations are {space}."
            )
        self._aux, self._names = task.auxiliary[b.aux], task.factor_names

    def __call__(self, t: Transition) -> np.ndarray:
        aux = self._aux.compute(t.factors, self._names)
        out = self.blend.numpy_reward(t.obs, t.true_reward, aux)
        return check_finite(out, "meta-learned blend", len(out))


class MetaLearnedReward(RewardWrapper):
    """Reward = the blend BARFI learned: ``phi1(s) + phi2(s) r_p + phi3(s) r_aux``.

    Train any agent on it with the learned discount, ``gamma=env.gamma`` (the SB3 agent
    factory takes it as an override). The primary reward stays in ``info["true_reward"]``.

    Args:
        env: An env of the task the blend was learned on (``rd.make``, or a plain
            ``gymnasium.make`` env of that task).
        blend: A :class:`~rewarddesign.models.meta_blend.MetaBlend` or the folder a
            ``barfi`` run saved it to (``<save_dir>/meta_blend``).

    Example:
        >>> import rewarddesign as rd
        >>> from rewarddesign.models.meta_blend import MetaBlend
        >>> blend = MetaBlend(4, phi_init=(0.0, 1.0, 0.0), task="barfi/CartPole",
        ...                   aux="helpful")
        >>> env = MetaLearnedReward(rd.make("barfi/CartPole"), blend)
        >>> _ = env.reset(seed=0)
        >>> env.step(0)[1], round(env.gamma, 2)  # phi = (0, 1, 0): the primary reward
        (1.0, 0.99)
    """

    Transform = MetaBlendTransform

    def __init__(self, env: gym.Env, blend: Any) -> None:
        if isinstance(blend, str | Path):
            blend = Path(blend)
        super().__init__(env, blend=blend)

    @property
    def gamma(self) -> float:
        """The discount BARFI learned with the blend."""
        return float(self.transform.blend.gamma.detach())


VectorMetaLearnedReward, VecEnvMetaLearnedReward = forms_of(MetaLearnedReward)
