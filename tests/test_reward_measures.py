"""Learned-vs-true measures: correlations and EPIC against hand-known values, a reward model
trained on preferences reaching a stated held-out accuracy, and the EPIC series the
preference loop logs after each session without changing the run."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import rewarddesign as rd
from rewarddesign.diagnostics import Transitions
from rewarddesign.diagnostics.measures import (
    _rank,
    learned_vs_true,
    preference_accuracy,
    true_reward_canonicalizable,
)
from rewarddesign.errors import ParameterError
from rewarddesign.models import EnsembleConfig, RewardEnsemble, RewardTrainer
from rewarddesign.preferences import (
    PartialReturnTeacher,
    PreferenceDataset,
    cut_segments,
    random_pairs,
    rollout,
)

TASK = "classic/Pendulum-v1"


@pytest.fixture(scope="module")
def data():
    env = rd.make(TASK)
    traj = rollout(env, None, 3000, seed=0)
    held_out = rollout(env, None, 2000, seed=1)
    return env, traj, held_out


def _t(traj) -> Transitions:
    return Transitions(traj.obs, traj.actions, traj.next_obs)


def test_ranks_average_ties_as_spearmans():
    x = np.array([3.0, 1.0, 2.0, 2.0, 5.0, 1.0])
    y = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 0.0])
    ours = np.corrcoef(_rank(x), _rank(y))[0, 1]
    assert abs(ours - stats.spearmanr(x, y).statistic) < 1e-12


def test_the_true_reward_itself_measures_perfectly_and_a_scaled_one_too(data):
    env, _, held_out = data
    spec = rd.task_spec(TASK)

    def true(s, a, s2):  # Pendulum's reward, written here
        u = np.clip(a[:, 0], -2, 2)
        return -(np.arctan2(s[:, 1], s[:, 0]) ** 2) - 0.1 * s[:, 2] ** 2 - 0.001 * u**2

    for fn in (true, lambda *x: 4.0 * true(*x) - 3.0):
        m = learned_vs_true(
            spec,
            fn,
            _t(held_out),
            held_out.rewards,
            env.observation_space,
            env.action_space,
            samples=64,
        )
        assert m.pearson > 1 - 1e-6 and m.spearman > 1 - 1e-6 and m.epic < 1e-4
        assert m.preference_accuracy is None and m.transitions == len(held_out)


def test_a_reward_model_from_300_labels_reaches_85_percent_held_out_accuracy(data):
    env, traj, held_out = data
    rng = np.random.default_rng(0)
    teacher = PartialReturnTeacher()

    def labelled(t, n):
        pairs = random_pairs(cut_segments(t, H=20), n, rng)
        ds = PreferenceDataset()
        ds.append(pairs, teacher.label(pairs, rng))
        return ds

    train, test = labelled(traj, 300), labelled(held_out, 300)
    config = EnsembleConfig.for_spaces(env.observation_space, env.action_space, hidden=(64, 64))
    model = RewardEnsemble(config, device="cpu")
    RewardTrainer(model, max_epochs=60, seed=0).fit(train.pairs(), train.record())
    m = learned_vs_true(
        rd.task_spec(TASK), model, _t(held_out), held_out.rewards,
        env.observation_space, env.action_space, labels=test, samples=64,
    )  # fmt: skip
    assert m.preference_accuracy >= 0.85, m
    assert m.pearson > 0.8 and m.epic < 0.3, m  # the labels' reward, roughly


def test_preference_accuracy_needs_decided_pairs(data):
    _, traj, _ = data
    rng = np.random.default_rng(0)
    pairs = random_pairs(cut_segments(traj, H=5), 4, rng)
    ds = PreferenceDataset()
    record = PartialReturnTeacher().label(pairs, rng)
    ds.append(pairs, type(record)(record.prob, np.full(4, 0.5), record.usable, record.charged))
    model = RewardEnsemble(EnsembleConfig((3,), (1,), hidden=(4,)), device="cpu")
    with pytest.raises(ParameterError, match="no usable pair preferring one segment"):
        preference_accuracy(model, ds)


def test_epic_to_the_true_reward_is_computable_where_every_factor_is_a_transition_function():
    assert true_reward_canonicalizable(rd.task_spec(TASK))
    assert true_reward_canonicalizable(rd.task_spec("mujoco/HalfCheetah-v5"))
    assert not true_reward_canonicalizable(rd.task_spec("dmc/walker-walk"))
    assert not true_reward_canonicalizable(rd.task_spec("mujoco/Hopper-v5"))


def test_pbrl_logs_epic_after_each_session_and_the_run_is_unchanged_by_it(monkeypatch):
    from rewarddesign.methods.pbrl.sessions import FeedbackSessions

    kw = dict(
        seed=0, budget=800, agent_preset="fast", labels=20, queries=10, interval=300,
        seed_steps=200, segment=20, hidden=[16], reward_epochs=10, verbose=0,
        eval_every=400, eval_episodes=1, device="cpu",
    )  # fmt: skip
    logged = rd.run(TASK, "pbrl", "sac", **kw)
    epic = logged.series["reward_epic"]
    assert [s for s, _ in epic] == [s for s, _ in logged.series["reward_correlation"]]
    assert len(epic) == 2 and all(0.0 <= v <= 1.0 for _, v in epic)
    monkeypatch.setattr(FeedbackSessions, "log_epic", lambda self, *a: None)
    plain = rd.run(TASK, "pbrl", "sac", **kw)
    assert "reward_epic" not in plain.series
    assert plain.curve == logged.curve and plain.final_return == logged.final_return
