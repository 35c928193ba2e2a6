"""EPIC and DARD: invariances on an env written here and on the tabular tasks, exact
tabular values against a brute force written here, convergence in the sample size, the
reward adapter's forms, and the refused inputs."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest

import rewarddesign as rd
from rewarddesign.diagnostics import (
    Transitions,
    as_reward,
    draw_coverage,
    epic,
    pearson_distance,
    tabular_dard,
    tabular_epic,
)
from rewarddesign.diagnostics.tabular import dard_canonical, epic_canonical
from rewarddesign.errors import ParameterError, SpaceMismatchError, SpecError
from rewarddesign.models import EnsembleConfig, RewardEnsemble

GAMMA = 0.9


class PointMass(gym.Env):
    """A 1-D point mass (position, velocity) pushed by a bounded force: no package code."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float64)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float64)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = self.np_random.uniform(-1, 1, 2)
        return self.s.copy(), {}

    def step(self, action):
        x, v = self.s
        v = 0.9 * v + 0.1 * float(action[0])
        self.s = np.array([x + 0.1 * v, v])
        return self.s.copy(), -(x**2), False, False, {}


def point_mass_transitions(n: int, seed: int) -> Transitions:
    env = gym.wrappers.TimeLimit(PointMass(), 50)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    rows = []
    for _ in range(n):
        a = env.action_space.sample()
        nxt, _, term, trunc, _ = env.step(a)
        rows.append((obs, a, nxt))
        obs = env.reset()[0] if term or trunc else nxt
    s, a, s2 = (np.array(c) for c in zip(*rows, strict=True))
    return Transitions(s, a, s2)


def reward(s, a, s2):  # the reward written here: stay near 0, cheaply
    return -(s2[:, 0] ** 2) - 0.1 * a[:, 0] ** 2


def shaped(phi, a_scale=1.0, shift=0.0):
    return lambda s, a, s2: a_scale * reward(s, a, s2) + shift + GAMMA * phi(s2) - phi(s)


