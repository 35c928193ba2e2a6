"""``rewarddesign fit-reward`` and method ``learned``: a reward ensemble fitted on any
labelled dataset, its held-out accuracy, and an agent trained on the saved model (its run
key holds the model's content, not its folder)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

import rewarddesign as rd
from rewarddesign.bench.keys import run_key
from rewarddesign.cli import main
from rewarddesign.contract.runspec import RunSpec
from rewarddesign.errors import ParameterError, SpaceMismatchError, SpecError
from rewarddesign.experiment.runner import validate
from rewarddesign.methods import get
from rewarddesign.models import EnsembleConfig, RewardEnsemble
from rewarddesign.models.fit import ensemble_accuracy, fit_reward
from rewarddesign.preferences import (
    PartialReturnTeacher,
    PreferenceDataset,
    cut_segments,
    pairs_from_rewards,
    random_pairs,
    rollout,
)
from rewarddesign.task.registry import make, task_spec

TASK = "classic/Pendulum-v1"


@pytest.fixture(scope="module")
def pendulum_labels(tmp_path_factory):
    """500 pairs of 50-step random-policy segments, labelled by their true returns."""
    rng = np.random.default_rng(0)
    traj = rollout(make(TASK), None, 20_000, 0)
    pairs = random_pairs(cut_segments(traj, H=50), 500, rng)
    data = PreferenceDataset(task=task_spec(TASK).id)
    data.append(pairs, PartialReturnTeacher().label(pairs, rng))
    path = tmp_path_factory.mktemp("labels") / "labels.npz"
    data.save(path)
    return path


@pytest.fixture(scope="module")
def fitted(pendulum_labels, tmp_path_factory):
    """The CLI's fit of the 500 pairs (small nets: the test's time)."""
    out = tmp_path_factory.mktemp("fit") / "reward_model"
    argv = ["fit-reward", str(pendulum_labels), "--out", str(out), "--hidden", "64", "64"]
    assert main(argv) == 0
    return out


def test_fit_reward_on_500_simulated_pendulum_pairs_reaches_90_percent(fitted, capsys):
    report = json.loads((fitted / "fit.json").read_text())
    assert (report["pairs"], report["train_pairs"], report["held_out_pairs"]) == (500, 400, 100)
    assert report["task"] == "classic/Pendulum-v1"
    assert report["held_out_decided"] == 100  # true returns of random segments never tie
    assert report["held_out_accuracy"] >= 0.9
    assert len(report["dataset_sha256"]) == 64
    model = RewardEnsemble.load(fitted, device="cpu")
    assert (model.config.members, model.config.hidden) == (3, (64, 64))


def test_the_held_out_accuracy_is_the_ensembles_on_the_held_out_pairs(pendulum_labels):
    data = PreferenceDataset.load(pendulum_labels)
    model, report = fit_reward(data, TASK, hidden=(32,), max_epochs=30, seed=3, device="cpu")
    usable = np.flatnonzero(data.record().usable)
    held = np.sort(np.random.default_rng(3).permutation(usable)[:100])
    labels = data.record().label[held]
    p = model.predict_proba(data.pairs().take(held)).mean(axis=0)
    assert report.held_out_accuracy == pytest.approx(((p > 0.5) == (labels > 0.5)).mean())


def test_ensemble_accuracy_counts_decided_labels_only():
    # a 1-step reward of the observation's first entry: the model is fitted exactly
    pairs = pairs_from_rewards([[1.0], [0.0], [2.0]], [[0.0], [0.0], [3.0]])
    model = RewardEnsemble(EnsembleConfig((1,), (1,), members=1, hidden=(4,)), "cpu")
    labels = np.array([1.0, 0.5, 0.0])
    got = ensemble_accuracy(model, pairs, labels)
    p = model.predict_proba(pairs).mean(axis=0)
    want = np.mean([(p[0] > 0.5) == 1, (p[2] > 0.5) == 0])
    assert got == want
    assert ensemble_accuracy(model, pairs, np.full(3, 0.5)) is None


def test_fit_reward_refuses_labels_of_another_task(pendulum_labels, tmp_path, capsys):
    argv = ["fit-reward", str(pendulum_labels), "--out", str(tmp_path / "m")]
    assert main([*argv, "--task", "mujoco/HalfCheetah-v5"]) == 2
    err = capsys.readouterr().out
    assert "classic/Pendulum-v1" in err and "mujoco/HalfCheetah-v5" in err
    assert not (tmp_path / "m").exists()  # refused before any work
    data = PreferenceDataset.load(pendulum_labels)
    data.task = None  # a dataset that does not record its task: shapes still refuse it
    with pytest.raises(SpaceMismatchError, match=r"shape \(3,\).*\(17,\)"):
        fit_reward(data, "mujoco/HalfCheetah-v5", device="cpu")


def test_fit_reward_bad_settings_get_one_clear_error(pendulum_labels):
    data = PreferenceDataset.load(pendulum_labels)
    with pytest.raises(ParameterError, match="held_out"):
        fit_reward(data, TASK, held_out=1.0)
    with pytest.raises(ParameterError, match="ensemble members"):
        fit_reward(data, TASK, members=0)
    with pytest.raises(SpecError, match="ensemble inputs"):
        fit_reward(data, TASK, inputs="pixels")
    tiny = PreferenceDataset(task=data.task)
    pairs = data.pairs().take(np.arange(1))
    tiny.append(pairs, PartialReturnTeacher().label(pairs, np.random.default_rng(0)))
    with pytest.raises(ParameterError, match="leaves 1 to train on and 0 to score"):
        fit_reward(tiny, TASK)


def test_learned_trains_on_the_saved_models_prediction(fitted):
    method = get("learned")(get("learned").parse_params({"reward_model": str(fitted)}))
    model = RewardEnsemble.load(fitted, device="cpu")
    env = rd.wrappers.LearnedReward(make(TASK), model)
    obs, _ = env.reset(seed=0)
    for action in np.linspace(-2, 2, 5):
        a = np.array([action], dtype=np.float32)
        nxt, reward, *_ = env.step(a)
        assert reward == pytest.approx(model.predict(obs[None], a[None])[0])
        obs = nxt
    result = rd.run(
        TASK, "learned", "sac", seed=0, budget=200, agent_preset="fast",
        eval_episodes=1, verbose=0, reward_model=str(fitted),
    )  # fmt: skip
    assert result.env_steps == 200 and result.spec.method_params == {"reward_model": str(fitted)}
    assert method.params.reward_model == str(fitted)


def test_learned_run_key_holds_the_models_content_not_its_path(fitted, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(fitted, copy)
    spec = lambda folder: RunSpec(  # noqa: E731
        task=TASK, method="learned", agent="sac", seed=0,
        method_params={"reward_model": str(folder)},
    )  # fmt: skip
    assert run_key(spec(fitted)) == run_key(spec(copy))
    other = RewardEnsemble.load(copy, device="cpu")
    with torch.no_grad():
        for p in other.parameters():
            p.add_(1.0)
    other.save(copy)
    assert run_key(spec(fitted)) != run_key(spec(copy))


def test_learned_bad_input_is_refused_before_training(fitted, tmp_path):
    with pytest.raises(ParameterError, match="needs reward_model=DIR"):
        validate(RunSpec(task=TASK, method="learned", agent="sac", seed=0))
    with pytest.raises(SpaceMismatchError, match="use a model trained on this task"):
        validate(
            RunSpec(
                task="mujoco/HalfCheetah-v5", method="learned", agent="sac", seed=0,
                method_params={"reward_model": str(fitted)},
            )
        )  # fmt: skip
    with pytest.raises(rd.errors.FileFormatError, match="no such folder"):
        run_key(
            RunSpec(
                task=TASK, method="learned", agent="sac", seed=0,
                method_params={"reward_model": str(tmp_path / "missing")},
            )
        )  # fmt: skip
