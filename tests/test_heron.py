"""HERON: the ranking, its weighted-sum baseline, and a reward learned from the ranking."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

import rewarddesign as rd
from rewarddesign.errors import ParameterError, RewardDesignError, SpecError
from rewarddesign.experiment.runner import validate
from rewarddesign.methods import get
from rewarddesign.models import RewardEnsemble
from rewarddesign.preferences import HierarchicalTeacher, pairs_from_rewards
from rewarddesign.wrappers import LearnedReward

RNG = np.random.default_rng


def pairs_of(f1, f2):
    f1, f2 = np.asarray(f1, float)[:, None, :], np.asarray(f2, float)[:, None, :]
    zeros = [[0.0]] * len(f1)
    return pairs_from_rewards(zeros, zeros, factors=(f1, f2))


def test_levels_follow_the_ranking_not_the_declared_factor_order():
    # factors declared (a, b, c); ranked c (cost) > a (gain) > b (gain), sigma 0.5 each
    f1 = [[0.0, 0.0, 1.0], [5.0, 0.0, 0.0], [0.0, 3.0, 0.0], [2.0, 2.0, 2.0], [0.0, 0.0, 0.0]]
    f2 = [[9.0, 9.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0], [2.0, 2.0, 2.0], [0.0, 0.0, 0.2]]
    teacher = HierarchicalTeacher(["a", "b", "c"], ["c", "a", "b"], [-1, 1, 1], [0.5, 0.5, 0.5])
    record = teacher.label(pairs_of(f1, f2), RNG(0))
    table = np.array(f1 + f2)
    # by hand: population std over the 10 items of each factor
    std = {
        k: np.sqrt(np.mean((table[:, i] - table[:, i].mean()) ** 2)) for i, k in enumerate("abc")
    }
    margin = {k: 0.5 * s for k, s in std.items()}
    assert 1.0 > margin["c"] > 0.2  # c's gap 1.0 decides pair 0, its gap 0.2 in pair 4 does not
    assert margin["a"] < 5.0 and margin["b"] < 3.0
    # pair 0: c decides against the first despite a and b (less cost is better);
    # pair 1: c ties, a decides for the first although b is far higher in the second;
    # pair 2: c and a tie, b decides for the first; pair 3: equal; pair 4: c's gap (0.2)
    # is below its margin and the rest tie: undecided
    assert record.label.tolist() == [0.0, 1.0, 1.0, 0.5, 0.5]
    assert record.usable.tolist() == [True, True, True, False, False]
    assert record.charged == 5


def test_task_ranking_defaults_and_errors():
    pendulum = rd.task_spec("classic/Pendulum-v1")
    assert pendulum.ranking().order == ("theta_sq", "theta_dot_sq", "u_sq")
    assert pendulum.ranking().signs == (-1, -1, -1)
    given = pendulum.ranking(order=["u_sq", "theta_sq"], sigmas=[0.2, 0.3])
    assert given.signs == (-1, -1) and given.sigmas == (0.2, 0.3)
    with pytest.raises(SpecError, match="unknown factor 'speed'"):
        pendulum.ranking(order=["speed"])
    with pytest.raises(SpecError, match="one sign and one sigma per factor"):
        pendulum.ranking(order=["u_sq"], signs=[1, -1])
    with pytest.raises(SpecError, match="no `heron:` ranking"):
        rd.task_spec("mujoco/Walker2d-v5").ranking()
    for task, order in [
        ("classic/MountainCarContinuous-v0", ("reached_goal", "a_sq")),
        ("mujoco/HalfCheetah-v5", ("forward", "ctrl")),
        ("mujoco/Hopper-v5", ("forward", "survive", "ctrl")),
        ("mujoco/Ant-v5", ("survive", "forward", "ctrl", "contact")),
    ]:
        assert rd.task_spec(task).ranking().order == order


def test_weighted_baseline_weights_levels_by_powers_of_beta():
    Weighted = get("weighted")
    pendulum = rd.task_spec("classic/Pendulum-v1")
    m = Weighted(Weighted.parse_params({"beta": 0.3}))
    assert m.weights(pendulum) == pytest.approx(
        {"theta_sq": -1.0, "theta_dot_sq": -0.3, "u_sq": -0.09}
    )
    car = rd.task_spec("classic/MountainCarContinuous-v0")
    assert Weighted(Weighted.parse_params({"beta": 1.0})).weights(car) == {
        "reached_goal": 1.0,
        "a_sq": -1.0,
    }
    # r = sum_l beta^(l-1) s_l z_l on a scripted step of the wrapped env
    env = rd.make("classic/Pendulum-v1")
    from rewarddesign.wrappers import BlendedReward

    env = BlendedReward(env, m.weights(pendulum))
    env.reset(seed=0)
    _, r, *_, info = env.step(np.array([1.5], dtype=np.float32))
    z = info["factors"]
    assert r == pytest.approx(-z[0] - 0.3 * z[1] - 0.09 * z[2])
    for beta in (0, 1.5, "x"):
        with pytest.raises(ParameterError, match="beta must be in"):
            validate(
                rd.RunSpec(
                    "classic/Pendulum-v1", "weighted", "sac", 0, method_params={"beta": beta}
                )
            )


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"teacher": "partial-return"}, "hierarchical teacher"),
        ({"inputs": "pixels"}, "heron inputs"),
        ({"window": 0}, "window must be an integer"),
        ({"order": ["nope"]}, "unknown factor 'nope'"),
        ({"queries": 0}, "heron: queries must be an integer >= 1"),
    ],
)
def test_heron_rejects_bad_parameters(params, match):
    with pytest.raises(RewardDesignError, match=match):
        validate(rd.RunSpec("classic/Pendulum-v1", "heron", "sac", 0, method_params=params))


def test_heron_on_a_task_without_a_ranking_names_the_fix():
    with pytest.raises(SpecError, match="give an order"):
        validate(rd.RunSpec("mujoco/Walker2d-v5", "heron", "sac", 0))


def test_learned_reward_ranks_held_out_transitions_by_the_first_factor(tmp_path):
    # Pendulum's ranking puts the angle first with a small margin, so the angle decides
    # most pairs: the learned reward must order new transitions by -theta^2.
    result = rd.run(
        "classic/Pendulum-v1",
        "heron",
        "sac",
        seed=0,
        budget=1500,
        agent_preset="fast",
        eval_episodes=1,
        queries=256,
        interval=500,
        seed_steps=500,
        hidden=[32, 32],
        save_dir=tmp_path,
    )
    usable = [v for _, v in result.series["labels_usable"]]
    assert usable[-1] > 0.8 * 3 * 256  # sigma 0.1: few pairs are left undecided
    model = RewardEnsemble.load(tmp_path / "reward_model", device="cpu")
    # applied with LearnedReward to a fresh env of the task: held-out transitions
    env = LearnedReward(rd.make("classic/Pendulum-v1"), model)
    env.reset(seed=123)
    env.action_space.seed(123)
    learned, theta_sq = [], []
    for _ in range(400):
        _, r, term, trunc, info = env.step(env.action_space.sample())
        learned.append(r)
        theta_sq.append(info["factors"][0])
        if term or trunc:
            env.reset()
    rho = spearmanr(learned, -np.asarray(theta_sq))[0]
    assert rho >= 0.8, rho
    # standardised over recent experience: the rewards are O(1)
    assert 0.1 < np.std(learned) < 10


@pytest.mark.parametrize(("agent", "inputs"), [("sac", "obs_factors"), ("ppo", "obs_action")])
def test_heron_runs_with_factor_inputs_and_on_policy(agent, inputs, tmp_path):
    extra = {"n_steps": 256, "n_envs": 2} if agent == "ppo" else {}
    result = rd.run(
        "classic/Pendulum-v1",
        "heron",
        agent,
        seed=1,
        budget=1024,
        agent_preset="fast",
        eval_episodes=1,
        queries=64,
        interval=256,
        seed_steps=256,
        hidden=[16],
        inputs=inputs,
        agent_overrides=extra,
        save_dir=tmp_path,
    )
    assert len(result.series["labels_asked"]) >= 2  # PPO: sessions at rollout ends
    model = RewardEnsemble.load(tmp_path / "reward_model", device="cpu")
    assert model.config.inputs == inputs
    # the saved model on a fresh env of the task: the reward is its prediction
    env = LearnedReward(rd.make("classic/Pendulum-v1"), model)
    obs, _ = env.reset(seed=0)
    action = np.array([0.5], dtype=np.float32)
    nxt, r, *_, info = env.step(action)
    factors = info["factors"][None] if inputs == "obs_factors" else None
    assert r == pytest.approx(model.predict(obs[None], action[None], nxt[None], factors)[0])
