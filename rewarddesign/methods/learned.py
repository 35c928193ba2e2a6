"""Method ``learned``: train an agent on a saved reward model (``rewarddesign fit-reward``'s,
or a pbrl run's ``reward_model/``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

from rewarddesign.common.files import require_dir
from rewarddesign.errors import ParameterError
from rewarddesign.methods.base import RunContext, SB3Method
from rewarddesign.models.ensemble import RewardEnsemble
from rewarddesign.task.spec import TaskSpec
from rewarddesign.wrappers.learned import LearnedReward

MODEL_FILES = ("reward_model.json", "reward_model.pt")


@dataclass(frozen=True)
class LearnedParams:
    """Parameters of ``learned``.

    Attributes:
        reward_model: The folder of a saved reward model (``reward_model.json`` and
            ``reward_model.pt``). A run's key holds the model's content, not this path:
            the same model in another folder is the same run.
    """

    reward_model: str | None = None


def model_sha256(folder: str | Path) -> str:
    """One hash of a saved reward model's files (config and weights)."""
    folder = require_dir(folder, "a reward model (reward_model.json and reward_model.pt)")
    h = hashlib.sha256()
    for name in MODEL_FILES:
        h.update(name.encode())
        h.update((folder / name).read_bytes() if (folder / name).is_file() else b"")
    return h.hexdigest()


class Learned(SB3Method):
    """Train on a fixed learned reward: a saved :class:`RewardEnsemble`'s mean prediction.

    Example:
        >>> import numpy as np, tempfile
        >>> import rewarddesign as rd
        >>> from rewarddesign.models import EnsembleConfig, RewardEnsemble
        >>> env = rd.make("classic/Pendulum-v1")
        >>> model = RewardEnsemble(EnsembleConfig.for_spaces(env.observation_space,
        ...                        env.action_space, members=1, hidden=(8,)), "cpu")
        >>> folder = tempfile.mkdtemp()
        >>> model.save(folder)
        >>> r = rd.run("classic/Pendulum-v1", "learned", "sac", seed=0, budget=200,
        ...            agent_preset="fast", eval_episodes=1, reward_model=folder)
        >>> r.env_steps
        200
    """

    name = "learned"
    Params = LearnedParams

    def __init__(self, params: LearnedParams) -> None:
        super().__init__(params)
        self._model: RewardEnsemble | None = None  # loaded once per run, on its device

    @classmethod
    def content_keys(cls, params: LearnedParams) -> dict[str, Any]:
        """The model's content hash in place of its folder."""
        if not isinstance(params.reward_model, str | Path):  # validate() says what is wrong
            return {}
        return {"reward_model": {"sha256": model_sha256(params.reward_model)}}

    def load(self, device: str = "cpu") -> RewardEnsemble:
        """The saved reward model."""
        if self.params.reward_model is None:
            raise ParameterError(
                "method 'learned' needs reward_model=DIR: the folder `rewarddesign "
                "fit-reward --out DIR` (or a pbrl run's reward_model/) wrote."
            )
        if not isinstance(self.params.reward_model, str | Path):
            raise ParameterError(
                f"method 'learned': reward_model must be a folder path, got "
                f"{self.params.reward_model!r}."
            )
        return RewardEnsemble.load(self.params.reward_model, device=device)

    def validate(self, task: TaskSpec, agent: str) -> None:
        """Load the model and bind it to the task's spaces: a model of another task is
        refused before training starts."""
        from rewarddesign.task.registry import make

        env = make(task)
        try:
            LearnedReward(env, self.load())
        finally:
            env.close()

    def wrap(self, env: gym.Env, ctx: RunContext) -> gym.Env:
        if self._model is None:
            self._model = self.load(ctx.device)
        return LearnedReward(env, self._model)
