"""BARFI: the barfi/ task suite, the method's outer loop, and the saved blend as a wrapper."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rewarddesign as rd
from rewarddesign.agents.pg import PGPolicy, collect
from rewarddesign.errors import ParameterError, RewardDesignError, SpaceMismatchError, SpecError
from rewarddesign.experiment.runner import validate
from rewarddesign.methods import get
from rewarddesign.models.meta_blend import MetaBlend
from rewarddesign.task.continuous_gridworld import ContinuousGridWorld
from rewarddesign.task.factors import FACTOR_FUNCTIONS, POTENTIAL_FUNCTIONS
from rewarddesign.wrappers import MetaLearnedReward


def test_auxiliary_factor_functions_by_hand():
    obs = np.array([[0.0, 0.0, 0.1, -0.1], [0.0, 0.0, -0.1, 0.1], [0.0, 0.0, 0.0, 0.4]])
    # PD choice: right (1) iff angle + 0.5 angular velocity > 0 -> right, left, right
    pd = FACTOR_FUNCTIONS["pd_match"](obs, np.array([1, 1, 0]), None)
    assert pd.tolist() == [1.0, 0.0, 0.0]
    car = np.array([[-0.5, 0.01], [-0.5, -0.01], [-0.5, 0.02]])
    vm = FACTOR_FUNCTIONS["velocity_match"](car, np.array([2, 0, 1]), None)
    assert vm.tolist() == [1.0, 1.0, -1.0]  # pushing along, along, and not pushing
    d = POTENTIAL_FUNCTIONS["neg_distance"](np.array([[0.9, 0.5]]), target=[0.9, 0.9])
    assert d.tolist() == pytest.approx([-0.4])
    # GridWorld's harmful aux as a potential: 50 inside the distractor disk, else 0
    distractor = rd.task_spec("barfi/GridWorld").potentials["distractor"]
    inside = distractor(np.array([[0.9, 0.1], [0.95, 0.15], [0.9, 0.21], [0.5, 0.5]]))
    assert inside.tolist() == [50.0, 50.0, 0.0, 0.0]


def test_barfi_suite_rewards_follow_their_specs():
    env = rd.make("barfi/CartPole")
    obs, _ = env.reset(seed=0)
    task = rd.task_spec("barfi/CartPole")
    for _ in range(5):
        want = int(obs[2] + 0.5 * obs[3] > 0)
        obs, r, _, _, info = env.step(want)
        helpful = task.auxiliary["helpful"].compute(info["factors"], task.factor_names)
        assert r == 1.0 and helpful == 5.0  # a PD-matching push earns +5
    harmful = task.auxiliary["harmful"].compute(np.array([1.0, 1.0]), task.factor_names)
    assert harmful == -5.0
    # sparse MountainCar: the primary reward is 0 until the flag
    env = rd.make("barfi/MountainCar-sparse")
    env.reset(seed=0)
    _, r, *_, info = env.step(2)
    assert r == -1.0 and info["true_reward"] == 0.0 and env.spec.max_episode_steps == 2000


def test_gridworld_reaches_the_goal_with_the_scripted_reward():
    env = ContinuousGridWorld(noise=0.0)
    env.reset(seed=0)
    rewards, infos = [], []
    for a in [3] * 8 + [0] * 8:  # right, then up
        _, r, term, _, info = env.step(a)
        rewards.append(r)
        infos.append(info)
        if term:
            break
    assert term and rewards[-1] == pytest.approx(99.9)
    assert all(r == pytest.approx(-0.1) for r in rewards[:-1])
    assert infos[7]["distractor"] == 1.0  # the path passes the distractor at (0.9, 0.1)
    with pytest.raises(ParameterError, match="noise must be in"):
        ContinuousGridWorld(noise=1.5)


@pytest.mark.parametrize(
    ("task", "agent", "params", "match"),
    [
        ("classic/Pendulum-v1", "pg", {}, "needs a task with auxiliary rewards"),
        ("barfi/CartPole", "pg", {"aux": "wrong"}, "unknown auxiliary reward"),
        ("barfi/CartPole", "pg", {"mode": "second-order"}, "unknown barfi mode"),
        ("barfi/CartPole", "pg", {"potential": "goal_distance"}, "needs mode='fixed'"),
        ("barfi/CartPole", "pg", {"outer_every": 0}, "outer_every must be an integer"),
        ("barfi/CartPole", "pg", {"gamma_init": 1.0}, "gamma_init must be in"),
        ("barfi/CartPole", "pg", {"gamma_lr": 0.0}, "gamma_lr must be > 0"),
        ("barfi/CartPole", "sac", {}, "agent"),
    ],
)
def test_bad_barfi_runs_fail_before_they_start(task, agent, params, match):
    with pytest.raises(RewardDesignError, match=match):
        validate(rd.RunSpec(task, "barfi", agent, 0, budget=1000, method_params=params))


def test_outer_steps_turn_down_a_harmful_auxiliary_reward(tmp_path):
    # the naive blend r_p + r_aux pays +2 per step for pushing against the PD controller,
    # so its policy drops the pole; BARFI's outer steps must lower the aux's weight
    result = rd.run(
        "barfi/CartPole",
        "barfi",
        "pg",
        seed=0,
        budget=2500,
        eval_every=2500,
        eval_episodes=1,
        aux="harmful",
        lr=0.05,
        outer_lr=0.05,
        save_dir=tmp_path,
    )
    phi3 = [v for _, v in result.series["phi3"]]
    assert len(phi3) > 20 and phi3[-1] < 0.8, phi3[-5:]
    blend = MetaBlend.load(tmp_path / "meta_blend")
    assert float(blend.weights.detach()[2, 0]) == pytest.approx(phi3[-1], rel=1e-5)
    assert 0 < result.series["gamma"][-1][1] < 1
    # one episode count per eval point, at the same steps (the curve in episodes)
    episodes = result.series["episodes"]
    assert [s for s, _ in episodes] == [p.step for p in result.curve]
    # an outer step every 5 episodes, logged with one more point at the end
    assert episodes[-1][1] // 5 == len(phi3) - 1


def test_the_fixed_baselines_keep_phi_and_shape_with_a_potential():
    r = rd.run(
        "barfi/GridWorld",
        "barfi",
        "pg",
        seed=0,
        budget=300,
        eval_episodes=1,
        mode="fixed",
        phi_init=[0.0, 1.0, 0.0],
        potential="goal_distance",
    )
    assert [v for _, v in r.series["phi3"]] == [0.0]
    assert r.series["gamma"][0][1] == pytest.approx(0.99)
    # the shaped reward: r_p + gamma Phi(s') - Phi(s), Phi = minus the goal distance
    method = get("barfi")(get("barfi").parse_params({"mode": "fixed", "phi_init": [0, 1, 0]}))
    env = rd.make("barfi/GridWorld")
    method.blend = MetaBlend(2, phi_init=(0.0, 1.0, 0.0))
    policy = PGPolicy(env.observation_space, env.action_space, seed=0)
    eps = collect(
        env,
        policy,
        2,
        lambda o, a, n, rew, i: {"primary": rew, "aux": 0.0},
        np.random.default_rng(0),
        seed=0,
    )
    potential = rd.task_spec("barfi/GridWorld").potentials["goal_distance"]
    got = method._rewards(eps, potential)
    o, n = eps.obs.numpy(), eps.next_obs.numpy()
    phi_s = -np.linalg.norm(o - [0.9, 0.9], axis=-1)
    phi_n = -np.linalg.norm(n - [0.9, 0.9], axis=-1) * (1 - eps.terminated.numpy())
    want = (eps.rewards["primary"].numpy() + 0.99 * phi_n - phi_s) * eps.mask.numpy()
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-5, atol=1e-5)


def test_the_saved_blend_as_a_wrapper_and_its_discount(tmp_path):
    blend = MetaBlend(
        2, "linear", (0.5, 2.0, -1.0), gamma_init=0.9, task="barfi/GridWorld", aux="helpful"
    )
    with torch.no_grad():
        blend.weights[:, :2] = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    blend.save(tmp_path)
    env = MetaLearnedReward(rd.make("barfi/GridWorld"), tmp_path)
    obs, _ = env.reset(seed=0)
    _, r, _, _, info = env.step(3)
    x, y = obs.astype(np.float64)
    distance = info["factors"][2]
    want = (x + 0.5) + (y + 2.0) * info["true_reward"] + (0.5 * x + 0.5 * y - 1.0) * -distance
    assert r == pytest.approx(want, rel=1e-6)
    assert env.gamma == pytest.approx(0.9)
    agent = rd.agents.make("ppo", env, seed=0, device="cpu", gamma=env.gamma)
    assert agent.gamma == pytest.approx(0.9)
    # on another task, or a task without that auxiliary reward: clear errors
    with pytest.raises(SpecError, match="learned on task 'barfi/GridWorld'"):
        MetaLearnedReward(rd.make("barfi/CartPole"), tmp_path)
    wrong = MetaBlend(3, task="", aux="helpful")
    with pytest.raises(SpaceMismatchError, match="reads 3 observation features"):
        MetaLearnedReward(rd.make("barfi/GridWorld"), wrong)
    with pytest.raises(SpecError, match="cannot load a meta-learned blend"):
        MetaBlend.load(tmp_path / "missing")


def test_a_diverging_neumann_step_stops_the_run_with_the_fix():
    with pytest.raises(ParameterError, match=r"Neumann series diverges.*lower the Neumann step"):
        rd.run(
            "barfi/CartPole",
            "barfi",
            "pg",
            seed=0,
            budget=200,
            eval_episodes=1,
            outer_every=1,
            neumann_alpha=1e4,
            neumann_steps=20,
        )
