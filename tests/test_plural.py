"""Method ``plural``: the offline data, the persona and MaxMin wrappers, conditioned
policies, per-group evaluation and normalisation, and its bad input."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

import rewarddesign as rd
from rewarddesign.errors import (
    FileFormatError,
    ParameterError,
    RewardDesignError,
    SpaceMismatchError,
)
from rewarddesign.experiment.runner import validate
from rewarddesign.methods.plural.evaluation import (
    conditioned,
    load_users,
    normalised_groups,
    save_users,
    worst_and_mean,
)
from rewarddesign.methods.plural.offline import Drift, Waypoints, offline_segments
from rewarddesign.methods.plural.policies import MaxMinReward, PersonaReward
from rewarddesign.methods.plural.rewards import FittedRewards, draw_weights, group_balanced
from rewarddesign.models import EnsembleConfig, RewardEnsemble
from rewarddesign.wrappers.latent import LatentConditioned

TASK = "gridworld/two-goals"
LEFT, RIGHT = np.array([0.15, 0.85]), np.array([0.85, 0.85])


class Constant:
    """A scripted reward model: ``value`` every step."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, obs, actions=None, next_obs=None, factors=None):
        return np.full(len(obs), self.value)


def test_waypoint_data_reach_and_linger_at_both_goals():
    segments = offline_segments(rd.task_spec(TASK), 4000, 25, seed=0)
    obs = segments.obs.reshape(-1, 2)
    for goal in (LEFT, RIGHT):  # within the goal's 0.1 bonus radius, for many steps
        assert (np.linalg.norm(obs - goal, axis=1) <= 0.1).sum() >= 50
    again = offline_segments(rd.task_spec(TASK), 4000, 25, seed=0)
    np.testing.assert_array_equal(again.obs, segments.obs)  # seeded


def test_behaviours_keep_to_the_action_box_and_refuse_what_they_cannot_drive():
    box = gym.spaces.Box(-2.0, 2.0, (3,))
    drift = Drift(box, np.random.default_rng(0), period=4)
    actions = np.array([drift(None) for _ in range(40)])
    assert actions.min() >= -2 and actions.max() <= 2 and actions.std() > 0
    with pytest.raises(SpaceMismatchError, match="point task"):
        Waypoints(gym.spaces.Box(0.0, 1.0, (2,)), box, np.random.default_rng(0), 5)
    with pytest.raises(SpaceMismatchError, match="bounded Box"):
        Drift(gym.spaces.Discrete(3), np.random.default_rng(0), 5)
    with pytest.raises(RewardDesignError, match="'spiral'"):
        offline_segments(rd.task_spec(TASK), 100, 25, 0, behaviour="spiral")


def test_persona_reward_is_the_personas_weights_of_the_factors():
    task = rd.task_spec(TASK)
    env = PersonaReward(rd.make(task), task.personas["right"], task.factor_names)
    env.reset(seed=0)
    for _ in range(5):
        _, r, *_, info = env.step(np.array([1.0, 1.0], dtype=np.float32))
        f = dict(zip(task.factor_names, info["factors"], strict=True))
        assert r == pytest.approx(-f["dist_right"] + f["at_right"])
        assert info["true_reward"] == r


def test_maxmin_tries_each_group_then_trains_on_the_worst_off():
    env = MaxMinReward(rd.make(TASK), [Constant(1.0), Constant(-0.5)], ema=0.5)
    trained_on = []
    for episode in range(4):
        _, info = env.reset(seed=episode)
        trained_on.append(info["maxmin_group"])
        done, rewards = False, []
        while not done:
            _, r, terminated, truncated, info = env.step(np.zeros(2, dtype=np.float32))
            rewards.append(r)
            done = terminated or truncated
        assert set(rewards) == {[1.0, -0.5][trained_on[-1]]}  # the group's own reward
    # group 0 until an episode has ended, then the one whose running return is lowest
    assert trained_on == [0, 1, 1, 1]
    np.testing.assert_allclose(env.returns, [50.0, -25.0])  # horizon 50, ema of equals


def test_maxmin_follows_the_lowest_running_return():
    second = Constant(-1.0)
    env = MaxMinReward(rd.make(TASK), [Constant(0.0), second], ema=1.0)
    groups = []
    for value in (-1.0, 1.0, 1.0):  # group 1's reward per step in each episode
        second.value = value
        _, info = env.reset(seed=0)
        groups.append(info["maxmin_group"])
        done = False
        while not done:
            *_, terminated, truncated, _ = env.step(np.zeros(2, dtype=np.float32))
            done = terminated or truncated
    # every group is scored on every step: after episode 0 group 1 is worst (-50 < 0);
    # once it scores +50, group 0 (0) is the worst off again
    assert groups == [0, 1, 0]
    np.testing.assert_allclose(env.returns, [0.0, 50.0])


