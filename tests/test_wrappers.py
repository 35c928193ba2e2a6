"""Each reward wrapper gives exact, hand-computed rewards on scripted episodes
(terminal and time-limit endings) and rejects bad input with one clear error."""

from __future__ import annotations

import dataclasses
import importlib

import gymnasium as gym
import numpy as np
import pytest
from scipy.special import expit
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

import rewarddesign as rd
from rewarddesign.errors import ParameterError, SpaceMismatchError, SpecError, UnknownNameError
from rewarddesign.task import registry as task_registry
from rewarddesign.task.registry import task_for_env
from rewarddesign.wrappers import (
    BlendedReward,
    CenteredSigmoid,
    ConstrainedReward,
    DualAscent,
    GatedReward,
    PessimisticReward,
    PotentialShaping,
    RunningQuantile,
)

GAMMA = 0.9
# Episodes of the default EpisodesEnv: (k, length, ended by a terminal?)
EPISODES = [(0, 3, True), (1, 4, False), (2, 3, True)]


def play(env, actions=None):
    """Step through EPISODES, resetting after each; returns (rewards, infos, obs before)."""
    rewards, infos, before = [], [], []
    obs, _ = env.reset(seed=0)
    i = 0
    for _, length, _ in EPISODES:
        for _ in range(length):
            action = np.array([0.0 if actions is None else actions[i]], np.float32)
            before.append(obs)
            obs, r, terminated, truncated, info = env.step(action)
            rewards.append(r)
            infos.append(info)
            i += 1
        assert terminated or truncated
        obs, _ = env.reset()
    return np.array(rewards), infos, before


def steps():
    """(k, t, last step?, terminal?) of every step of EPISODES."""
    return [(k, t, t == n, term and t == n) for k, n, term in EPISODES for t in range(1, n + 1)]


def test_potential_shaping_exact_rewards_terminal_vs_truncated(episodes_task):
    env = PotentialShaping(rd.make(episodes_task), lambda o: 2 * o[:, 1] + o[:, 0], GAMMA)
    rewards, infos, _ = play(env)
    expected = []
    for k, t, _, terminal in steps():
        phi, phi_next = 2 * (t - 1) + k, 0.0 if terminal else 2 * t + k
        expected.append(t + GAMMA * phi_next - phi)
    np.testing.assert_allclose(rewards, expected, atol=1e-12)
    # the truncated episode's last step keeps Phi(s'): 4 + 0.9 * 9 - 7
    assert rewards[6] == pytest.approx(4 + 0.9 * 9 - 7)
    assert [i["true_reward"] for i in infos] == [t for _, t, _, _ in steps()]
    assert all(i["factors"].shape == (2,) for i in infos)


def test_potential_shaping_on_any_env_keeps_its_reward_as_true_reward():
    env = PotentialShaping(gym.make("Pendulum-v1"), lambda o: o[:, 0], 1.0)
    obs, _ = env.reset(seed=0)
    nxt, r, *_, info = env.step(np.zeros(1, np.float32))
    assert info["true_reward"] == info["env_reward"]
    assert r == pytest.approx(info["env_reward"] + nxt[0] - obs[0], abs=1e-6)


def test_named_task_potential_is_the_mountain_car_energy():
    env = rd.make("classic/MountainCarContinuous-sparse-v0")
    phi = env.get_wrapper_attr("task").potentials["energy"]
    valley = np.array([[-np.pi / 6, 0.0]])  # sin(3x) = -1 at rest: zero energy
    assert phi(valley)[0] == pytest.approx(0.0, abs=1e-12)
    goal = np.array([[0.45, 0.01]])
    assert phi(goal)[0] == pytest.approx(1e4 * (0.5e-4 + 0.0025 / 3 * (np.sin(1.35) + 1)))
    shaped = PotentialShaping(env, "energy", 0.99)
    obs, _ = shaped.reset(seed=0)
    nxt, r, *_, info = shaped.step(np.ones(1, np.float32))
    assert info["true_reward"] == 0.0  # sparse: nothing until the goal
    assert r == pytest.approx(info["env_reward"] + 0.99 * phi(nxt[None])[0] - phi(obs[None])[0])


