"""Suite-wide invariants of every registered task (dm_control style)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rewarddesign as rd
from rewarddesign.errors import ParameterError, SpecError, UnknownNameError

ALL_TASKS = rd.tasks()


def test_required_tasks_are_registered():
    required = {
        "classic/Pendulum-v1",
        "classic/MountainCarContinuous-v0",
        "classic/CartPole-v1",
        "mujoco/HalfCheetah-v5",
        "mujoco/Hopper-v5",
        "mujoco/Walker2d-v5",
        "mujoco/Ant-v5",
        "dmc/walker-walk",
        "dmc/walker-run",
        "dmc/cheetah-run",
        "dmc/quadruped-walk",
        "dmc/cartpole-swingup",
        "dmc/reacher-easy",
        "metaworld/button-press",
        "metaworld/door-open",
        "metaworld/drawer-open",
        "metaworld/sweep-into",
        "metaworld/window-open",
        "metaworld/hammer",
    }
    assert required <= set(ALL_TASKS)


@pytest.mark.parametrize("task", ALL_TASKS)
def test_observations_are_fresh_float32_arrays_and_success_is_boolean(task):
    spec = rd.task_spec(task)
    env = rd.make(task)
    env.action_space.seed(0)
    first, _ = env.reset(seed=0)
    kept = np.array(first, copy=True)
    box = isinstance(env.observation_space, gym.spaces.Box)
    previous = first
    for _ in range(30):
        obs, _, terminated, truncated, info = env.step(env.action_space.sample())
        if box:  # (MetaWorld's observations leave its declared bounds: shape and dtype only)
            assert obs.shape == env.observation_space.shape
            assert obs.dtype == np.float32 and env.observation_space.dtype == np.float32
            assert not np.shares_memory(obs, previous)
        if spec.success is not None:
            assert info["success"] in (0.0, 1.0)
        previous = obs
        if terminated or truncated:
            previous, _ = env.reset()
    np.testing.assert_array_equal(first, kept)  # later steps did not write into it
    env.close()


@pytest.mark.parametrize("task", ALL_TASKS)
def test_task_makes_resets_and_steps_with_finite_factors(task):
    env = rd.make(task)
    spec = rd.task_spec(task)
    env.action_space.seed(0)
    env.reset(seed=0)
    for _ in range(100):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        assert info["factors"].shape == (len(spec.factors),)
        assert info["factors"].dtype == np.float64
        assert np.all(np.isfinite(info["factors"]))
        assert np.isfinite(info["true_reward"])
        if terminated or truncated:
            env.reset()
    env.close()


@pytest.mark.parametrize("task", ALL_TASKS)
def test_reward_formula_reproduces_env_reward(task):
    """The declared formula applied to the factors equals the env's own reward."""
    spec = rd.task_spec(task)
    env = rd.make(task)
    env.action_space.seed(1)
    rng = np.random.default_rng(1)
    factors, rewards = [], []
    obs, _ = env.reset(seed=1)
    for _ in range(600):
        if spec.env_id == "MountainCarContinuous-v0" and rng.random() < 0.5:
            action = np.array([1.0], np.float32)  # push right often enough to reach the goal
        elif spec.env_id == "MountainCar-v0" and rng.random() < 0.9:
            action = 2 if obs[1] >= 0 else 0  # pump energy into the swing: reaches the flag
        else:
            action = env.action_space.sample()
        obs, reward, terminated, truncated, info = env.step(action)
        factors.append(info["factors"])
        rewards.append(reward)
        if terminated or truncated:
            env.reset()
    formed = spec.reward.compute(np.array(factors), spec.factor_names)
    np.testing.assert_allclose(formed, np.array(rewards), rtol=0, atol=1e-6)
    # batched and per-step computation agree
    np.testing.assert_allclose(
        formed[:5], [spec.reward.compute(f, spec.factor_names) for f in factors[:5]], atol=1e-12
    )


@pytest.mark.parametrize("task", ALL_TASKS)
def test_seeded_reset_reproduces(task):
    def rollout():
        env = rd.make(task)
        env.action_space.seed(3)
        obs, _ = env.reset(seed=3)
        trace = [obs]
        for _ in range(20):
            obs, r, terminated, truncated, _ = env.step(env.action_space.sample())
            trace.append(np.append(obs, r))
            if terminated or truncated:
                break
        return np.concatenate([np.ravel(x) for x in trace])

    np.testing.assert_array_equal(rollout(), rollout())


