"""The wrappers of ``plural``'s policies that are not conditioned: a persona's own reward
(the oracle, and every per-group evaluation) and MaxMin's reward of the worst-off group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign.common.checks import check_number
from rewarddesign.errors import ParameterError
from rewarddesign.task.spec import PersonaSpec
from rewarddesign.wrappers.core import finite_one


class PersonaReward(gym.Wrapper):
    """The persona's reward of each step's factors, as the env's reward and as
    ``info["true_reward"]``: what its user is served by.

    Args:
        env: A task env (``info["factors"]`` in the task's order).
        persona: One of the task's personas.
        names: The task's factor names.

    Example:
        >>> import numpy as np, rewarddesign as rd
        >>> task = rd.task_spec("gridworld/two-goals")
        >>> env = PersonaReward(rd.make(task), task.personas["left"], task.factor_names)
        >>> _ = env.reset(seed=0)
        >>> _, r, *_, info = env.step(np.zeros(2, dtype=np.float32))
        >>> bool(r == info["true_reward"] == -info["factors"][0])
        True
    """

    def __init__(self, env: gym.Env, persona: PersonaSpec, names: Sequence[str]) -> None:
        super().__init__(env)
        self.persona, self.names = persona, tuple(names)

    def step(self, action: Any):
        obs, _, terminated, truncated, info = self.env.step(action)
        reward = float(self.persona.reward.compute(np.asarray(info["factors"]), self.names))
        info["true_reward"] = reward
        return obs, reward, terminated, truncated, info


class MaxMinReward(gym.Wrapper):
    """MaxMin-RLHF's policy objective (Chakraborty et al. 2024): each episode trains on
    the learned reward of the group whose expected return under the current policy is
    lowest.

    Every step is scored by each group's reward; at an episode's end each group's
    return updates a running mean (``ema``), and the next episode trains on the group
    with the lowest one (the first episode, on group 0).

    Args:
        env: The monitored task env.
        groups: One reward model per group (``predict(obs, actions, next_obs, factors)``).
        ema: Weight of the newest episode in each group's running return, in (0, 1].

    ``info["maxmin_group"]`` is the group an episode trains on.
    """

    def __init__(self, env: gym.Env, groups: Sequence[Any], ema: float = 0.1) -> None:
        super().__init__(env)
        if len(groups) < 2:
            raise ParameterError(
                f"MaxMinReward needs at least 2 groups' rewards, got {len(groups)}; with one "
                "group it is that group's reward (train on it directly)."
            )
        self.groups = list(groups)
        self.ema = check_number(ema, "MaxMinReward: ema", 0, 1, low_open=True)
        self.returns = np.full(len(groups), np.nan)  # running mean return per group
        self._episode = np.zeros(len(groups))
        self.group = 0
        self._obs: Any = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        first = np.isnan(self.returns).any()  # no episode has ended yet
        self.group = 0 if first else int(np.argmin(self.returns))
        self._episode[:] = 0.0
        self._obs = obs
        info["maxmin_group"] = self.group
        return obs, info

    def step(self, action: Any):
        obs, _, terminated, truncated, info = self.env.step(action)
        factors = info.get("factors")
        batch = (np.asarray(self._obs)[None], np.asarray(action)[None], np.asarray(obs)[None])
        extra = None if factors is None else np.asarray(factors)[None]
        rewards = [finite_one(g.predict(*batch, extra), "reward model") for g in self.groups]
        self._episode += rewards
        self._obs = obs
        if terminated or truncated:
            if np.isnan(self.returns).any():
                self.returns = self._episode.copy()
            else:
                self.returns += self.ema * (self._episode - self.returns)
        info["maxmin_group"] = self.group
        return obs, rewards[self.group], terminated, truncated, info


__all__ = ["MaxMinReward", "PersonaReward"]