def test_potential_from_a_trained_agents_value(episodes_task):
    import torch

    for algo in ("ppo", "sac"):
        model = rd.agents.make(algo, rd.make("classic/Pendulum-v1"), seed=0, preset="fast")
        env = PotentialShaping(rd.make("classic/Pendulum-v1"), model, 0.99)
        assert env.spec.additional_wrappers[-1].kwargs["potential"] is model  # not copied
        obs, _ = env.reset(seed=0)
        nxt, r, *_, info = env.step(np.zeros(1, np.float32))
        with torch.no_grad():
            both = torch.as_tensor(np.stack([obs, nxt]))
            if algo == "ppo":
                v = model.policy.predict_values(both).squeeze(-1).numpy()
            else:
                q1, q2 = model.critic(both, model.actor(both, deterministic=True))
                v = torch.minimum(q1, q2).squeeze(-1).numpy()
        assert r == pytest.approx(info["env_reward"] + 0.99 * v[1] - v[0], abs=1e-5)


def test_blended_reward_exact_values_and_vector_weights(scripted_spec_path):
    for weights in ({"a": 2.0, "b": 1.0, "primary": 0.5}, [2.0, 1.0, 0.5]):
        env = BlendedReward(rd.make(scripted_spec_path), weights)
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
    env = BlendedReward(rd.make("mujoco/HalfCheetah-v5"), spec.default_weights)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(50):
        _, reward, *_, info = env.step(env.action_space.sample())
        assert reward == pytest.approx(info["env_reward"], abs=1e-6)


def test_centered_sigmoid_constant_several_and_running_references(episodes_task):
    ts = np.array([t for _, t, _, _ in steps()], dtype=float)
    rewards, *_ = play(CenteredSigmoid(rd.make(episodes_task), 2.0, scale=0.5))
    np.testing.assert_allclose(rewards, expit((ts - 2.0) / 0.5), atol=1e-12)
    rewards, *_ = play(CenteredSigmoid(rd.make(episodes_task), [1.0, 3.0], mode="logsigmoid"))
    lsc = (np.log(expit(ts - 1.0)) + np.log(expit(ts - 3.0))) / 2
    np.testing.assert_allclose(rewards, lsc, atol=1e-12)
    # running median of the last 3 rewards, across episode boundaries
    rewards, *_ = play(CenteredSigmoid(rd.make(episodes_task), RunningQuantile(0.5, 3)))
    medians = [np.median(ts[max(0, i - 2) : i + 1]) for i in range(len(ts))]
    np.testing.assert_allclose(rewards, expit(ts - medians), atol=1e-12)
    assert rewards[0] == 0.5  # the first reward is its own reference
    ref = lambda o, a, o2: o2[:, 1] - 1.0  # noqa: E731 - a reference callable per step
    rewards, *_ = play(CenteredSigmoid(rd.make(episodes_task), ref))
    np.testing.assert_allclose(rewards, expit(np.ones_like(ts)), atol=1e-12)