def test_maxmin_needs_two_groups_and_a_weight_in_range():
    with pytest.raises(ParameterError, match="at least 2 groups"):
        MaxMinReward(rd.make(TASK), [Constant(1.0)])
    with pytest.raises(ParameterError, match="ema"):
        MaxMinReward(rd.make(TASK), [Constant(1.0), Constant(2.0)], ema=0.0)


def test_conditioned_policy_appends_row_i_modulo_the_conditions():
    seen = []
    policy = conditioned(lambda x: seen.append(x) or x[:, :2], [np.array([1.0]), np.array([2.0])])
    policy(np.zeros((5, 2), dtype=np.float32))
    np.testing.assert_array_equal(seen[0][:, 2], [1.0, 2.0, 1.0, 2.0, 1.0])
    plain = lambda x: x  # noqa: E731
    assert conditioned(plain, [None, None]) is plain


@pytest.fixture(scope="module")
def tiny_runs():
    """A tiny EM run and each persona's oracle run (PPO, 256 steps)."""
    common = dict(
        seed=0,
        budget=256,
        eval_episodes=1,
        agent_overrides={"n_steps": 128},
        held_out=2,
        group_episodes=1,
    )
    em = rd.run(
        TASK,
        "plural",
        "ppo",
        reward="em",
        users=4,
        pairs_per_user=10,
        held_out_pairs=4,
        data_steps=500,
        hidden=[16],
        **common,
    )
    oracles = [
        rd.run(TASK, "plural", "ppo", reward="oracle", persona=p, **common)
        for p in ("left", "right")
    ]
    return em, oracles


def test_a_plural_run_logs_each_groups_return_and_the_assignment(tiny_runs):
    em, oracles = tiny_runs
    for name in ("left", "right"):
        assert [step for step, _ in em.series["group_return/" + name]] == [em.env_steps]
        assert len(em.series["group_random/" + name]) == 1
    assert 0.0 <= em.series["heldout_assignment"][0][1] <= 1.0
    assert em.labels_used == 4 * 10 + 2 * 4
    assert oracles[0].labels_used == 0 and "heldout_assignment" not in oracles[0].series


def test_normalised_scores_divide_by_the_oracles_margin_over_random(tiny_runs):
    em, oracles = tiny_runs

    def with_returns(result, left: float, right: float, random: float):
        series = {
            "group_return/left": [(256, left)],
            "group_return/right": [(256, right)],
            "group_random/left": [(256, random)],
            "group_random/right": [(256, random)],
        }
        return dataclasses.replace(result, series=series)

    runs = [
        ("oracle-left", with_returns(oracles[0], 10.0, -5.0, -30.0)),
        ("oracle-right", with_returns(oracles[1], -5.0, 30.0, -30.0)),
        ("em", with_returns(em, 0.0, -20.0, -30.0)),
    ]
    scores = normalised_groups(runs)
    assert scores["em"]["left"] == pytest.approx([30.0 / 40.0])
    assert scores["em"]["right"] == pytest.approx([10.0 / 60.0])
    worst, mean = worst_and_mean(scores["em"])
    assert worst == pytest.approx([10.0 / 60.0]) and mean == pytest.approx([(0.75 + 1 / 6) / 2])
    with pytest.raises(ParameterError, match="no oracle run for persona 'right'"):
        normalised_groups(runs[::2])
    bad = [("oracle-left", with_returns(oracles[0], -40.0, 0.0, -30.0)), *runs[1:]]
    with pytest.raises(ParameterError, match="no better than random"):
        normalised_groups(bad)


@pytest.mark.parametrize(
    ("task", "params", "match"),
    [
        ("classic/Pendulum-v1", {}, "declares none"),
        (TASK, {"reward": "mixture"}, "'mixture'"),
        (TASK, {"policy": "maxmin"}, "needs learned groups"),
        (TASK, {"reward": "oracle"}, "persona goes with reward 'oracle'"),
        (TASK, {"persona": "left"}, "persona goes with reward 'oracle'"),
        (TASK, {"reward": "oracle", "persona": "up"}, "'up'"),
        (TASK, {"behaviour": "spiral"}, "'spiral'"),
        (TASK, {"reward_inputs": "obs_action_next_obs"}, "'obs_action_next_obs'"),
        (TASK, {"held_out": 1}, "cannot cover"),
        (TASK, {"clusters": 0}, "clusters"),
        (TASK, {"proportions": {"left": 0.5, "right": 0.6}}, "sum"),
        (TASK, {"reward": "vpl", "vpl_draw": "clusters"}, "'clusters'"),
        (TASK, {"reward": "vpl", "vpl_condition": "mean"}, "'mean'"),
        (TASK, {"reward": "em", "vpl_condition": "centre"}, "applies to reward 'vpl' only"),
        (TASK, {"reward": "single", "vpl_draw": "groups"}, "applies to reward 'vpl' only"),
    ],
)
def test_plural_refuses_bad_parameters_before_any_work(task, params, match):
    with pytest.raises(RewardDesignError, match=match):
        validate(rd.RunSpec(task, "plural", "ppo", 0, method_params=params))


