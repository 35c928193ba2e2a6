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
