"""``rd.compare``: the distance matrix of a task's rewards, with confidence intervals, from
a trajectory file or a rollout, in seconds and without training an agent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign.common.checks import check_int, check_number, check_seed
from rewarddesign.diagnostics.dard import dard
from rewarddesign.diagnostics.epic import (
    Coverage,
    DistanceMatrix,
    Transitions,
    draw_coverage,
    epic,
)
from rewarddesign.diagnostics.rewards import as_reward
from rewarddesign.errors import ParameterError, SpecError, unknown
from rewarddesign.preferences.trajectories import Trajectories, rollout
from rewarddesign.task.dynamics import dynamics
from rewarddesign.task.registry import make, task_spec

DISTANCES = ("epic", "dard")
"""The distances :func:`compare` computes."""

ACTIONS = ("uniform", "data")
"""Coverage actions: uniform over the action space, or the data's own."""


def _named(rewards: Any) -> dict[str, Any]:
    if isinstance(rewards, Mapping):
        named = {str(k): v for k, v in rewards.items()}
    elif isinstance(rewards, Sequence) and not isinstance(rewards, str):
        named = {}
        for i, r in enumerate(rewards):
            name = r if isinstance(r, str) else f"reward{i}"
            if name in named:
                raise SpecError(f"reward {name!r} is given twice; compare each reward once.")
            named[name] = r
    else:
        raise SpecError(
            f"rewards must be a list of rewards or a mapping of names to rewards, got {rewards!r}."
        )
    if len(named) < 2:
        raise ParameterError(f"compare needs 2 or more rewards, got {list(named)}.")
    return named


def _data(
    spec: Any, env: gym.Env, traj: Any, transitions: int, seed: int, policy: Any
) -> Trajectories:
    if traj is None:
        return rollout(env, policy, transitions, seed)
    if policy is not None:
        raise SpecError("give trajectories or a policy to roll out, not both.")
    data = traj if isinstance(traj, Trajectories) else Trajectories.load(traj)
    if data.task and task_spec(data.task).id != spec.id:
        raise SpecError(
            f"the trajectories are of task {data.task!r}, the rewards of {spec.id!r}; record "
            f"them on this task: rewarddesign rollout {spec.id} ..."
        )
    return data


def _uniform_actions(space: gym.Space, n: int, rng: np.random.Generator) -> np.ndarray:
    if isinstance(space, gym.spaces.Discrete):
        return space.start + rng.integers(int(space.n), size=n)
    if (
        isinstance(space, gym.spaces.Box)
        and np.isfinite(space.low).all()
        and np.isfinite(space.high).all()
    ):
        return rng.uniform(space.low, space.high, (n, *space.shape)).astype(space.dtype)
    raise SpecError(
        f"uniform coverage actions need a Discrete or bounded Box action space, got {space}; "
        "use actions='data' (the trajectories' own actions)."
    )


def compare(
    task: str,
    rewards: Sequence[Any] | Mapping[str, Any],
    *,
    samples: int = 512,
    distance: str = "epic",
    traj: str | Path | Trajectories | None = None,
    transitions: int = 10_000,
    gamma: float = 0.99,
    actions: str = "uniform",
    policy: Any = None,
    seed: int = 0,
    bootstrap: int = 1000,
    confidence: float = 0.95,
) -> DistanceMatrix:
    """The distance between every pair of a task's rewards.

    Args:
        task: A task id or spec file.
        rewards: The rewards (each anything :func:`~rewarddesign.diagnostics.as_reward`
            takes: ``"true"``, ``"blend:weights.yaml"``, ``"model:runs/x/reward_model"``,
            ``"shaped:upright"``, ...), as a list (named by their string forms) or a
            mapping of names to rewards.
        samples: Coverage samples per expectation (>= 2).
        distance: ``"epic"``, or ``"dard"`` (its expectations follow the task's own
            dynamics: classic control and the tabular tasks).
        traj: A trajectory file (``rewarddesign rollout``) or trajectories of the task;
            None rolls out ``policy`` (uniform random actions without one).
        transitions: How many transitions the distance is over (>= 2): a random subset
            of ``traj``'s if it holds more, else the length of the rollout.
        gamma: The discount of the shaping the distance ignores.
        actions: Coverage actions: ``"uniform"`` over the action space, or ``"data"``
            (the transitions' own: a policy's, where it made them).
        policy: ``policy(obs) -> action`` to roll out instead of uniform random actions
            (e.g. ``lambda o: agent.predict(o, deterministic=False)[0]``); not with ``traj``.
        seed: Seed of the rollout, the coverage draws and the bootstrap.
        bootstrap: Bootstrap resamples for the intervals.
        confidence: The intervals' level.

    Returns:
        The :class:`~rewarddesign.diagnostics.DistanceMatrix`.

    Example:
        >>> import rewarddesign as rd
        >>> m = rd.compare("classic/Pendulum-v1", ["true", {"theta_sq": -1.0}],
        ...                samples=64, transitions=500, bootstrap=50)
        >>> m.names, bool(0 < m.get("true", "reward1") < 0.5)
        (('true', 'reward1'), True)
    """
    samples = check_int(samples, "coverage samples", 2)
    transitions = check_int(transitions, "transitions", 2)
    gamma = check_number(gamma, "gamma", 0.0, 1.0)
    seed = check_seed(seed)
    if distance not in DISTANCES:
        raise unknown("distance", distance, DISTANCES)
    if actions not in ACTIONS:
        raise unknown("coverage actions", actions, ACTIONS)
    spec = task_spec(task)
    step = dynamics(spec) if distance == "dard" else None  # refused before any work
    env = make(spec)
    try:
        fns = {
            name: as_reward(spec, r, env.observation_space, env.action_space, gamma, name)
            for name, r in _named(rewards).items()
        }
        rng = np.random.default_rng(seed)
        if actions == "uniform":
            _uniform_actions(env.action_space, 1, rng)  # refused before the rollout
        data = _data(spec, env, traj, transitions, seed, policy)
        if len(data) < 2:
            raise ParameterError(f"compare needs 2 or more transitions, got {len(data)}.")
        idx = np.arange(len(data))
        if len(data) > transitions:
            idx = np.sort(rng.choice(len(data), transitions, replace=False))
        t = Transitions(data.obs[idx], data.actions[idx], data.next_obs[idx])
        states = np.concatenate([data.obs, data.next_obs])
        pool = (
            data.actions if actions == "data" else _uniform_actions(env.action_space, samples, rng)
        )
        coverage: Coverage = draw_coverage(states, pool, samples, rng)
    finally:
        env.close()
    if step is not None:
        return dard(
            fns, t, coverage.actions, step, gamma, rng, bootstrap=bootstrap, confidence=confidence
        )
    return epic(fns, t, coverage, gamma, rng, bootstrap=bootstrap, confidence=confidence)


__all__ = ["ACTIONS", "DISTANCES", "compare"]