def test_a_state_reward_reads_no_action():
    model = RewardEnsemble(EnsembleConfig((2,), (2,), members=1, hidden=(8,), inputs="obs"), "cpu")
    obs = np.random.default_rng(0).uniform(size=(5, 2))
    assert model.config.in_dim == 2
    np.testing.assert_array_equal(model.predict(obs, None), model.predict(obs, np.ones((5, 2))))


def test_the_served_users_round_trip_without_pickle(tmp_path):
    save_users(tmp_path, ["left", "right"], [np.eye(2)[1], np.eye(2)[0]])
    personas, conditions = load_users(tmp_path)
    assert personas == ["left", "right"]
    np.testing.assert_array_equal(np.stack(conditions), [[0, 1], [1, 0]])
    save_users(tmp_path, ["left"], [None])  # an unconditioned policy
    assert load_users(tmp_path) == (["left"], [None])
    (tmp_path / "users.npz").write_bytes(b"PK not a zip")
    with pytest.raises(FileFormatError, match="plural users file"):
        load_users(tmp_path)


def test_personas_are_part_of_the_run_key_only_of_a_method_that_reads_them():
    from rewarddesign.bench.keys import resolved
    from rewarddesign.contract.runspec import RunSpec

    task = "mujoco/HalfCheetah-v5"  # its personas were added after its grids' keys
    plural = RunSpec(task=task, method="plural", agent="sac", seed=0)
    true = RunSpec(task=task, method="true", agent="sac", seed=0)
    assert set(resolved(plural)["task"]["personas"]) == {"fast", "gentle"}
    assert "personas" not in resolved(true)["task"]


def test_halfcheetah_personas_weigh_its_factors():
    task = rd.task_spec("mujoco/HalfCheetah-v5")
    env = PersonaReward(rd.make(task), task.personas["gentle"], task.factor_names)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.full(6, 0.5, dtype=np.float32))
    # gentle: forward - 10 * ctrl, ctrl = 0.1 * sum(a^2) = 0.15
    assert reward == pytest.approx(info["reward_forward"] - 10 * 0.15, rel=1e-5)
    env.close()


def test_group_balanced_draws_give_each_group_the_same_share_of_episodes():
    groups = np.array([0, 0, 0, 0, 1])  # 80/20, as the two-goal grid's users
    weights = group_balanced(groups)
    assert weights.tolist() == pytest.approx([0.125] * 4 + [0.5])
    latents = np.eye(5)
    env = LatentConditioned(rd.make(TASK), latents, rng=np.random.default_rng(0), weights=weights)
    drawn = np.array([env.reset(seed=i)[1]["condition"] for i in range(2000)])
    assert abs(np.mean(drawn == 4) - 0.5) < 0.04  # a uniform draw would give 0.2
    env = LatentConditioned(
        rd.make(TASK), latents, rng=np.random.default_rng(0), weights=[0, 0, 1, 0, 0]
    )
    assert {env.reset(seed=i)[1]["condition"] for i in range(20)} == {2}
    for bad in ([1, 1], [1, 1, 1, 1, -1], [0] * 5, [1, 1, 1, 1, np.nan]):
        with pytest.raises(ParameterError, match="weights must be 5 finite non-negative"):
            LatentConditioned(rd.make(TASK), latents, rng=np.random.default_rng(0), weights=bad)


def test_draw_weights_count_the_users_each_condition_stands_for():
    latents = FittedRewards(
        np.zeros((5, 2)), [], train_groups=np.array([0, 0, 0, 0, 1]), condition_groups=None
    )
    latents.condition_groups = latents.train_groups
    assert draw_weights(latents, "users") is None  # one user each: uniform
    assert draw_weights(latents, "groups").tolist() == pytest.approx([0.125] * 4 + [0.5])
    centres = FittedRewards(
        np.zeros((2, 2)), [], train_groups=np.array([0, 0, 0, 0, 1]), condition_groups=np.arange(2)
    )
    assert draw_weights(centres, "users").tolist() == [4.0, 1.0]  # normalised by the wrapper
    assert draw_weights(centres, "groups").tolist() == [0.5, 0.5]
    unconditioned = FittedRewards(None, [])
    assert draw_weights(unconditioned, "groups") is None


def test_vpl_centre_serves_each_user_the_centre_of_its_group(tmp_path):
    rd.run(
        TASK,
        "plural",
        "ppo",
        seed=0,
        budget=256,
        eval_episodes=1,
        agent_overrides={"n_steps": 128},
        reward="vpl",
        vpl_condition="centre",
        vpl_draw="groups",
        users=4,
        pairs_per_user=10,
        held_out=4,
        held_out_pairs=4,
        data_steps=500,
        hidden=[16],
        vpl_steps=50,
        group_episodes=1,
        save_dir=tmp_path,
    )
    _, conditions = load_users(tmp_path)
    # K = 2 groups: every held-out user's condition is one of at most two centres
    assert len({tuple(c) for c in conditions}) <= 2
