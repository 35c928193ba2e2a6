"""Agent factory: YAML specs merged in order, SB3 models built, bad names rejected."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO, SAC, TD3

import rewarddesign as rd
from rewarddesign.errors import SpaceMismatchError, UnknownNameError
from rewarddesign.experiment.runner import validate


@pytest.mark.parametrize(("algo", "cls"), [("sac", SAC), ("td3", TD3), ("ppo", PPO)])
def test_factory_builds_each_algorithm_on_cpu_by_auto(algo, cls):
    env = rd.make("classic/Pendulum-v1")
    model = rd.agents.make(algo, env, seed=0, preset="fast")
    assert isinstance(model, cls)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert model.device.type == expected
    model.learn(64)  # it trains


def test_merge_order_defaults_task_preset_overrides():
    cfg = rd.agents.config("sac", "classic/Pendulum-v1", "fast", batch_size=32)
    assert cfg["learning_rate"] == 1e-3  # task entry over defaults
    assert cfg["policy_kwargs"] == {"net_arch": [64, 64]}  # preset
    assert cfg["buffer_size"] == 50_000  # preset over defaults
    assert cfg["batch_size"] == 32  # override wins
    assert rd.agents.config("sac")["learning_rate"] == 3e-4


def test_nested_policy_kwargs_merge_key_by_key():
    cfg = rd.agents.config("sac", "classic/MountainCarContinuous-v0", "fast")
    assert cfg["policy_kwargs"] == {"log_std_init": -3.67, "net_arch": [64, 64]}


def test_task_is_inferred_from_env_and_overrides_reach_the_model():
    env = rd.make("classic/Pendulum-v1")
    model = rd.agents.make("sac", env, seed=0, preset="fast", gamma=0.95)
    assert model.learning_rate == 1e-3 and model.gamma == 0.95


def test_td3_gets_gaussian_action_noise():
    model = rd.agents.make("td3", rd.make("classic/Pendulum-v1"), seed=0, preset="fast")
    assert model.action_noise is not None
    np.testing.assert_allclose(model.action_noise._sigma, [0.1])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda env: rd.agents.make("dqn", env),
            r"unknown agent 'dqn'; valid choices: ppo, sac, sbx-crossq, sbx-ppo, sbx-sac, sbx-td3, "
            r"sbx-tqc, td3",
        ),
        (
            lambda env: rd.agents.make("sac", env, preset="huge"),
            r"unknown preset of agent 'sac' 'huge'",
        ),
        (
            lambda env: rd.agents.make("sac", env, learning_rat=1e-3),
            r"'learning_rat'; valid choices",
        ),
        (lambda env: rd.agents.make("sac", env, device="tpu"), r"unknown torch device 'tpu'"),
        (
            lambda env: rd.agents.make("sac", env, verbose=1),
            r"hyperparameter of agent 'sac' 'verbose'",
        ),
        (lambda env: rd.agents.make("sac", env, policy_kwargs="big"), r"policy_kwargs must be"),
        (
            lambda env: rd.agents.make("td3", env, action_noise={"type": "normal", "std": "x"}),
            r"action_noise must be",
        ),
    ],
)
def test_bad_agent_input_is_a_clear_error(call, message):
    with pytest.raises(rd.errors.RewardDesignError, match=message):
        call(rd.make("classic/Pendulum-v1"))


def test_sac_on_discrete_actions_is_a_space_mismatch():
    with pytest.raises(SpaceMismatchError, match="use 'ppo' or 'sbx-ppo' for discrete actions"):
        rd.agents.make("sac", rd.make("classic/CartPole-v1"))


def test_save_and_load_round_trip_policy_weights(tmp_path):
    env = rd.make("classic/Pendulum-v1")
    model = rd.agents.make("sac", env, seed=0, preset="fast")
    model.learn(200)
    cfg = {"algo": "sac", "task": "classic/Pendulum-v1", "preset": "fast", "overrides": {}}
    rd.agents.save(model, tmp_path, cfg)
    loaded = rd.agents.load(tmp_path, env, device="cpu")
    obs = np.stack([env.observation_space.sample() for _ in range(8)])
    np.testing.assert_allclose(
        loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0]
    )


def test_unknown_agent_lists_choices_in_message():
    with pytest.raises(UnknownNameError) as info:
        rd.agents.config("a2c")
    assert "ppo, sac, sbx-crossq" in str(info.value)


@pytest.mark.parametrize(
    ("preset", "overrides", "message"),
    [
        ("fast", {}, "unknown preset of agent 'pg' 'fast'"),
        (None, {"lr": 0.1}, "unknown hyperparameter of agent 'pg' 'lr'"),
    ],
)
def test_the_policy_gradient_agent_refuses_presets_and_overrides(preset, overrides, message):
    spec = rd.RunSpec(
        "barfi/CartPole", "barfi", "pg", agent_preset=preset, agent_overrides=overrides
    )
    with pytest.raises(rd.errors.UnknownNameError, match=message + ".*barfi's parameters"):
        validate(spec)


def test_values_sb3_takes_build_the_agent_they_name():
    """The checks refuse what SB3 would reject, and nothing it takes: YAML's list form of
    train_freq, 0 gradient steps, a SAC ent_coef 'auto_X', a PPO net of one head."""
    env = rd.make("classic/Pendulum-v1")
    sac = rd.agents.make(
        "sac",
        env,
        seed=0,
        device="cpu",
        train_freq=[2, "episode"],
        gradient_steps=0,
        ent_coef="auto_0.5",
    )
    assert (sac.train_freq.frequency, sac.train_freq.unit.value) == (2, "episode")
    assert sac.gradient_steps == 0
    assert float(sac.log_ent_coef.detach().exp()) == pytest.approx(0.5)
    ppo = rd.agents.make("ppo", env, seed=0, device="cpu", policy_kwargs={"net_arch": {"pi": [8]}})
    assert ppo.policy.mlp_extractor.value_net is not None