class CostlyLife(gym.Env):
    """Each step alive costs 1; action > 0 ends the episode (terminated) at once;
    otherwise it is cut by a time limit after 10 steps."""

    observation_space = gym.spaces.Box(0, 10, (1,), np.float32)
    action_space = gym.spaces.Box(-1, 1, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        obs = np.array([self.t], np.float32)
        return obs, -1.0, bool(action[0] > 0), self.t >= 10 and not action[0] > 0, {}


def episode_return(env, action):
    env.reset(seed=0)
    total, done = 0.0, False
    while not done:
        _, r, terminated, truncated, _ = env.step(np.array([action], np.float32))
        total, done = total + r, terminated or truncated
    return total


def test_bounded_positive_reward_is_an_alive_bonus_and_negative_rewards_dying():
    # The env's reward says nothing separates the policies per step (-1 either way),
    # and dying at once is best for it (-1 vs -10).
    assert episode_return(CostlyLife(), 1.0) > episode_return(CostlyLife(), -1.0)
    par = CenteredSigmoid(CostlyLife(), reference=0.0, mode="sigmoid")
    assert episode_return(par, -1.0) == pytest.approx(10 * expit(-1.0))  # survive: more
    assert episode_return(par, 1.0) == pytest.approx(expit(-1.0))  # die at once: less
    lsc = CenteredSigmoid(CostlyLife(), reference=0.0, mode="logsigmoid")
    assert episode_return(lsc, 1.0) > episode_return(lsc, -1.0)  # ending early pays


def test_gated_reward_pays_held_shaping_as_a_lump_only_when_the_gate_holds(episodes_task):
    # BlendedReward a + b adds b = k + 1 per step over the true reward a = t
    inner = lambda: BlendedReward(rd.make(episodes_task), {"a": 1.0, "b": 1.0})  # noqa: E731
    rewards, infos, _ = play(GatedReward(inner(), "success"))
    expected = [
        t + (n * (k + 1) if last and term else 0.0)
        for (k, n, term), (_, t, last, _) in zip(
            [e for e in EPISODES for _ in range(e[1])], steps(), strict=True
        )
    ]
    np.testing.assert_allclose(rewards, expected)
    assert rewards.tolist() == [1, 2, 3 + 3, 1, 2, 3, 4, 1, 2, 3 + 9]
    # gate on the true return >= 7: episode 0 (1+2+3) fails, 1 (10) and 2 (6) ...
    rewards, *_ = play(GatedReward(inner(), "return", threshold=7.0))
    assert rewards.tolist() == [1, 2, 3, 1, 2, 3, 4 + 8, 1, 2, 3]
    assert [i["true_reward"] for i in infos] == [t for _, t, _, _ in steps()]


def test_constrained_reward_uses_sigmoid_multipliers(episodes_task):
    env = ConstrainedReward(rd.make(episodes_task), ["b"], {"b": 1.5}, initial_lambda=1.0)
    rewards, *_ = play(env)
    expected = [t - expit(1.0) * (k + 1) for k, t, _, _ in steps()]
    np.testing.assert_allclose(rewards, expected, atol=1e-12)


def test_dual_ascent_moves_multipliers_by_the_rollout_violation(episodes_task):
    venv = DummyVecEnv([lambda: ConstrainedReward(rd.make(episodes_task), ["b"], [1.0])])
    model = PPO("MlpPolicy", venv, n_steps=7, batch_size=7, n_epochs=1, seed=0, device="cpu")
    model.learn(7, callback=DualAscent(lr=0.5))
    # one rollout of 7 steps: episode 0 (3 steps, b = 1) and episode 1 (4 steps, b = 2)
    lam = venv.envs[0].transform.lambdas[0]
    assert lam == pytest.approx(0.5 * ((3 * 1 + 4 * 2) / 7 - 1.0))
    assert venv.envs[0].transform.multipliers[0] == pytest.approx(expit(lam))


def test_dual_ascent_keeps_differently_constrained_wrappers_apart(episodes_task):
    def make():
        env = ConstrainedReward(rd.make(episodes_task), ["b"], [1.0])
        return ConstrainedReward(env, ["a", "b"], [2.0, 3.0])

    venv = DummyVecEnv([make, make])
    model = PPO("MlpPolicy", venv, n_steps=7, batch_size=14, n_epochs=1, seed=0, device="cpu")
    model.learn(14, callback=DualAscent(lr=1.0))
    outer, inner = venv.envs[0].transform, venv.envs[0].env.transform
    # 7 steps per env: a = 1,2,3,1,2,3,4 (mean 16/7); b = 1,1,1,2,2,2,2 (mean 11/7)
    np.testing.assert_allclose(outer.lambdas, [16 / 7 - 2.0, 11 / 7 - 3.0])
    np.testing.assert_allclose(inner.lambdas, [11 / 7 - 1.0])
    np.testing.assert_allclose(venv.envs[1].transform.lambdas, outer.lambdas)


class Float32Reward(gym.RewardWrapper):
    def reward(self, reward):
        return np.float32(reward + 0.1)


def test_single_form_computes_in_float64_whatever_the_env_returns(episodes_task):
    phi = lambda o: 1000.0 * o[:, 1].astype(np.float64) + 0.123  # noqa: E731
    single = PotentialShaping(Float32Reward(rd.make(episodes_task)), phi, 0.99)
    rewards, *_ = play(single)
    expected = []
    for _, t, _, terminal in steps():
        incoming = float(np.float32(t + 0.1))
        expected.append(
            incoming
            + (0.0 if terminal else 0.99 * (1000.0 * t + 0.123))
            - (1000.0 * (t - 1) + 0.123)
        )
    np.testing.assert_allclose(rewards, expected, rtol=1e-13)
    assert all(isinstance(r, float) for r in rewards)


def test_pessimistic_reward_shrinks_by_uncertainty_down_to_the_floor(episodes_task):
    actions = np.linspace(-1, 1, 10)
    env = PessimisticReward(rd.make(episodes_task), lambda o, a, o2: 3 * np.abs(a[:, 0]), 0.2)
    rewards, *_ = play(env, actions)
    ts = np.array([t for _, t, _, _ in steps()], dtype=float)
    u = 3 * np.abs(actions.astype(np.float32))
    np.testing.assert_allclose(rewards, ts * np.maximum(np.exp(-u), 0.2), rtol=1e-6)
    assert (rewards[[0, -1]] == ts[[0, -1]] * 0.2).all()  # |a| = 1: exp(-3) < floor


def nan_potential(o):
    return np.where(o[:, 1] >= 2, np.nan, 0.0)


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (
            lambda e: BlendedReward(e, {"c": 1.0}),
            UnknownNameError,
            r"unknown factor in BlendedReward weights 'c'; valid choices: a, b, primary",
        ),
        (
            lambda e: BlendedReward(e, [1.0, 2.0, 3.0, 4.0]),
            ParameterError,
            r"has 4 weights; task 'test/Episodes-v0' has 2 factors",
        ),
        (lambda e: BlendedReward(e, {"a": float("nan")}), ParameterError, "finite number"),
        (lambda e: BlendedReward(e, {}), SpecError, "must not be empty"),
        (
            lambda e: PotentialShaping(e, lambda o: o[:, 0], 1.5),
            ParameterError,
            r"gamma must be a number in \[0, 1\], got 1.5",
        ),
        (
            lambda e: PotentialShaping(e, "nope", 0.9),
            UnknownNameError,
            "unknown potential of task 'test/Episodes-v0' 'nope'",
        ),
        (lambda e: PotentialShaping(e, 3.0, 0.9), SpecError, "potential must be a callable"),
        (lambda e: CenteredSigmoid(e, 0.0, mode="tanh"), ParameterError, "mode must be one of"),
        (lambda e: CenteredSigmoid(e, 0.0, scale=0.0), ParameterError, "scale must be a positive"),
        (lambda e: CenteredSigmoid(e, float("inf")), ParameterError, "must be finite numbers"),
        (lambda e: RunningQuantile(1.5), ParameterError, r"q must be a number in \[0, 1\]"),
        (
            lambda e: GatedReward(e, "success", threshold=-1.0),
            ParameterError,
            "success gate takes no threshold",
        ),
        (lambda e: GatedReward(e, "return"), ParameterError, "needs a threshold"),
        (lambda e: GatedReward(e, "luck"), ParameterError, "gate must be one of"),
        (
            lambda e: ConstrainedReward(e, ["b"], [-0.5]),
            ParameterError,
            r"factor 'b' is a cost \(never negative\), so threshold -0.5 can never be met",
        ),
        (lambda e: ConstrainedReward(e, ["z"], [0.5]), UnknownNameError, "unknown factor of task"),
        (
            lambda e: ConstrainedReward(e, ["a", "b"], [0.5]),
            ParameterError,
            "1 thresholds for 2 components",
        ),
        (
            lambda e: PessimisticReward(e, lambda o, a, o2: np.ones(len(o)), floor=-0.1),
            ParameterError,
            r"floor must be a number in \[0, 1\]",
        ),
        (lambda e: PessimisticReward(e, None), SpecError, "uncertainty must be a batched callable"),
    ],
)
def test_bad_arguments_fail_at_construction(episodes_task, build, error, match):
    with pytest.raises(error, match=match):
        build(rd.make(episodes_task))


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (
            lambda e: PotentialShaping(e, nan_potential, 0.9),
            "potential 'nan_potential' returned a non-finite value",
        ),
        (
            lambda e: PotentialShaping(e, lambda o: o, 0.9),
            r"returned shape \(1, 2\) for a batch of 1",
        ),
        (
            lambda e: PessimisticReward(e, lambda o, a, o2: -np.ones(len(o))),
            "uncertainty must be >= 0",
        ),
        (
            lambda e: CenteredSigmoid(e, lambda o, a, o2: np.full(len(o), np.nan)),
            "reference returned a non-finite",
        ),
    ],
)
def test_non_finite_or_misshapen_callables_fail_on_the_step(episodes_task, build, match):
    env = build(rd.make(episodes_task))
    with pytest.raises(ParameterError, match=match):
        play(env)


