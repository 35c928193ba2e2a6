"""End-to-end runs of every method, and validation of run specs before they start."""

from __future__ import annotations

import io
import json
import re
import sys

import numpy as np
import pytest

import rewarddesign as rd
from rewarddesign.contract.runspec import RunSpec
from rewarddesign.errors import ParameterError, SpaceMismatchError, SpecError, UnknownNameError
from rewarddesign.experiment.runner import validate
from rewarddesign.methods import METHODS


def test_registered_methods():
    assert {"true", "blend", "shaping", "pbrl"} <= set(METHODS)


def test_true_method_end_to_end_with_sac(tmp_path):
    seen = []
    result = rd.run(
        "classic/Pendulum-v1",
        "true",
        "sac",
        seed=0,
        budget=2000,
        agent_preset="fast",
        eval_every=1000,
        eval_episodes=2,
        device="cpu",
        save_dir=tmp_path,
        progress=lambda done, budget, ret: seen.append((done, budget)),
    )
    assert [p.step for p in result.curve] == [1000, 2000]
    assert result.env_steps == 2000 and result.labels_used == 0
    assert result.final_return == result.curve[-1].mean_return == np.mean(result.curve[-1].returns)
    assert -2000 < result.final_return < 0  # Pendulum returns are negative, 200 steps
    assert result.final_success is None  # Pendulum defines no success
    assert result.device == "cpu" and result.versions["stable-baselines3"].startswith("2.9")
    assert seen[-1] == (2000, 2000)
    saved = rd.RunResult.from_json((tmp_path / "result.json").read_text())
    assert saved.final_return == result.final_return
    assert json.loads((tmp_path / "model" / "agent.json").read_text())["algo"] == "sac"


def test_evaluation_is_deterministic_given_the_policy():
    a = rd.run("classic/CartPole-v1", "true", "ppo", seed=1, budget=2048, eval_episodes=3)
    b = rd.run("classic/CartPole-v1", "true", "ppo", seed=1, budget=2048, eval_episodes=3)
    assert [p.returns for p in a.curve] == [p.returns for p in b.curve]


def test_blend_method_end_to_end_trains_on_blended_reward():
    weights = {"theta_sq": -1.0, "u_sq": -0.5}
    result = rd.run(
        "classic/Pendulum-v1",
        "blend",
        "ppo",
        seed=0,
        budget=2048,
        agent_preset="fast",
        agent_overrides={"n_steps": 256},
        eval_episodes=2,
        weights=weights,
    )
    assert result.spec.method_params == {"weights": weights}
    assert result.env_steps >= 2048
    assert result.curve[-1].step == result.env_steps


def test_blend_defaults_to_the_spec_weights_and_mountaincar_reports_success():
    result = rd.run(
        "classic/MountainCarContinuous-v0",
        "blend",
        "ppo",
        seed=0,
        budget=1024,
        agent_preset="fast",
        agent_overrides={"n_steps": 256},
        eval_episodes=1,
    )
    assert result.final_success in (0.0, 1.0)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"task": "classic/Nope-v0"}, UnknownNameError, "unknown task 'classic/Nope-v0'"),
        (
            {"method": "magic"},
            UnknownNameError,
            r"unknown method 'magic'; valid choices: barfi, blend, heron, learned, pbrl, plural, "
            r"shaping, true, weighted",
        ),
        ({"agent": "dqn"}, UnknownNameError, "unknown agent for method 'true' 'dqn'"),
        ({"method_params": {"weight": {}}}, UnknownNameError, "parameter of method 'true'"),
        (
            {"method": "blend", "method_params": {"weights": {"speed": 1.0}}},
            UnknownNameError,
            r"unknown factor in blend weights .* 'speed'; "
            r"valid choices: primary, theta_dot_sq, theta_sq, u_sq",
        ),
        ({"budget": -5}, ParameterError, "budget must be an integer >= 1"),
        ({"agent_preset": "huge"}, UnknownNameError, "preset of agent 'sac'"),
        ({"agent_overrides": {"lr": 1}}, UnknownNameError, "hyperparameter of agent 'sac' 'lr'"),
        (
            {"agent_overrides": {"seed": 1}},
            UnknownNameError,
            "hyperparameter of agent 'sac' 'seed'",
        ),
        (
            {"task": "classic/CartPole-v1"},
            SpaceMismatchError,
            "use 'ppo' or 'sbx-ppo' for discrete actions",
        ),
        ({"agent": "ppo", "budget": 100}, ParameterError, "less than one PPO rollout"),
        (
            {"method": "shaping", "method_params": {"potential": "tall"}},
            UnknownNameError,
            "unknown potential of task 'classic/Pendulum-v1' 'tall'; valid choices: upright",
        ),
        (
            {"method": "shaping", "method_params": {"gamma": 2.0}},
            ParameterError,
            r"gamma must be a number in \[0, 1\]",
        ),
        (
            {"method": "shaping", "task": "mujoco/HalfCheetah-v5"},
            SpecError,
            "declares no potentials",
        ),
        ({"method": "blend", "method_params": {"weights": {}}}, SpecError, "must not be empty"),
        ({"method": "blend", "method_params": {"weights": ["theta_sq"]}}, SpecError, "mapping"),
        (
            {"method": "blend", "method_params": {"weights": {"primary": "x"}}},
            ParameterError,
            "finite number",
        ),
    ],
)
def test_bad_run_specs_fail_before_the_run_starts(changes, error, message):
    base = {"task": "classic/Pendulum-v1", "method": "true", "agent": "sac", "budget": 100}
    with pytest.raises(error, match=message):
        validate(RunSpec(**(base | changes)))


