"""Shared fixtures: a scripted env with known factors, registered as a task from a spec file."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import yaml


class ScriptedEnv(gym.Env):
    """Deterministic toy env: at step t (1-based) info = {a: t, b: 2t + action}, reward
    = a - 0.5 b, obs = [t], and the episode terminates after 5 steps."""

    observation_space = gym.spaces.Box(-100, 100, (1,), np.float32)
    action_space = gym.spaces.Box(-1, 1, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        a, b = float(self.t), 2.0 * self.t + float(action[0])
        return np.array([self.t], np.float32), a - 0.5 * b, self.t >= 5, False, {"a": a, "b": b}


if "RDTest/Scripted-v0" not in gym.registry:
    gym.register("RDTest/Scripted-v0", entry_point=ScriptedEnv)

SCRIPTED_SPEC = {
    "id": "test/Scripted-v0",
    "env": {"id": "RDTest/Scripted-v0"},
    "factors": [
        {"name": "a", "sign": 1, "source": {"info": "a"}},
        {"name": "b", "sign": -1, "source": {"info": "b"}},
    ],
    "reward": {"weights": {"a": 1.0, "b": -0.5}},
}


# A grid of short real runs (PPO on CartPole, 256 env steps, about 2 s each).
SHORT_GRID = {
    "name": "short",
    "seeds": [0, 1],
    "budget": 256,
    "agent": "ppo",
    "agent_preset": "fast",
    "agent_overrides": {"n_steps": 32},
    "eval": {"every": 128, "episodes": 1},
    "tasks": ["classic/CartPole-v1"],
    "methods": ["true"],
}


@pytest.fixture
def scripted_spec_path(tmp_path):
    """Path of a task-spec YAML for the scripted env."""
    path = tmp_path / "scripted.yaml"
    path.write_text(yaml.safe_dump(SCRIPTED_SPEC))
    return str(path)


@pytest.fixture
def write_yaml(tmp_path):
    """Write a document (or raw text) to a YAML file in tmp_path and return its path."""

    def write(doc, name="doc.yaml"):
        path = tmp_path / name
        path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
        return str(path)

    return write


class EpisodesEnv(gym.Env):
    """Scripted episodes for reward-wrapper tests; every quantity is known in advance.

    Episode k (0-based; a seeded reset starts again at k = 0) lasts ``lengths[k % n]``
    steps and ends *terminated* if ``ends[k % n] == "terminated"``, else *truncated*
    (a time limit). At step t (1-based) of episode k: obs = [k, t], reward = t,
    info a = t, b = k + 1, success = 1 on the last step of a terminated episode.
    ``nan_at`` makes the reward NaN at that step of episode 0.
    """

    observation_space = gym.spaces.Box(-1000, 1000, (2,), np.float32)
    action_space = gym.spaces.Box(-1, 1, (1,), np.float32)

    def __init__(self, lengths=(3, 4), ends=("terminated", "truncated"), nan_at=None):
        self.lengths, self.ends, self.nan_at = tuple(lengths), tuple(ends), nan_at
        self.k = -1

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.k = 0 if seed is not None else self.k + 1
        self.t = 0
        return np.array([self.k, 0], np.float32), {}

    def step(self, action):
        self.t += 1
        i = self.k % len(self.lengths)
        last = self.t >= self.lengths[i]
        terminated = last and self.ends[i] == "terminated"
        reward = float("nan") if (self.k, self.t) == (0, self.nan_at) else float(self.t)
        info = {"a": float(self.t), "b": float(self.k + 1), "success": float(terminated)}
        obs = np.array([self.k, self.t], np.float32)
        return obs, reward, terminated, last and not terminated, info


if "RDTest/Episodes-v0" not in gym.registry:
    gym.register("RDTest/Episodes-v0", entry_point=EpisodesEnv)

EPISODES_SPEC = {
    "id": "test/Episodes-v0",
    "env": {"id": "RDTest/Episodes-v0"},
    "factors": [
        {"name": "a", "sign": 1, "source": {"info": "a"}},
        {"name": "b", "sign": -1, "source": {"info": "b"}},
    ],
    "reward": {"weights": {"a": 1.0}},
    "success": {"info": "success"},
}


@pytest.fixture
def episodes_task(tmp_path):
    """A parsed task spec for :class:`EpisodesEnv`."""
    import rewarddesign as rd

    path = tmp_path / "episodes.yaml"
    path.write_text(yaml.safe_dump(EPISODES_SPEC))
    return rd.task_spec(str(path))