def test_nan_reward_from_the_env_below_is_a_clear_error(episodes_task):
    env = PotentialShaping(gym.make("RDTest/Episodes-v0", nan_at=2), lambda o: o[:, 0], 0.9)
    env.reset(seed=0)
    env.step(np.zeros(1, np.float32))
    with pytest.raises(ParameterError, match="received a non-finite reward nan from the env below"):
        env.step(np.zeros(1, np.float32))


def test_task_wrappers_need_a_task_env_and_array_observations(monkeypatch):
    with pytest.raises(SpecError, match=r"build the env with rd.make\(task_id\)"):
        BlendedReward(gym.make("Acrobot-v1"), {"theta_sq": 1.0})  # no task uses Acrobot
    # variants that re-define the primary reward or add auxiliary rewards step aside
    env = BlendedReward(gym.make("MountainCarContinuous-v0"), {"a_sq": -1.0})
    assert env.transform.task.id == "classic/MountainCarContinuous-v0"
    assert task_for_env(gym.make("HalfCheetah-v5")).id == "mujoco/HalfCheetah-v5"
    assert task_for_env(gym.make("CartPole-v1")).id == "classic/CartPole-v1"
    # two tasks with the env's own reward: a plain env is ambiguous
    registry = dict(task_registry._registry())
    twin = dataclasses.replace(registry["classic/CartPole-v1"], id="test/CartPole-twin")
    monkeypatch.setattr(task_registry, "_registry", lambda: {**registry, twin.id: twin})
    with pytest.raises(SpecError, match=r"several tasks use env 'CartPole-v1'"):
        BlendedReward(gym.make("CartPole-v1"), {"alive": 1.0})
    dict_env = gym.wrappers.TransformObservation(
        gym.make("Pendulum-v1"),
        lambda o: {"x": o},
        gym.spaces.Dict({"x": gym.spaces.Box(-8, 8, (3,))}),
    )
    with pytest.raises(SpaceMismatchError, match="FlattenObservation"):
        PotentialShaping(dict_env, lambda o: o[:, 0], 0.9)


