"""Suite-wide invariants of every registered task (dm_control style)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rewarddesign as rd
from rewarddesign.errors import ParameterError, SpecError, UnknownNameError
from rewarddesign.task.check import (
    finite_factors,
    float32_observations,
    record,
    reward_identity,
    seeded_resets,
    success_type,
)

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


# The invariants are the package's own (rewarddesign/task/check.py), which `rewarddesign
# check` runs on any task; each raises a SpecError naming the step and the values.


@pytest.mark.parametrize("task", ALL_TASKS)
def test_observations_are_fresh_float32_arrays_and_success_is_boolean(task):
    # (MetaWorld's observations leave its declared bounds: shape and dtype only)
    spec, run = rd.task_spec(task), record(task, 30, seed=0)
    float32_observations(spec, run)
    success_type(spec, run)


@pytest.mark.parametrize("task", ALL_TASKS)
def test_task_makes_resets_and_steps_with_finite_factors(task):
    finite_factors(rd.task_spec(task), record(task, 100, seed=0))


def _goal_seeking(env_id):
    """A policy that reaches the goal of the MountainCars often enough for their goal
    factors to be checked (None elsewhere: the seeded action space's samples)."""
    if env_id == "MountainCarContinuous-v0":
        return lambda obs, rng: np.array([1.0], np.float32) if rng.random() < 0.5 else None
    if env_id == "MountainCar-v0":  # pump energy into the swing: reaches the flag
        return lambda obs, rng: (2 if obs[1] >= 0 else 0) if rng.random() < 0.9 else None
    return None


@pytest.mark.parametrize("task", ALL_TASKS)
def test_reward_formula_reproduces_env_reward(task):
    """The declared formula applied to the factors equals the env's own reward, batched
    and step by step."""
    spec = rd.task_spec(task)
    run = record(task, 600, seed=1, policy=_goal_seeking(spec.env_id))
    reward_identity(spec, run)


@pytest.mark.parametrize("task", ALL_TASKS)
def test_seeded_reset_reproduces(task):
    seeded_resets(rd.task_spec(task), record(task, 20, seed=3), record(task, 20, seed=3))


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
    # the spec file's check rollout reads it, so the typo fails on load, not mid-run
    with pytest.raises(SpecError, match=r"success reads info\['sucess'\]"):
        rd.make(write_yaml(doc | {"success": {"info": "sucess"}}, "c.yaml"))


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


def test_check_task_runs_every_invariant_on_a_packaged_task():
    from rewarddesign.task.check import CHECK_NAMES

    results = rd.check_task("gridworld/delivery", steps=50)
    assert [(r.name, r.passed) for r in results] == [(n, True) for n in CHECK_NAMES]
    by_name = {r.name: r.detail for r in results}
    assert by_name["float32 observations"].startswith("not a Box observation space (Discrete)")
    assert by_name["success type"] == "success is 0.0 or 1.0 on 50 steps"
    assert by_name["transition factors"] == (
        "transition functions on 50 steps: gas ==, goal ==, sheep ==, coin ==, roadblock ==, mud =="
    )


@pytest.mark.parametrize("task", [t for t in ALL_TASKS if rd.task_spec(t).transitions])
def test_declared_transition_functions_reproduce_their_info_factors(task):
    """A factor's `transition:` gives its info value on a seeded random rollout (exactly,
    or as closely as an approximate one must)."""
    from rewarddesign.task.check import transition_factors

    spec = rd.task_spec(task)
    detail = transition_factors(spec, record(task, 600, seed=1))
    exact = [n for n, t in spec.transitions.items() if not t.approximate]
    assert all(f"{n} ==" in detail for n in exact), detail


def test_a_wrong_transition_function_fails_the_check_naming_the_factor(write_yaml):
    from rewarddesign.task.check import transition_factors

    doc = {
        "id": "my/HalfCheetah-wrong-ctrl",
        "env": {"id": "HalfCheetah-v5", "adapter": "float32"},
        "factors": [
            {"name": "forward", "sign": 1, "source": {"info": "reward_forward"}},
            {
                "name": "ctrl",
                "sign": -1,
                "source": {"info": "reward_ctrl", "scale": -1.0},
                "transition": {"fn": "action_sq", "scale": 0.2},
            },
        ],
        "reward": {"weights": {"forward": 1.0, "ctrl": -1.0}},
    }
    path = write_yaml(doc, "wrong_ctrl.yaml")
    with pytest.raises(SpecError, match=r"factor 'ctrl''s transition function gives .* step 0"):
        transition_factors(rd.task_spec(path), record(path, 20, seed=0))


def test_the_check_command_prints_one_line_per_check_and_exits_2_on_a_failure(write_yaml, capsys):
    from rewarddesign.cli import main

    assert main(["check", "classic/Pendulum-v1", "--steps", "30"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "ok   reward identity: declared reward == env reward on 30 steps (atol 1e-06)"
    assert out[-1] == "classic/Pendulum-v1: all 6 checks pass" and len(out) == 7
    # a float64 env without the float32 adapter, and a reward that is not the env's
    doc = {
        "id": "my/Pendulum-unadapted",
        "env": {"id": "InvertedDoublePendulum-v5"},
        "factors": [{"name": "survive", "sign": 1, "source": {"info": "reward_survive"}}],
        "reward": {"weights": {"survive": 1.0}},
    }
    assert main(["check", write_yaml(doc, "unadapted.yaml"), "--steps", "30"]) == 2
    out = capsys.readouterr().out
    assert "FAIL reward identity" in out and "gives 10 at step 0" in out
    assert "FAIL float32 observations" in out and "dtype is float64, not float32" in out
    assert "2 check(s) failed: reward identity, float32 observations" in out
    assert main(["check", "classic/Pendulum-v9"]) == 2  # an unknown id: one line
    assert "error: unknown task 'classic/Pendulum-v9'" in capsys.readouterr().out
