"""The SBX (JAX) agents: built by the factory, taken by every method through one adapter,
saved without pickles, seeded, and refused with clear errors."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sbx

import rewarddesign as rd
from rewarddesign.contract.evaluation import Evaluator
from rewarddesign.contract.runspec import EvalSpec, RunSpec
from rewarddesign.errors import ParameterError, SpaceMismatchError, SpecError, UnknownNameError
from rewarddesign.experiment.experts import expert_dir, train_expert
from rewarddesign.experiment.runner import validate
from rewarddesign.methods.base import RunContext
from rewarddesign.preferences import CriticOracle
from rewarddesign.wrappers import PotentialShaping

PENDULUM = "classic/Pendulum-v1"
SBX = ["sbx-sac", "sbx-td3", "sbx-tqc", "sbx-crossq", "sbx-ppo"]
# a preference loop small enough for a few hundred steps
LOOP = {"labels": 20, "queries": 10, "interval": 150, "seed_steps": 150, "segment": 20}
SMALL_PPO = {"n_steps": 64, "batch_size": 32}


def small_run(agent, method="true", task=PENDULUM, budget=400, params=None, seed=0):
    overrides = SMALL_PPO if not rd.agents.kind(agent).off_policy else None
    return rd.run(
        task,
        method,
        agent,
        seed=seed,
        budget=budget,
        agent_preset="fast",
        agent_overrides=overrides,
        eval_every=budget,
        eval_episodes=1,
        method_params=params,
        device="cpu",
    )


@pytest.mark.parametrize("agent", SBX)
def test_the_factory_builds_each_sbx_agent_on_the_cpu_here(agent):
    model = rd.agents.make(agent, rd.make(PENDULUM), seed=0, preset="fast")
    assert type(model) is getattr(sbx, rd.agents.kind(agent).cls_name)
    assert rd.agents.view(model).device == "cpu"  # "auto" without a GPU
    assert rd.agents.kind_of(model) is rd.agents.kind(agent)


@pytest.mark.parametrize(
    ("method", "task", "params"),
    [
        ("true", PENDULUM, None),
        ("blend", PENDULUM, None),
        ("weighted", PENDULUM, None),
        ("shaping", "classic/MountainCarContinuous-sparse-v0", None),
        ("pbrl", PENDULUM, {**LOOP, "pretrain_steps": 100}),
        ("heron", PENDULUM, LOOP),
    ],
)
def test_sbx_sac_under_every_method(method, task, params):
    result = small_run("sbx-sac", method, task, params=params)
    # MountainCar's settings train every 32 steps: the run ends on one of those
    assert 400 <= result.env_steps < 432 and result.device == "cpu"
    assert np.isfinite(result.final_return)
    if params is not None:
        assert result.labels_used == 20


@pytest.mark.parametrize("agent", ["sbx-td3", "sbx-tqc", "sbx-crossq", "sbx-ppo"])
def test_each_other_sbx_agent_under_true_and_pbrl(agent):
    budget = 400 if rd.agents.kind(agent).off_policy else 512  # PPO: 2 rollouts, 4 x 64
    assert small_run(agent, budget=budget).env_steps == budget
    result = small_run(agent, "pbrl", budget=budget, params=LOOP)
    assert result.labels_used == 20 and np.isfinite(result.final_return)


def test_pbrl_relabels_the_sbx_replay_buffer_with_the_models_predictions():
    spec = RunSpec(
        task=PENDULUM,
        method="pbrl",
        agent="sbx-sac",
        seed=0,
        budget=500,
        agent_preset="fast",
        method_params={**LOOP, "pretrain_steps": 50},
        eval=EvalSpec(every=500, episodes=1),
    )
    method = validate(spec)
    task = rd.task_spec(PENDULUM)
    ctx = RunContext(spec, task, "cpu", np.random.default_rng(0), Evaluator(task, 1, 0))
    method.train(ctx)
    rb, model = ctx.model.replay_buffer, method.reward_model
    used = rb.pos
    assert used == 500 and ctx.labels_used == 20
    expected = model.predict(
        rb.observations[:used, 0], ctx.model.policy.unscale_action(rb.actions[:used, 0])
    )
    # the last session (step 450) relabelled every stored step; the 50 after it keep the
    # reward the wrapper gave them, the same model's
    np.testing.assert_allclose(rb.rewards[:used, 0], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("agent", SBX)
def test_save_and_load_round_trip_gives_identical_actions_and_values(agent, tmp_path):
    env = rd.make(PENDULUM)
    overrides = {} if rd.agents.kind(agent).off_policy else SMALL_PPO
    model = rd.agents.make(agent, env, seed=0, preset="fast", **overrides)
    model.learn(300 if overrides == {} else 128)
    cfg = {"algo": agent, "task": PENDULUM, "preset": "fast", "overrides": overrides}
    rd.agents.save(model, tmp_path, cfg)
    assert json.loads((tmp_path / "agent.json").read_text())["format"] == 1
    with np.load(tmp_path / "params.npz", allow_pickle=False) as arrays:
        assert arrays.files and all(
            arrays[k].dtype.kind in "fiu" for k in arrays.files
        )  # numbers only
    loaded = rd.agents.load(tmp_path, env, device="cpu")
    fresh = rd.agents.make(agent, env, seed=1, preset="fast", **overrides)
    obs = np.random.default_rng(0).uniform(-1, 1, (16, 3)).astype(np.float32)
    act = model.predict(obs, deterministic=True)[0]
    assert np.array_equal(loaded.predict(obs, deterministic=True)[0], act)
    assert not np.array_equal(fresh.predict(obs, deterministic=True)[0], act)
    v = rd.agents.view
    np.testing.assert_array_equal(v(loaded).value(obs), v(model).value(obs))


def test_an_sbx_run_is_seeded_and_deterministic_on_the_cpu():
    a, b, c = (small_run("sbx-sac", budget=300, seed=s) for s in (0, 0, 1))
    assert [p.mean_return for p in a.curve] == [p.mean_return for p in b.curve]
    assert a.final_return == b.final_return != c.final_return


def _min_q(model, obs, scaled_actions):
    """SBX SAC's twin-critic minimum, straight from its flax state."""
    p = model.policy
    qs = p.qf.apply(p.qf_state.params, jnp.asarray(obs), jnp.asarray(scaled_actions))
    return np.asarray(jnp.min(qs, axis=0)[:, 0], dtype=np.float64)