@pytest.mark.parametrize(
    ("task", "build"),
    [
        ("classic/Pendulum-v1", lambda e: BlendedReward(e, {"theta_sq": -1.0, "u_sq": -0.5})),
        ("mujoco/HalfCheetah-v5", lambda e: BlendedReward(e, {"forward": 1.0, "ctrl": -0.1})),
        ("mujoco/HalfCheetah-v5", lambda e: ConstrainedReward(e, ["ctrl"], [0.1], 0.5)),
        ("gridworld/delivery", lambda e: GatedReward(BlendedReward(e, {"coin": 5.0}), "success")),
    ],
)
def test_task_wrappers_on_a_plain_env_read_the_same_factors(task, build):
    """On ``gymnasium.make(env_id)`` a factor-reading wrapper finds the task by its env id
    and reads the factors itself: the same rewards and true reward as on ``rd.make``."""
    spec = rd.task_spec(task)
    if spec.env_module:
        importlib.import_module(spec.env_module)  # registers the env id
    env = gym.make(spec.env_id, max_episode_steps=spec.horizon, **spec.env_kwargs)
    plain, made = build(env), build(rd.make(task))
    rng = np.random.default_rng(0)
    for env in (plain, made):
        env.reset(seed=3)
        env.action_space.seed(3)
    for _ in range(300):
        action = made.action_space.sample()
        a, b = plain.step(action), made.step(action)
        assert a[1] == b[1] and a[4]["true_reward"] == b[4]["true_reward"]
        assert a[4].get("success") == b[4].get("success")
        assert "factors" not in a[4] and "factors" in b[4]
        if a[2] or a[3]:
            seed = int(rng.integers(1000))
            plain.reset(seed=seed), made.reset(seed=seed)


@pytest.mark.parametrize(
    "build",
    [
        lambda e: PotentialShaping(e, lambda o: -(float(o[2]) ** 2), 0.99),  # one observation
        lambda e: PotentialShaping(e, lambda o: -(o[2] ** 2), 0.99),  # row 2 of a batch
        lambda e: CenteredSigmoid(e, lambda o, a, o2: float(o2[0])),
        lambda e: PessimisticReward(e, lambda o, a, o2: abs(float(a[0]))),
    ],
)
def test_a_callable_written_for_one_observation_is_refused_before_any_step(build):
    env = rd.make("classic/Pendulum-v1")
    with pytest.raises(ParameterError, match=r"obs\[:, 2\]"):
        build(env)