def test_pendulum_factors_match_hand_computation():
    env = rd.make("classic/Pendulum-v1")
    obs, _ = env.reset(seed=0)
    action = np.array([3.0], np.float32)  # beyond the torque limit: the env clips to 2
    _, reward, _, _, info = env.step(action)
    theta = np.arctan2(obs[1], obs[0])
    np.testing.assert_allclose(info["factors"], [theta**2, obs[2] ** 2, 4.0], rtol=1e-6)
    assert info["true_reward"] == reward


def test_mountaincar_success_and_goal_factor():
    env = rd.make("classic/MountainCarContinuous-v0")
    env.reset(seed=0)
    env.unwrapped.state = np.array([0.449, 0.07])  # one push from the goal
    _, reward, terminated, _, info = env.step(np.array([1.0], np.float32))
    assert terminated
    assert info["factors"][0] == 1.0 and info["success"] == 1.0
    assert reward == pytest.approx(100.0 - 0.1)


def test_unknown_task_lists_choices():
    with pytest.raises(UnknownNameError, match=r"unknown task 'classic/Pendulum-v9'.*Pendulum-v1"):
        rd.make("classic/Pendulum-v9")
    # a known suite lists its own tasks; an unknown suite lists the suites
    with pytest.raises(UnknownNameError, match=r"choices: dmc/cartpole-swingup, .*walker-walk\."):
        rd.make("dmc/walker-wlak")
    with pytest.raises(UnknownNameError, match=r"no suite 'dmcx'; suites: .*dmc, .*metaworld"):
        rd.make("dmcx/walker-walk")


def test_bad_env_kwarg_is_a_clear_error():
    with pytest.raises(ParameterError, match="no_such_kwarg"):
        rd.make("classic/Pendulum-v1", no_such_kwarg=1)


def test_spec_file_path_and_primary_reward(write_yaml, scripted_spec_path):
    import yaml

    with open(scripted_spec_path) as f:
        doc = yaml.safe_load(f)
    doc["primary"] = {"weights": {"a": 1.0}}
    env = rd.make(write_yaml(doc, "primary.yaml"))
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.array([0.5], np.float32))
    assert reward == 1.0 - 0.5 * 2.5  # the env's own reward passes through
    assert info["true_reward"] == 1.0  # primary = factor a


def test_nan_reward_raises(scripted_spec_path):
    env = rd.make(scripted_spec_path)
    env.reset(seed=0)
    with pytest.raises(ParameterError, match="non-finite reward"):
        env.step(np.array([np.nan], np.float32))


def test_custom_spec_errors_are_clear(write_yaml, scripted_spec_path):
    import yaml

    with open(scripted_spec_path) as f:
        doc = yaml.safe_load(f)
    with pytest.raises(SpecError, match="gymnasium cannot make env 'Nope-v0'"):
        rd.make(write_yaml(doc | {"env": {"id": "Nope-v0"}}, "a.yaml"))
    with pytest.raises(SpecError, match="needs module 'no_such_suite'"):
        rd.make(write_yaml(doc | {"env": {"id": "X-v0", "module": "no_such_suite"}}, "b.yaml"))
    with pytest.raises(SpecError, match="cannot read YAML file"):
        rd.make("missing/task.yaml")
    env = rd.make(write_yaml(doc | {"success": {"info": "sucess"}}, "c.yaml"))
    env.reset(seed=0)
    with pytest.raises(SpecError, match=r"success reads info\['sucess'\]"):
        env.step(np.zeros(1, np.float32))


def test_action_repeat_sums_rewards_and_factors_over_the_repeated_steps():
    plain, repeated = (
        rd.make("classic/Pendulum-v1"),
        rd.make("classic/Pendulum-v1", action_repeat=3),
    )
    plain.reset(seed=0)
    repeated.reset(seed=0)
    action = np.array([1.5], np.float32)
    steps = [plain.step(action) for _ in range(3)]
    obs, reward, _, _, info = repeated.step(action)
    np.testing.assert_array_equal(obs, steps[-1][0])
    assert reward == pytest.approx(sum(s[1] for s in steps))
    assert info["true_reward"] == pytest.approx(reward)
    np.testing.assert_allclose(info["factors"], sum(s[4]["factors"] for s in steps))
    with pytest.raises(ParameterError, match="action_repeat must be an integer >= 1"):
        rd.make("classic/Pendulum-v1", action_repeat=0)


def test_a_dmc_adapter_on_another_env_is_refused():
    from rewarddesign.task.suites import DmcAdapter

    with pytest.raises(SpecError, match="needs a shimmy dm-control env"):
        DmcAdapter(gym.make("Pendulum-v1"))
