"""BlendedReward gives exact rewards on a scripted env and rejects bad weights."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rewarddesign as rd
from rewarddesign.errors import ParameterError, SpecError, UnknownNameError


def test_blended_reward_exact_values_on_scripted_env(scripted_spec_path):
    env = rd.wrappers.BlendedReward(
        rd.make(scripted_spec_path), {"a": 2.0, "b": 1.0, "primary": 0.5}
    )
    env.reset(seed=0)
    for t, action in enumerate([0.0, 1.0, -1.0, 0.5, 0.25], start=1):
        _, reward, terminated, _, info = env.step(np.array([action], np.float32))
        a, b = float(t), 2.0 * t + action
        true = a - 0.5 * b
        assert reward == pytest.approx(2 * a + b + 0.5 * true, abs=1e-12)
        assert info["true_reward"] == pytest.approx(true)  # the true reward stays visible
        assert info["env_reward"] == pytest.approx(true)
    assert terminated


def test_blended_reward_with_spec_weights_equals_env_reward():
    spec = rd.task_spec("mujoco/HalfCheetah-v5")
    env = rd.wrappers.BlendedReward(rd.make("mujoco/HalfCheetah-v5"), spec.default_weights)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(50):
        _, reward, *_, info = env.step(env.action_space.sample())
        assert reward == pytest.approx(info["env_reward"], abs=1e-6)


def test_blended_reward_rejects_unknown_factor_and_bad_values(scripted_spec_path):
    with pytest.raises(
        UnknownNameError,
        match=r"unknown factor in BlendedReward weights .c.; valid choices: a, b, primary",
    ):
        rd.wrappers.BlendedReward(rd.make(scripted_spec_path), {"c": 1.0})
    with pytest.raises(ParameterError, match="finite number"):
        rd.wrappers.BlendedReward(rd.make(scripted_spec_path), {"a": float("nan")})
    with pytest.raises(SpecError, match="must be a non-empty mapping"):
        rd.wrappers.BlendedReward(rd.make(scripted_spec_path), {})


def test_blended_reward_needs_a_task_env():
    with pytest.raises(SpecError, match=r"needs an env built by rd.make"):
        rd.wrappers.BlendedReward(gym.make("Pendulum-v1"), {"theta_sq": 1.0})
