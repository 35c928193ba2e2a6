"""Policy evaluation on a task's true (primary) reward.

The returns summed here are ``info["true_reward"]``, whatever reward the agent was
trained on, so curves of different reward methods are comparable. Where a method trains
on another reward, the same episodes also sum that one (the *proxy* return, through the
method's own reward wrapper on the evaluation envs): a true return that peaks while the
proxy keeps rising is the mark of reward hacking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from rewarddesign.task.registry import make
from rewarddesign.task.spec import TaskSpec

Predict = Callable[[np.ndarray], np.ndarray]
"""A batched deterministic policy: observations (n, ...) -> actions (n, ...)."""


@dataclass(frozen=True)
class EvalOutcome:
    """Per-episode true returns, lengths, (where the task defines it) successes, sums of
    each reward factor ``(episodes, factors)`` and (with a proxy) proxy returns."""

    returns: np.ndarray
    lengths: np.ndarray
    successes: np.ndarray | None
    factor_sums: np.ndarray
    proxy_returns: np.ndarray | None = None


class Evaluator:
    """Runs a fixed set of seeded episodes of a policy, batching its action queries.

    The episodes always start from the same seeds, so evaluations of the same policy
    give the same numbers and points on a learning curve are comparable.

    Args:
        task: The task spec.
        episodes: Number of episodes per evaluation.
        seed: Episode i starts from ``reset(seed=seed + i)``.
        wrap: Optional wrapper of each episode's env (e.g. a persona's reward as its
            ``info["true_reward"]``, a condition appended to the observation).

    Example:
        >>> import numpy as np, rewarddesign as rd
        >>> ev = Evaluator(rd.task_spec("classic/Pendulum-v1"), episodes=2, seed=0)
        >>> out = ev(lambda obs: np.zeros((len(obs), 1), dtype=np.float32))
        >>> out.returns.shape, int(out.lengths[0]), out.factor_sums.shape
        ((2,), 200, (2, 3))
    """

    def __init__(
        self,
        task: TaskSpec,
        episodes: int,
        seed: int,
        wrap: Callable[[gym.Env], gym.Env] | None = None,
    ) -> None:
        self.task = task
        self.seed = seed
        self.envs = [make(task) if wrap is None else wrap(make(task)) for _ in range(episodes)]
        self.proxy = False

    def add_proxy(self, wrap: Callable[[gym.Env], gym.Env]) -> None:
        """Also sum the reward ``wrap`` puts on an env (the reward an agent trains on):
        each evaluation env is wrapped once; its true reward stays in ``info``."""
        self.envs = [wrap(env) for env in self.envs]
        self.proxy = True

    def __call__(self, predict: Predict) -> EvalOutcome:
        """Run every episode to its end and return the outcome."""
        n = len(self.envs)
        obs = [env.reset(seed=self.seed + i)[0] for i, env in enumerate(self.envs)]
        returns, proxy = np.zeros(n), np.zeros(n)
        lengths = np.zeros(n, dtype=np.int64)
        success = np.zeros(n)
        factor_sums = np.zeros((n, len(self.task.factor_names)))
        done = np.zeros(n, dtype=bool)
        while not done.all():
            actions = predict(np.stack(obs))
            for i in np.flatnonzero(~done):
                obs[i], reward, terminated, truncated, info = self.envs[i].step(actions[i])
                returns[i] += info["true_reward"]
                proxy[i] += reward
                factor_sums[i] += info["factors"]
                lengths[i] += 1
                success[i] = max(success[i], info.get("success", 0.0))
                done[i] = terminated or truncated
        return EvalOutcome(
            returns,
            lengths,
            success if self.task.success is not None else None,
            factor_sums,
            proxy if self.proxy else None,
        )

    def close(self) -> None:
        """Close the evaluation envs."""
        for env in self.envs:
            env.close()