@pytest.fixture(scope="module")
def sbx_expert(tmp_path_factory):
    """An sbx-sac expert for Pendulum (8k steps of the fast preset: it swings up)."""
    root = tmp_path_factory.mktemp("experts")
    record = train_expert(PENDULUM, 8000, 0, "cpu", root, "fast", eval_episodes=3, agent="sbx-sac")
    return root, record


def test_critic_oracle_reads_an_sbx_experts_critic(sbx_expert):
    root, record = sbx_expert
    assert record["algo"] == "sbx-sac" and record["true_return"] > -400  # random: -1200
    oracle = CriticOracle.from_dir(expert_dir(PENDULUM, root), task=PENDULUM, n_action_samples=4)
    up, down = np.array([1.0, 0.0, 0.0], np.float32), np.array([-1.0, 0.0, 0.0], np.float32)
    v_up, v_down = oracle.V(np.stack([up, down]))
    assert v_up > v_down + 100
    model = rd.agents.load(expert_dir(PENDULUM, root) / "model", rd.make(PENDULUM), "cpu")
    states = np.stack([up, down, up])
    actions = np.array([[2.0], [-1.0], [0.0]], np.float32)  # env scale: [-2, 2]
    np.testing.assert_allclose(
        oracle.Q(states, actions), _min_q(model, states, actions / 2.0), rtol=1e-6
    )


def test_potential_shaping_by_a_trained_sbx_agents_value():
    model = rd.agents.make("sbx-sac", rd.make(PENDULUM), seed=0, preset="fast")
    model.learn(300)
    env = PotentialShaping(rd.make(PENDULUM), model, 0.99)
    obs, _ = env.reset(seed=0)
    nxt, r, *_, info = env.step(np.zeros(1, np.float32))
    both = np.stack([obs, nxt])
    pi = model.policy.select_action(model.policy.actor_state, both)  # tanh of the mean
    v = _min_q(model, both, pi)
    assert r == pytest.approx(info["env_reward"] + 0.99 * v[1] - v[0], abs=1e-5)