POTENTIALS = {
    "sin": lambda s: np.sin(3 * s[:, 0]) + s[:, 1] ** 2,
    "tanh-net": lambda s: np.tanh(s @ np.array([[1.5, -2.0], [0.3, 4.0]])).sum(axis=1) * 5,
    "big": lambda s: 100.0 * s[:, 0] * s[:, 1],
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    t = point_mass_transitions(4000, seed=0)
    return t, draw_coverage(t.obs, t.actions, 256, rng)


def test_epic_ignores_positive_scale_and_shift_and_negation_is_distance_one(data):
    t, cov = data
    rng = np.random.default_rng(1)
    rewards = {
        "r": reward,
        "0.5r-2": lambda *x: 0.5 * reward(*x) - 2.0,
        "3r+7": lambda *x: 3.0 * reward(*x) + 7.0,
        "-r": lambda *x: -reward(*x),
    }
    m = epic(rewards, t, cov, GAMMA, rng, bootstrap=50)
    assert m.get("r", "0.5r-2") < 1e-4 and m.get("r", "3r+7") < 1e-4
    assert abs(m.get("r", "-r") - 1.0) < 1e-3
    assert m.names == tuple(rewards) and m.transitions == len(t) and m.samples == 256


@pytest.mark.parametrize("potential", sorted(POTENTIALS))
def test_epic_ignores_potential_shaping_of_any_potential(data, potential):
    t, cov = data
    rng = np.random.default_rng(2)
    phi = POTENTIALS[potential]
    m = epic({"r": reward, "shaped": shaped(phi, 2.0, 1.0)}, t, cov, GAMMA, rng, bootstrap=20)
    assert m.get("r", "shaped") < 1e-4
    # without canonicalisation the shaped reward is far from the original
    raw = pearson_distance(
        reward(t.obs, t.actions, t.next_obs), shaped(phi)(t.obs, t.actions, t.next_obs)
    )
    assert raw > 0.05


def test_a_different_reward_has_a_distance_with_an_interval_around_it(data):
    t, cov = data
    other = lambda s, a, s2: -np.abs(s2[:, 1])  # noqa: E731 - the velocity, not the position
    m = epic({"r": reward, "other": other}, t, cov, GAMMA, np.random.default_rng(3), bootstrap=200)
    d = m.get("r", "other")
    assert 0.1 < d < 0.9
    assert m.low[0, 1] < d < m.high[0, 1] and m.high[0, 1] - m.low[0, 1] < 0.1
    assert m.distance[0, 0] == 0.0 and m.distance[0, 1] == m.distance[1, 0]


def test_the_distance_at_1e4_and_1e5_transitions_agrees_to_0_01():
    """1e4 transitions drawn from a rollout of 1e5 give the distance of all 1e5 (the
    same coverage samples): the estimate has converged at 1e4."""
    other = lambda s, a, s2: -np.abs(s2[:, 1]) - 0.05 * s2[:, 0]  # noqa: E731
    t = point_mass_transitions(100_000, seed=1)
    rng = np.random.default_rng(1)
    cov = draw_coverage(t.obs, t.actions, 512, rng)
    subset = t.take(rng.choice(len(t), 10_000, replace=False))
    d = [
        epic({"r": reward, "o": other}, x, cov, GAMMA, rng, bootstrap=10).get("r", "o")
        for x in (subset, t)
    ]
    assert abs(d[0] - d[1]) < 0.01, d


# -- tabular: exact values ---------------------------------------------------------------


def tabular_rewards(task: str, *forms) -> tuple[list[np.ndarray], gym.Env]:
    """Each reward form of a tabular task as an (S, A, S) tensor, from the adapter."""
    env = rd.make(task)
    S, A = env.observation_space.n, env.action_space.n
    s, a, z = (g.reshape(-1) for g in np.meshgrid(range(S), range(A), range(S), indexing="ij"))
    spec = rd.task_spec(task)
    out = [
        as_reward(spec, f, env.observation_space, env.action_space)(s, a, z).reshape(S, A, S)
        for f in forms
    ]
    return out, env


def brute_force_epic(R1, R2, gamma):
    """EPIC by its definition, one loop per expectation (uniform D_S, D_A and D)."""
    S, A, _ = R1.shape

    def canon(R):
        C = np.zeros_like(R)
        mean = sum(R[x, b, y] for x in range(S) for b in range(A) for y in range(S)) / (S * A * S)
        for s, a, s2 in itertools.product(range(S), range(A), range(S)):
            e_next = sum(R[s2, b, y] for b in range(A) for y in range(S)) / (A * S)
            e_here = sum(R[s, b, y] for b in range(A) for y in range(S)) / (A * S)
            C[s, a, s2] = R[s, a, s2] + gamma * e_next - e_here - gamma * mean
        return C

    c1, c2 = canon(R1).reshape(-1), canon(R2).reshape(-1)
    rho = np.corrcoef(c1, c2)[0, 1]
    return float(np.sqrt((1 - rho) / 2))


@pytest.mark.parametrize("task", ["gridworld/delivery", "gridworld/random-mdp"])
def test_tabular_epic_equals_a_brute_force_computation(task):
    (R, R2), env = tabular_rewards(task, "true", "expr:" + rd.task_spec(task).factor_names[1])
    P = env.unwrapped.P  # the adapter gives the env's rewards wherever it can move
    assert np.allclose(R[P > 0], env.unwrapped.R[P > 0])
    assert abs(tabular_epic(R, R2, GAMMA) - brute_force_epic(R, R2, GAMMA)) < 1e-9


@pytest.mark.parametrize("task", ["gridworld/delivery", "gridworld/random-mdp"])
def test_tabular_epic_and_dard_ignore_shaping_and_scale(task):
    (R,), env = tabular_rewards(task, "true")
    P = env.unwrapped.P
    phi = np.random.default_rng(4).normal(size=R.shape[0]) * 10
    F = GAMMA * phi[None, None, :] - phi[:, None, None]
    for distance in (
        lambda a, b: tabular_epic(a, b, GAMMA),
        lambda a, b: tabular_dard(a, b, P, GAMMA),
    ):
        # 1e-7: sqrt((1 - rho) / 2) of rho = 1 - 1e-16 (float64) is 7e-9
        assert distance(R, 2.5 * R + 3.0 + F) < 1e-7
        assert abs(distance(R, -R) - 1.0) < 1e-9
    assert np.allclose(epic_canonical(R + F, GAMMA), epic_canonical(R, GAMMA) + 0.0)
    assert np.allclose(dard_canonical(R + F, P, GAMMA), dard_canonical(R, P, GAMMA))


def test_sampled_epic_on_a_tabular_task_approaches_the_exact_value():
    task = "gridworld/random-mdp"
    (R, R2), env = tabular_rewards(task, "true", "expr:f0 - f2")
    exact = tabular_epic(R, R2, GAMMA)
    rng = np.random.default_rng(5)
    S, A = R.shape[:2]
    n = 20_000
    t = Transitions(rng.integers(S, size=n), rng.integers(A, size=n), rng.integers(S, size=n))
    cov = draw_coverage(np.arange(S), np.arange(A), 2000, rng)
    spec = rd.task_spec(task)
    fns = {
        f: as_reward(spec, f, env.observation_space, env.action_space)
        for f in ("true", "expr:f0 - f2")
    }
    sampled = epic(fns, t, cov, GAMMA, rng, bootstrap=10).get("true", "expr:f0 - f2")
    assert abs(sampled - exact) < 0.02, (sampled, exact)


# -- the adapter ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pendulum():
    from rewarddesign.task.check import record

    run = record("classic/Pendulum-v1", 300, seed=0)
    env = rd.make("classic/Pendulum-v1")
    t = Transitions(np.array(run.before()), np.array(run.actions), np.array(run.observations))
    return rd.task_spec("classic/Pendulum-v1"), env, t, np.array(run.rewards)


def test_the_adapter_gives_the_true_env_blend_expression_and_shaped_rewards(pendulum):
    spec, env, t, rewards = pendulum
    fn = lambda f: as_reward(spec, f, env.observation_space, env.action_space, GAMMA)  # noqa: E731
    assert np.allclose(fn("true")(t.obs, t.actions, t.next_obs), rewards, atol=1e-6)
    assert np.allclose(fn("env")(t.obs, t.actions, t.next_obs), rewards, atol=1e-6)
    theta_sq = np.arctan2(t.obs[:, 1], t.obs[:, 0]) ** 2
    blend = fn({"theta_sq": -2.0, "primary": 1.0})(t.obs, t.actions, t.next_obs)
    assert np.allclose(blend, rewards - 2 * theta_sq, atol=1e-6)
    assert np.allclose(fn("expr:-theta_sq")(t.obs, t.actions, t.next_obs), -theta_sq)
    phi = lambda o: -(np.arctan2(o[:, 1], o[:, 0]) ** 2)  # noqa: E731 - the spec's "upright"
    got = fn("shaped:upright")(t.obs, t.actions, t.next_obs)
    assert np.allclose(got, rewards + GAMMA * phi(t.next_obs) - phi(t.obs), atol=1e-6)


def test_a_reward_model_and_a_weights_file_are_read_from_disk(pendulum, tmp_path):
    spec, env, t, _ = pendulum
    model = RewardEnsemble(
        EnsembleConfig.for_spaces(env.observation_space, env.action_space, hidden=(8,)), "cpu"
    )
    model.save(tmp_path / "rm")
    got = as_reward(spec, f"model:{tmp_path / 'rm'}", env.observation_space, env.action_space)
    assert np.allclose(
        got(t.obs, t.actions, t.next_obs), model.predict(t.obs, t.actions), atol=1e-6
    )
    (tmp_path / "w.yaml").write_text("task: classic/Pendulum-v1\nparams: {weights: {u_sq: -1.0}}\n")
    got = as_reward(spec, f"blend:{tmp_path / 'w.yaml'}", env.observation_space, env.action_space)
    u = np.clip(t.actions[:, 0], -2, 2)
    assert np.allclose(got(t.obs, t.actions, t.next_obs), -(u**2))


# -- refused inputs ---------------------------------------------------------------------


def test_an_info_factor_without_a_transition_function_is_refused_naming_it():
    env = rd.make("dmc/walker-walk")
    with pytest.raises(SpecError, match=r"'standing' \(info\['standing'\]\).*transition:"):
        as_reward(rd.task_spec("dmc/walker-walk"), "true", env.observation_space, env.action_space)


def test_rewards_of_another_task_or_other_spaces_are_refused(pendulum, tmp_path):
    spec, env, _, _ = pendulum
    (tmp_path / "w.yaml").write_text("task: mujoco/HalfCheetah-v5\nweights: {u_sq: -1.0}\n")
    with pytest.raises(SpecError, match="tuned on task 'mujoco/HalfCheetah-v5'"):
        as_reward(spec, f"blend:{tmp_path / 'w.yaml'}", env.observation_space, env.action_space)
    other = RewardEnsemble(EnsembleConfig(obs_shape=(5,), act_shape=(1,), hidden=(4,)), "cpu")
    with pytest.raises(SpaceMismatchError, match="obs_shape"):
        as_reward(spec, other, env.observation_space, env.action_space)
    with pytest.raises(SpecError, match="none of the forms"):
        as_reward(spec, "weights.yaml", env.observation_space, env.action_space)


def test_too_few_samples_and_a_constant_reward_are_clear_errors(data):
    t, cov = data
    rng = np.random.default_rng(0)
    with pytest.raises(ParameterError, match="2 or more transitions"):
        epic({"r": reward, "o": reward}, t.take(slice(0, 1)), cov, GAMMA, rng)
    with pytest.raises(ParameterError, match="2 or more rewards"):
        epic({"r": reward}, t, cov, GAMMA, rng)
    with pytest.raises(ParameterError, match="coverage samples must be an integer >= 1"):
        draw_coverage(t.obs, t.actions, 0, rng)
    const = lambda s, a, s2: np.full(len(s), 3.0)  # noqa: E731
    with pytest.raises(ParameterError, match=r"'c' is constant .* undefined"):
        epic({"r": reward, "c": const}, t, cov, GAMMA, rng)
    pure_shaping = shaped(POTENTIALS["sin"], a_scale=0.0)
    with pytest.raises(ParameterError, match="'F' is constant"):
        epic({"r": reward, "F": pure_shaping}, t, cov, GAMMA, rng)
    with pytest.raises(ParameterError, match="constant after canonicalisation"):
        tabular_epic(np.ones((3, 2, 3)), np.zeros((3, 2, 3)) + np.arange(3), GAMMA)


@pytest.mark.parametrize("inputs", ["obs_action", "obs_action_next_obs"])
def test_a_reward_models_fast_expectations_equal_the_generic_ones(pendulum, inputs):
    spec, env, t, _ = pendulum
    config = EnsembleConfig.for_spaces(
        env.observation_space, env.action_space, hidden=(16, 16), inputs=inputs, bounded=True
    )
    model = RewardEnsemble(config, "cpu")
    model.fit_normalizer(model.inputs(t.obs, t.actions, t.next_obs))
    fast = as_reward(spec, model, env.observation_space, env.action_space)
    assert hasattr(fast, "mean_over")
    generic = lambda s, a, s2: model.predict(s, a, s2)  # noqa: E731 - no mean_over
    rng = np.random.default_rng(6)
    cov = draw_coverage(t.obs, t.actions, 32, rng)
    from rewarddesign.diagnostics import canonicalize

    a, b = canonicalize(fast, t, cov, GAMMA), canonicalize(generic, t, cov, GAMMA)
    assert np.allclose(a, b, atol=1e-5)


# -- DARD: the task's dynamics ----------------------------------------------------------


@pytest.mark.parametrize(
    "task",
    [
        "classic/Pendulum-v1",
        "classic/MountainCarContinuous-v0",
        "classic/CartPole-v1",
        "barfi/MountainCar-sparse",
        "gridworld/delivery",
    ],
)
def test_the_batched_dynamics_are_the_envs_own_steps(task):
    from rewarddesign.task.check import record
    from rewarddesign.task.dynamics import dynamics

    run = record(task, 400, seed=3)
    s, a, s2 = np.array(run.before()), np.array(run.actions), np.array(run.observations)
    got = dynamics(rd.task_spec(task))(s, a, np.random.default_rng(0))
    assert np.allclose(got, s2, atol=1e-5), np.abs(got - s2).max()


@pytest.mark.parametrize("potential", ["cos", "net"])
def test_dard_ignores_shaping_and_scale_on_pendulum(pendulum, potential):
    from rewarddesign.diagnostics import dard
    from rewarddesign.task.dynamics import dynamics

    spec, env, t, _ = pendulum
    true = as_reward(spec, "true", env.observation_space, env.action_space)
    phi = {
        "cos": lambda s: 3 * s[:, 0] - s[:, 2] ** 2,
        "net": lambda s: np.tanh(s @ np.array([[1.0, -2.0], [0.5, 0.1], [0.3, -0.2]])).sum(1),
    }[potential]
    shaped_true = lambda s, a, s2: 0.5 * true(s, a, s2) - 1 + GAMMA * phi(s2) - phi(s)  # noqa: E731
    rng = np.random.default_rng(7)
    actions = rng.uniform(-2, 2, (32, 1)).astype(np.float32)
    step = dynamics(spec)
    m = dard(
        {"r": true, "s": shaped_true, "-r": lambda *x: -true(*x)},
        t,
        actions,
        step,
        GAMMA,
        rng,
        bootstrap=20,
    )
    assert m.get("r", "s") < 1e-4 and abs(m.get("r", "-r") - 1) < 1e-3
    assert m.distance_kind == "dard"


def test_sampled_dard_on_a_tabular_task_approaches_the_exact_value():
    from rewarddesign.diagnostics import dard
    from rewarddesign.task.dynamics import dynamics

    task = "gridworld/random-mdp"
    (R, R2), env = tabular_rewards(task, "true", "expr:f0 - f2")
    P = env.unwrapped.P
    exact = tabular_dard(R, R2, P, GAMMA)
    rng = np.random.default_rng(8)
    S, A = R.shape[:2]
    n = 20_000
    s, a = rng.integers(S, size=n), rng.integers(A, size=n)
    step = dynamics(rd.task_spec(task))
    t = Transitions(s, a, step(s, a, rng))
    spec = rd.task_spec(task)
    fns = {
        f: as_reward(spec, f, env.observation_space, env.action_space)
        for f in ("true", "expr:f0 - f2")
    }
    sampled = dard(fns, t, rng.integers(A, size=400), step, GAMMA, rng, bootstrap=10).get(
        "true", "expr:f0 - f2"
    )
    assert abs(sampled - exact) < 0.02, (sampled, exact)
    assert abs(exact - tabular_epic(R, R2, GAMMA)) > 0.01  # DARD is not EPIC here


def test_a_barfi_blend_is_read_from_its_folder_and_checked_against_the_task(tmp_path):
    from rewarddesign.models.meta_blend import MetaBlend

    task = "barfi/GridWorld"
    env, spec = rd.make(task), rd.task_spec(task)
    MetaBlend(2, phi_init=(1.0, 2.0, 0.5), task=task, aux="helpful").save(tmp_path / "b")
    fn = as_reward(spec, f"meta:{tmp_path / 'b'}", env.observation_space, env.action_space)
    s = np.array([[0.1, 0.1], [0.85, 0.85]], np.float32)
    s2 = np.array([[0.2, 0.1], [0.9, 0.9]], np.float32)
    goal = np.array([0.0, 1.0])
    distance = np.linalg.norm(s2 - np.array([0.9, 0.9]), axis=1)
    # phi1 + phi2 * (100 goal - 0.1) + phi3 * (minus the distance to the goal)
    want = 1.0 + 2.0 * (100 * goal - 0.1) - 0.5 * distance
    assert np.allclose(fn(s, np.array([3, 0]), s2), want, atol=1e-5)
    MetaBlend(2, task="barfi/CartPole", aux="helpful").save(tmp_path / "other")
    with pytest.raises(SpecError, match="learned on task 'barfi/CartPole'"):
        as_reward(spec, f"meta:{tmp_path / 'other'}", env.observation_space, env.action_space)


def test_the_compare_command_prints_the_matrix_and_writes_it_with_a_heatmap(tmp_path, capsys):
    import json

    from rewarddesign.cli.main import main

    out = tmp_path / "d.json"
    argv = ["compare", "classic/Pendulum-v1", "--reward", "true", "--reward", "shaped:upright"]
    argv += ["--reward", "expr:-theta_sq", "--transitions", "300", "--samples", "16"]
    assert main([*argv, "--bootstrap", "50", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "EPIC distance, 95% CI: classic/Pendulum-v1, 300 transitions, 16 samples" in text
    doc = json.loads(out.read_text())
    assert doc["names"] == ["true", "shaped:upright", "expr:-theta_sq"]
    assert doc["matrix"][0][1] < 1e-4 and 0.05 < doc["matrix"][0][2] < 0.9
    assert (tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"
    assert main([*argv, "--out", str(tmp_path / "d.csv")]) == 0
    rows = (tmp_path / "d.csv").read_text().splitlines()
    assert rows[0] == "a,b,distance,low,high" and len(rows) == 1 + 9


def test_compare_rolls_out_a_policy_and_takes_its_actions_as_coverage():
    push = lambda obs: np.array([2.0], np.float32)  # noqa: E731 - always full torque
    kw = dict(policy=push, actions="data", transitions=200, samples=16, bootstrap=20)
    m = rd.compare("classic/Pendulum-v1", ["true", "expr:-theta_sq"], **kw)
    assert m.transitions == 200 and 0 < m.get("true", "expr:-theta_sq") < 1
    # the policy's actions are all equal: a reward of the action alone is constant there
    with pytest.raises(ParameterError, match="'expr:-u_sq' is constant"):
        rd.compare("classic/Pendulum-v1", ["true", "expr:-u_sq"], **kw)
    with pytest.raises(SpecError, match="trajectories or a policy"):
        rd.compare("classic/Pendulum-v1", ["true", "env"], traj="x.npz", policy=push)


def test_compare_reward_names_on_the_command_line():
    from rewarddesign.cli.compare import named

    assert named(["true", "expr:a == b"]) == ["true", "expr:a == b"]
    got = named(["true", "ten=model:runs/x/reward_model", "expr:a == b"])
    assert got == {"true": "true", "ten": "model:runs/x/reward_model", "expr:a == b": "expr:a == b"}
    with pytest.raises(SpecError, match="'m' is given twice"):
        named(["m=true", "m=env"])