def test_method_params_given_twice_is_an_error():
    with pytest.raises(SpecError, match="given twice"):
        rd.run(
            "classic/Pendulum-v1",
            "blend",
            budget=10,
            method_params={"weights": {}},
            weights={"theta_sq": 1.0},
        )


def test_cuda_asked_for_without_gpu_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ParameterError, match="torch sees no GPU"):
        rd.agents.resolve_device("cuda")


def test_training_env_monitor_records_the_true_reward_of_a_primary_task(write_yaml):
    """With a declared primary reward, Monitor (inside the reward wrapper) sees it."""
    import yaml

    from rewarddesign.methods.base import RunContext
    from rewarddesign.methods.blend import Blend, BlendParams
    from tests.conftest import SCRIPTED_SPEC

    doc = yaml.safe_load(yaml.safe_dump(SCRIPTED_SPEC)) | {"primary": {"weights": {"a": 1.0}}}
    task = rd.task_spec(write_yaml(doc, "primary.yaml"))
    method = Blend(BlendParams(weights={"b": 1.0}))
    spec = RunSpec(task=task.path, method="blend", agent="sac", budget=10)
    ctx = RunContext(
        spec=spec, task=task, device="cpu", rng=np.random.default_rng(0), evaluator=None
    )
    venv = method.train_env(ctx, n_envs=1)
    venv.reset()
    rewards = [venv.step(np.zeros((1, 1), np.float32))[1][0] for _ in range(5)]
    # trained on the blend (factor b = 2t), Monitor's episode return is the primary (sum of t)
    assert rewards == [2.0, 4.0, 6.0, 8.0, 10.0]
    monitor = venv.envs[0].env
    assert monitor.get_episode_rewards() == [15.0]


def shaping_context(write_yaml, agent="sac", **params):
    import yaml

    from rewarddesign.methods.base import RunContext
    from rewarddesign.methods.shaping import Shaping, ShapingParams
    from tests.conftest import EPISODES_SPEC

    doc = yaml.safe_load(yaml.safe_dump(EPISODES_SPEC))
    doc["potentials"] = {"tilt": {"fn": "obs_entry", "args": {"index": 1, "scale": 2.0}}}
    task = rd.task_spec(write_yaml(doc, "episodes.yaml"))
    spec = RunSpec(task=task.path, method="shaping", agent=agent, budget=10, method_params=params)
    ctx = RunContext(
        spec=spec, task=task, device="cpu", rng=np.random.default_rng(0), evaluator=None
    )
    return Shaping(ShapingParams(**params)), ctx


