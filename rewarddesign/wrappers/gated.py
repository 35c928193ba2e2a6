"""Gated reward accumulation (G-RA, 2025): shaping counts only if the episode's outcome does.

The immediate shaping of a step is what the wrappers below added to the true reward:
``s_t = r_t - true_reward_t``. Each step pays the true reward; the shaping is held back,
summed over the episode, and paid as one lump on the episode's last step (terminated
or truncated) if the gate holds then, else dropped. So an episode's return equals its
shaped return when the outcome clears the gate, and its true return when it does not.

Gates: ``"success"`` (the task's success indicator was 1 on some step of the episode)
and ``"return"`` (the episode's true return is at least ``threshold``). Both are known
only at the episode's end, hence the lump; a discounting agent sees the lump
discounted, the price of not paying shaping that the outcome does not justify.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rewarddesign.common.checks import check_number
from rewarddesign.errors import ParameterError
from rewarddesign.wrappers.core import (
    Index,
    RewardTransform,
    Transition,
    WrapContext,
)
from rewarddesign.wrappers.forms import RewardWrapper, forms_of

GATES = ("success", "return")


class GatedTransform(RewardTransform):
    """Per env: held-back shaping, true return and success so far in the episode."""

    needs_task = True

    def __init__(self, gate: str, threshold: float | None = None) -> None:
        if gate not in GATES:
            raise ParameterError(f"GatedReward: gate must be one of {GATES}, got {gate!r}.")
        if gate == "success" and threshold is not None:
            raise ParameterError(
                f"GatedReward: the success gate takes no threshold (got {threshold!r}); "
                "use gate='return' to gate on the true return."
            )
        if gate == "return":
            if threshold is None:
                raise ParameterError(
                    "GatedReward: gate='return' needs a threshold on the true return."
                )
            threshold = check_number(threshold, "GatedReward: threshold")
        self.gate, self.threshold = gate, threshold

    def bind(self, ctx: WrapContext) -> None:
        task = ctx.require_task()
        if self.gate == "success" and task.success is None:
            raise ParameterError(
                f"GatedReward: task {task.id!r} defines no success; declare `success:` in its "
                "spec or use gate='return' with a threshold."
            )
        n = ctx.n_envs
        self._held, self._return, self._success = np.zeros(n), np.zeros(n), np.zeros(n, bool)

    def start(self, idx: Index, obs: np.ndarray) -> None:
        self._held[idx], self._return[idx], self._success[idx] = 0.0, 0.0, False
        self._one_state = (0.0, 0.0, False)  # the single-env path keeps Python scalars

    def __call__(self, t: Transition) -> np.ndarray:
        idx = t.idx
        self._held[idx] += t.reward - t.true_reward
        self._return[idx] += t.true_reward
        self._success[idx] |= t.success > 0
        gate = self._success[idx] if self.gate == "success" else self._return[idx] >= self.threshold
        ended = np.logical_or(t.terminated, t.truncated)
        return t.true_reward + np.where(ended & gate, self._held[idx], 0.0)

    def one(self, obs, action, next_obs, reward, terminated, truncated, info, factors) -> float:
        true = info["true_reward"]
        held, total, success = self._one_state
        held, total = held + (reward - true), total + true
        success = success or info.get("success", 0.0) > 0
        self._one_state = (held, total, success)
        gate = success if self.gate == "success" else total >= self.threshold
        return true + (held if (terminated or truncated) and gate else 0.0)


class GatedReward(RewardWrapper):
    """G-RA: pay the true reward each step; pay the shaping as a lump at the episode's
    end only if the outcome clears the gate (see the module docs for the exact rule).

    Args:
        env: An env built by ``rd.make``, usually under a shaping wrapper (whose extra
            reward is what gets gated).
        gate: ``"success"`` or ``"return"``.
        threshold: For ``gate="return"``: the true return the episode must reach.

    Example:
        >>> import rewarddesign as rd
        >>> env = rd.make("classic/MountainCarContinuous-sparse-v0")
        >>> shaped = rd.wrappers.PotentialShaping(env, "energy", 0.99)
        >>> env = rd.wrappers.GatedReward(shaped, gate="success")
        >>> _ = env.reset(seed=0)
        >>> _, r, *_ , info = env.step(env.action_space.sample())
        >>> r == info["true_reward"]  # shaping is held back until the episode ends
        True
    """

    Transform = GatedTransform

    def __init__(self, env: gym.Env, gate: str, threshold: float | None = None) -> None:
        super().__init__(env, gate=gate, threshold=threshold)


VectorGatedReward, VecEnvGatedReward = forms_of(GatedReward)
