"""Learning checks (slow): the run contract trains agents that solve small tasks."""

from __future__ import annotations

import pytest

import rewarddesign as rd


@pytest.mark.slow
def test_sac_swings_up_pendulum_within_20k_steps():
    result = rd.run(
        "classic/Pendulum-v1",
        "true",
        "sac",
        seed=0,
        budget=20_000,
        eval_every=5000,
        eval_episodes=10,
    )
    assert result.final_return >= -250


@pytest.mark.slow
def test_ppo_balances_cartpole():
    result = rd.run("classic/CartPole-v1", "true", "ppo", seed=0, budget=50_000, eval_episodes=5)
    assert result.final_return >= 400