def test_shaping_method_shapes_the_true_reward_with_the_agents_discount(write_yaml):
    method, ctx = shaping_context(write_yaml)
    venv = method.train_env(ctx, n_envs=1)
    venv.reset()
    rewards = [venv.step(np.zeros((1, 1), np.float32))[1][0] for _ in range(4)]
    # Phi = 2t; reward t; SAC's gamma 0.99; the third step is terminal (Phi = 0)
    expected = [1 + 0.99 * 2 - 0, 2 + 0.99 * 4 - 2, 3 + 0 - 4, 1 + 0.99 * 2 - 0]
    np.testing.assert_allclose(rewards, np.float32(expected), rtol=1e-6)


def test_shaping_gamma_other_than_the_agents_warns(write_yaml):
    from rewarddesign.methods.shaping import ShapingWarning

    method, ctx = shaping_context(write_yaml, gamma=0.5)
    with pytest.warns(ShapingWarning, match="differs from the agent's discount 0.99"):
        assert method.gamma(ctx) == 0.5
    method, ctx = shaping_context(write_yaml, agent="ppo")
    assert method.gamma(ctx) == rd.agents.config("ppo").get("gamma", 0.99)


@pytest.mark.parametrize(
    ("agent", "budget", "overrides"),
    [("ppo", 512, {"n_steps": 64}), ("sac", 300, {"learning_starts": 100})],
)
def test_the_final_return_is_the_saved_policys(tmp_path, agent, budget, overrides):
    """PPO updates on its last rollout and SAC takes its last gradient step after the last
    env step: the final evaluation is made after them, of the policy that is saved."""
    from rewarddesign.contract.evaluation import Evaluator
    from rewarddesign.methods.base import sb3_predict

    task = "classic/Pendulum-v1"
    result = rd.run(
        task,
        "true",
        agent,
        seed=0,
        budget=budget,
        agent_preset="fast",
        agent_overrides=overrides,
        eval_every=budget // 2,
        eval_episodes=1,
        device="cpu",
        save_dir=tmp_path,
    )
    assert [p.step for p in result.curve] == [budget // 2, budget]
    model = rd.agents.load(tmp_path / "model", rd.make(task), device="cpu")
    evaluator = Evaluator(rd.task_spec(task), result.spec.eval.episodes, result.spec.eval.seed)
    returns = evaluator(sb3_predict(model)).returns
    evaluator.close()
    assert returns.tolist() == result.curve[-1].returns
    assert float(returns.mean()) == result.final_return


def test_tensorboard_log_gets_the_true_eval_return_and_the_training_reward(
    tmp_path, scripted_spec_path
):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    # trained on factor a = t of 5-step episodes: every 10 steps the rewards 1..5 twice
    result = rd.run(
        scripted_spec_path,
        "blend",
        "sac",
        seed=0,
        budget=20,
        agent_preset="fast",
        agent_overrides={"tensorboard_log": str(tmp_path / "tb"), "learning_starts": 5},
        eval_every=10,
        eval_episodes=1,
        device="cpu",
        weights={"a": 1.0},
    )
    (run_dir,) = (tmp_path / "tb").iterdir()
    assert run_dir.name == "test_Scripted-v0_blend_sac_s0_1"
    events = EventAccumulator(str(run_dir))
    events.Reload()
    assert {"eval/true_return", "train_reward/mean", "train_reward/std"} <= set(
        events.Tags()["scalars"]
    )
    written = [(e.step, e.value) for e in events.Scalars("eval/true_return")]
    assert [p.step for p in result.curve] == [10, 20]
    assert written == [(p.step, np.float32(p.mean_return)) for p in result.curve]
    means = [(e.step, e.value) for e in events.Scalars("train_reward/mean")]
    stds = [(e.step, e.value) for e in events.Scalars("train_reward/std")]
    assert means == [(10, 3.0), (20, 3.0)]
    assert stds == [(10, np.float32(np.sqrt(2))), (20, np.float32(np.sqrt(2)))]


def test_a_missing_tensorboard_is_refused_before_the_run(monkeypatch):
    from rewarddesign.experiment import runner

    monkeypatch.setattr(runner, "_has_tensorboard", lambda: False)
    spec = RunSpec(
        task="classic/Pendulum-v1",
        method="true",
        agent="sac",
        budget=100,
        agent_overrides={"tensorboard_log": "runs/tb"},
    )
    with pytest.raises(ParameterError, match=r"tensorboard_log='runs/tb' needs tensorboard"):
        validate(spec)


class _Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _tiny_run(task, **kwargs):
    return rd.run(
        task,
        "true",
        "sac",
        budget=10,
        agent_preset="fast",
        agent_overrides={"learning_starts": 5},
        eval_episodes=1,
        device="cpu",
        **kwargs,
    )


@pytest.fixture
def no_forced_terminal(monkeypatch):
    """Terminal detection by isatty alone (rich also honours these variables), and a
    terminal wide enough for the bar's title (a tmp path)."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "300")


def test_run_shows_progress_in_a_terminal_only_and_verbose_0_turns_it_off(
    scripted_spec_path, monkeypatch, no_forced_terminal
):
    shown = []
    for stream, verbose in ((_Terminal(), 1), (_Terminal(), False), (io.StringIO(), 1)):
        monkeypatch.setattr(sys, "stderr", stream)
        _tiny_run(scripted_spec_path, verbose=verbose)
        shown.append(stream.getvalue())
    monkeypatch.undo()
    assert f"{scripted_spec_path} true sac seed 0" in shown[0] and "10/10" in shown[0]
    assert shown[1:] == ["", ""]
    with pytest.raises(ParameterError, match="verbose must be an integer >= 0, got -1"):
        _tiny_run(scripted_spec_path, verbose=-1)


def test_train_shows_a_bar_in_a_terminal_quiet_hides_it_and_a_pipe_gets_two_lines(
    tmp_path, scripted_spec_path, monkeypatch, no_forced_terminal
):
    from rewarddesign.cli import main

    argv = ["train", scripted_spec_path, "--budget", "10", "--preset", "fast"]
    argv += ["--agent-param", "learning_starts=5", "--eval-episodes", "1", "--device", "cpu"]
    shown = []
    for i, (stream, flags) in enumerate(
        ((_Terminal(), []), (_Terminal(), ["--quiet"]), (io.StringIO(), []))
    ):
        monkeypatch.setattr(sys, "stdout", stream)
        assert main([*argv, "--out", str(tmp_path / f"run{i}"), *flags]) == 0
        shown.append(stream.getvalue())
    monkeypatch.undo()
    assert "10/10" in shown[0] and "true return" in shown[0]
    for text, i in ((shown[1], 1), (shown[2], 2)):
        lines = text.splitlines()
        assert len(lines) == 2 and "10/10" not in text
        assert lines[0].startswith("final true return ")
        assert lines[1] == f"saved model and result.json to {tmp_path / f'run{i}'}"
    assert "\x1b" not in shown[2]  # no control codes in a pipe


def _file(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")


@pytest.mark.parametrize(
    ("make", "given", "bad"),
    [
        (lambda d: _file(d / "taken"), "taken", "taken"),
        (lambda d: _file(d / "taken"), "taken/run", "taken"),
        (lambda d: _file(d / "run" / "model"), "run", "run/model"),
        (lambda d: (d / "run" / "result.json").mkdir(parents=True), "run", "run/result.json"),
    ],
)
def test_a_save_dir_that_cannot_be_written_is_refused_before_training(tmp_path, make, given, bad):
    make(tmp_path)
    calls = []
    with pytest.raises(ParameterError, match=re.escape(repr(str(tmp_path / bad)))):
        rd.run(
            "classic/Pendulum-v1",
            budget=10,
            save_dir=tmp_path / given,
            progress=lambda *args: calls.append(args),
        )
    assert calls == []  # refused before the first env step


def test_train_out_an_existing_file_exits_2_before_training(tmp_path, capsys):
    from rewarddesign.cli import main

    taken = tmp_path / "taken.txt"
    taken.write_text("keep me")
    argv = ["train", "classic/Pendulum-v1", "--budget", "200", "--out", str(taken)]
    assert main(argv) == 2
    out = " ".join(capsys.readouterr().out.split())  # the console wraps a long tmp path
    assert f"error: {str(taken)!r} is an existing file, not a folder" in out
    assert "Traceback" not in out
    assert taken.read_text() == "keep me"