def test_tuning_takes_an_sbx_agent(tmp_path):
    study = rd.tune(
        PENDULUM,
        "blend",
        trials=2,
        agent="sbx-sac",
        budget=300,
        storage=str(tmp_path / "study.db"),
        factors=["theta_sq", "u_sq"],
        agent_preset="fast",
        eval_every=300,
        eval_episodes=1,
        device="cpu",
        verbose=False,
    )
    assert len(study.trials) == 2 and all(np.isfinite(t.value) for t in study.trials)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda env: rd.agents.make("sbx-sac", env, optimize_memory_usage=True),
            UnknownNameError,
            "'optimize_memory_usage' is an option of SB3's 'sac', which SBX's SAC does not "
            "take: drop it, or use agent 'sac'",
        ),
        (
            lambda env: rd.agents.make("sbx-crossq", env, tau=0.01),
            UnknownNameError,
            "'tau' is an option of SB3's 'sac', which SBX's CrossQ does not take",
        ),
        (
            lambda env: rd.agents.make("sbx-td3", env, learning_rat=1e-3),
            UnknownNameError,
            "unknown hyperparameter of agent 'sbx-td3' 'learning_rat'",
        ),
        (
            lambda env: rd.agents.make("sbx-sac", env, batch_size=0),
            ParameterError,
            "agent 'sbx-sac': batch_size must be an integer >= 1, got 0",
        ),
        (
            lambda env: rd.agents.make("sbx-sac", env, policy_kwargs={"activation_fn": "gelu"}),
            UnknownNameError,
            "activation_fn",
        ),
        (
            lambda env: rd.agents.make("sbx-sac", env, device="cuda"),
            ParameterError,
            r"device 'cuda' asked for, but JAX sees 0 GPU\(s\)",
        ),
        (
            lambda env: rd.agents.make("sbx-sac", env, device="tpu"),
            ParameterError,
            "unknown device 'tpu'",
        ),
        (
            lambda env: rd.agents.make("sbx-tqc", rd.make("classic/CartPole-v1")),
            SpaceMismatchError,
            "agent 'sbx-tqc' needs a continuous \\(Box\\) action space",
        ),
        (
            lambda env: CriticOracle(rd.agents.make("sbx-td3", env, preset="fast")),
            SpecError,
            "CriticOracle needs an SAC-family model",
        ),
        (
            lambda env: train_expert(PENDULUM, 10, agent="sbx-td3"),
            UnknownNameError,
            "unknown expert agent .* 'sbx-td3'",
        ),
    ],
)
def test_bad_sbx_input_is_one_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call(rd.make(PENDULUM))


def test_an_sbx_agent_without_the_jax_extra_names_the_extra(monkeypatch):
    monkeypatch.setattr("rewarddesign.agents.kinds.has_jax", lambda: False)
    with pytest.raises(ParameterError, match=r"pip install 'rewarddesign\[jax\]'"):
        validate(RunSpec(PENDULUM, "true", "sbx-sac", budget=1000))
    assert rd.agents.config("sac")["batch_size"] == 256  # SB3 agents need no extra


def test_xla_runs_single_threaded_unless_the_user_says_otherwise(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    rd.agents.single_threaded_xla()
    import os

    assert "--xla_cpu_multi_thread_eigen=false" in os.environ["XLA_FLAGS"]
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true")
    rd.agents.single_threaded_xla()
    assert os.environ["XLA_FLAGS"] == "--xla_cpu_multi_thread_eigen=true"
    rd.agents.config("sbx-sac")
    assert os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"  # set at first sbx use
    assert jax.devices()[0].platform == "cpu"


def test_expert_train_on_the_command_line_takes_sac_family_agents_only(tmp_path, capsys):
    from rewarddesign.cli import main

    argv = ["expert", "train", PENDULUM, "--steps", "10", "--dir", str(tmp_path)]
    assert main([*argv, "--agent", "sbx-td3"]) == 2
    assert "expert agent (SAC's family" in capsys.readouterr().out
    assert not any(tmp_path.iterdir())  # refused before anything is written
