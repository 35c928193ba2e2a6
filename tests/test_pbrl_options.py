"""pbrl's few-label options (issue 22): QPA's recent-episode queries and hybrid replay,
pair crops, SURF's pseudo-labels, RUNE's bonus, the ``agent_reward="true"`` control,
per-session artifacts, bad options refused before the run and run keys kept at defaults.

The end-to-end runs are tiny (Pendulum-v1, 300 steps: sessions at steps 200 and 300);
the rest checks each piece on its own with hand-computed values."""

from __future__ import annotations

import dataclasses
import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback

import rewarddesign as rd
from rewarddesign.bench.keys import resolved, run_key
from rewarddesign.contract.evaluation import Evaluator
from rewarddesign.contract.runspec import EvalSpec, RunSpec
from rewarddesign.errors import ParameterError, UnknownNameError
from rewarddesign.experiment.runner import validate
from rewarddesign.methods.base import RunContext, key_params
from rewarddesign.methods.pbrl import Pbrl, PbrlParams
from rewarddesign.methods.pbrl.agent_reward import BonusReward
from rewarddesign.methods.pbrl.options import CropOption, QpaOption, RuneOption, parse_option
from rewarddesign.methods.pbrl.replay import FeedbackReplayBuffer, RecentEpisodes
from rewarddesign.models import EnsembleConfig, RewardEnsemble, RewardTrainer
from rewarddesign.models.augment import crop_masks, pseudo_label_loss
from rewarddesign.preferences import Pairs, PartialReturnTeacher, PreferenceDataset, Segments
from rewarddesign.preferences.store import TransitionStore

# sessions at steps 200 (the 200 seed steps: Pendulum's first episode) and 300
PARAMS = {
    "labels": 20,
    "queries": 10,
    "interval": 100,
    "seed_steps": 200,
    "segment": 20,
    "hidden": [32, 32],
    "reward_epochs": 20,
}
ALL_OPTIONS = {
    "qpa": {"episodes": 1, "hybrid": 0.5},
    "crop": {"min": 10, "max": 15, "copies": 2},
    "surf": {"ratio": 1.0, "tau": 0.6},
    "rune": {"beta0": 0.5, "rho": 0.001},
}


class Observer(BaseCallback):
    """Records the replay buffer's hybrid settings after the loop's own step."""

    def _on_training_start(self) -> None:
        self.seen: list[tuple[int, float, int]] = []

    def _on_step(self) -> bool:
        rb = self.model.replay_buffer
        self.seen.append((self.num_timesteps, rb.recent_fraction, rb.recent_rows))
        return True


def run_pbrl(agent="sac", budget=300, save_dir=None, observer=None, **params):
    spec = RunSpec(
        task="classic/Pendulum-v1",
        method="pbrl",
        agent=agent,
        seed=0,
        budget=budget,
        method_params={**PARAMS, **params},
        agent_preset="fast",
        eval=EvalSpec(every=budget, episodes=1),
    )
    method = validate(spec)
    task = rd.task_spec(spec.task)
    ctx = RunContext(
        spec=spec,
        task=task,
        device="cpu",
        rng=np.random.default_rng(0),
        evaluator=Evaluator(task, 1, 0),
        save_dir=save_dir,
    )
    if observer is not None:  # watch the buffer beside the loop's own callback
        method.callbacks = lambda ctx, model: [*Pbrl.callbacks(method, ctx, model), observer]
    method.train(ctx)
    return method, ctx


def pendulum_reward(obs, actions):
    theta = np.arctan2(obs[:, 1], obs[:, 0])
    u = np.clip(actions[:, 0], -2, 2)
    return -(theta**2 + 0.1 * obs[:, 2] ** 2 + 0.001 * u**2)


def steps(series):
    return [s for s, _ in series]


# -- end to end --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def all_options_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    observer = Observer()
    method, ctx = run_pbrl(save_dir=folder, observer=observer, **ALL_OPTIONS)
    return method, ctx, folder, observer


def test_all_four_options_together_on_sac_log_their_series(all_options_run):
    _, ctx, _, _ = all_options_run
    assert ctx.labels_used == 20
    assert steps(ctx.series["labels_charged"]) == [200, 300]
    # QPA, episodes 1: the first episode's 200 steps, then the 100 of the second so far
    assert ctx.series["query_window_steps"] == [(200, 200.0), (300, 100.0)]
    assert ctx.series["rune_beta"] == [
        (200, pytest.approx(0.5 * 0.999**200)),
        (300, pytest.approx(0.5 * 0.999**300)),
    ]
    # SURF: 10 unlabelled pairs at the first session, 20 at the second
    accepted = ctx.series["pseudo_accepted"]
    assert steps(accepted) == [200, 300]
    assert 0 <= accepted[0][1] <= 10 and 0 <= accepted[1][1] <= 20
    assert isinstance(ctx.model.replay_buffer, FeedbackReplayBuffer)


def test_queries_come_only_from_the_recent_episodes(all_options_run):
    _, ctx, folder, _ = all_options_run
    rb = ctx.model.replay_buffer
    kept = rb.observations[:300, 0]
    data = PreferenceDataset.load(folder / "sessions" / "002" / "labels.npz")
    second = data.pairs().take(np.arange(10, 20))  # the session at step 300
    for seg in (second.first, second.second):
        for obs in seg.obs:
            # the buffer row of each segment's first step: the segment fits in rows 200..299
            row = int(np.argmin(np.abs(kept - obs[0]).sum(-1)))
            np.testing.assert_array_equal(kept[row : row + 20], obs)
            assert 200 <= row <= 280


def test_hybrid_replay_while_labels_remain_then_ordinary(all_options_run):
    _, ctx, _, observer = all_options_run
    # every step up to the last session: half of each batch from the episode in progress
    assert [f for _, f, _ in observer.seen] == [0.5] * 300
    rows = {t: r for t, _, r in observer.seen}
    assert (rows[1], rows[200], rows[201], rows[300]) == (1, 200, 1, 100)
    assert ctx.model.replay_buffer.recent_fraction == 0.0  # the budget is spent


def test_rune_buffer_is_the_bonus_reward_at_the_last_relabel(all_options_run):
    method, ctx, _, _ = all_options_run
    bonus, rb = method.agent_reward, ctx.model.replay_buffer
    assert isinstance(bonus, BonusReward) and bonus.step == 300
    obs, actions = rb.observations[:300, 0], ctx.model.policy.unscale_action(rb.actions[:300, 0])
    expected = bonus.predict(obs, actions)
    # float32 matmuls of other batch sizes round differently in the last bits
    np.testing.assert_allclose(rb.rewards[:300, 0], expected, rtol=1e-5, atol=1e-6)
    gap = expected - method.reward_model.predict(obs, actions)  # beta_t * std >= 0
    assert gap.min() >= -1e-6 and gap.max() > 1e-3


def test_each_session_saves_its_labels_and_reward_model(all_options_run):
    method, _, folder, _ = all_options_run
    assert sorted(p.name for p in (folder / "sessions").iterdir()) == ["001", "002"]
    for name, n in (("001", 10), ("002", 20)):
        assert len(PreferenceDataset.load(folder / "sessions" / name / "labels.npz")) == n
    obs, actions = np.random.default_rng(1).normal(size=(50, 3)), np.zeros((50, 1))
    last = RewardEnsemble.load(folder / "sessions" / "002" / "reward_model", device="cpu")
    first = RewardEnsemble.load(folder / "sessions" / "001" / "reward_model", device="cpu")
    np.testing.assert_allclose(
        last.predict(obs, actions), method.reward_model.predict(obs, actions), rtol=1e-6
    )
    assert not np.allclose(first.predict(obs, actions), last.predict(obs, actions))


def test_true_agent_reward_keeps_the_loop_and_the_true_rewards(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, ctx = run_pbrl(agent_reward="true", labels=10)
    assert ctx.labels_used == 10 and steps(ctx.series["reward_accuracy"]) == [200]
    rb = ctx.model.replay_buffer
    actions = ctx.model.policy.unscale_action(rb.actions[:300, 0])
    true = pendulum_reward(rb.observations[:300, 0], actions)
    np.testing.assert_allclose(rb.rewards[:300, 0], true, rtol=1e-4, atol=1e-4)
    assert list(tmp_path.iterdir()) == []  # no save_dir: no session folders anywhere


def test_all_four_options_together_on_sbx_sac():
    _, ctx = run_pbrl(agent="sbx-sac", **ALL_OPTIONS)
    assert type(ctx.model).__module__.startswith("sbx") and ctx.labels_used == 20
    assert isinstance(ctx.model.replay_buffer, FeedbackReplayBuffer)
    assert ctx.series["query_window_steps"] == [(200, 200.0), (300, 100.0)]
    assert steps(ctx.series["pseudo_accepted"]) == [200, 300]
    assert steps(ctx.series["rune_beta"]) == [200, 300]
    assert ctx.model.replay_buffer.recent_fraction == 0.0


# -- QPA: the rows of the recent episodes and hybrid batches -----------------------------


def test_recent_episodes_and_the_store_view_give_the_last_episodes_steps():
    """Episodes of 3, 5, 2 and 4 steps into an 8-row buffer (it wraps at step 8): the
    view of the last ``rows`` steps is the last two episodes (the one in progress too)."""
    space = gym.spaces.Box(-np.inf, np.inf, (1,))
    buffer = ReplayBuffer(8, space, space, device="cpu")
    store, recent = TransitionStore(8, 1, 0), RecentEpisodes(2)
    ends = {2, 7, 9, 13}
    expected = {  # step: the steps of the last two episodes still kept
        2: list(range(0, 3)),
        3: list(range(0, 4)),
        7: list(range(0, 8)),
        8: list(range(3, 9)),
        9: list(range(3, 10)),
        10: list(range(8, 11)),
        13: list(range(8, 14)),
    }
    for t in range(14):
        pos, end = buffer.pos, np.array([t in ends])
        store.record(pos, np.array([float(t)]), np.zeros((1, 0)), end, np.array([False]))
        recent.step(bool(store.episode_starts[pos, 0]))
        buffer.add(np.array([[t]]), np.array([[t + 1]]), np.zeros((1, 1)), np.zeros(1), end, [{}])
        if t in expected:
            view = store.view(buffer, last=recent.rows)
            assert recent.rows == len(expected[t])
            assert view.obs[:, 0].tolist() == expected[t]
            assert view.rewards.tolist() == expected[t]  # the store lines up with the rows
    # the view of step 13 starts episode 3 at step 8 and episode 4 at step 10
    assert np.flatnonzero(view.episode_starts).tolist() == [0, 2]


def filled_buffer(size=1000, steps=1030):
    """A feedback buffer that held observation ``t`` at step ``t`` (wrapped past ``size``)."""
    space = gym.spaces.Box(-np.inf, np.inf, (1,))
    buf = FeedbackReplayBuffer(size, space, space, device="cpu")
    for t in range(steps):
        buf.add(np.array([[t]]), np.array([[t]]), np.zeros((1, 1)), np.zeros(1), np.zeros(1), [{}])
    return buf


def test_hybrid_batches_hold_the_asked_fraction_of_the_recent_rows_across_the_wrap():
    buf = filled_buffer()
    assert buf.full and buf.pos == 30
    buf.recent_rows, buf.recent_fraction = 50, 0.25  # steps 980..1029: rows 980..999, 0..29
    np.random.seed(0)
    recent, rest = [], []
    for _ in range(200):
        obs = buf.sample(64).observations[:, 0].numpy()
        recent.append(obs[-16:])  # round(0.25 * 64) drawn from the recent rows, last
        rest.append(obs[:-16])
    recent, rest = np.concatenate(recent), np.concatenate(rest)
    assert set(recent.tolist()) == set(range(980, 1030))  # both sides of the wrap, all of it
    # the other 48 of each batch are uniform over all 1000 kept steps (30..1029)
    assert rest.min() == 30 and rest.max() == 1029
    assert abs(np.mean(rest >= 980) - 0.05) < 0.01
    buf.recent_fraction = 0.3
    assert len(buf.sample(10).observations) == 10
    np.random.seed(1)
    assert (buf.sample(10).observations[-3:, 0].numpy() >= 980).all()  # round(3.0)


def test_without_a_recent_fraction_batches_are_sb3s_own():
    buf = filled_buffer(size=100, steps=130)
    plain = ReplayBuffer(100, buf.observation_space, buf.action_space, device="cpu")
    for t in range(130):
        plain.add(
            np.array([[t]]), np.array([[t]]), np.zeros((1, 1)), np.zeros(1), np.zeros(1), [{}]
        )
    buf.recent_rows, buf.recent_fraction = 20, 0.0  # QPA once the labels are spent
    np.random.seed(3)
    ours = buf.sample(32).observations
    np.random.seed(3)
    np.testing.assert_array_equal(ours, plain.sample(32).observations)
    # more recent rows than kept steps: all 100 kept ones count
    buf.recent_rows, buf.recent_fraction = 1000, 1.0
    assert set(buf.sample(2000).observations[:, 0].numpy().tolist()) == set(range(30, 130))


# -- crops -------------------------------------------------------------------------------


def test_crop_masks_share_a_length_inside_each_segments_valid_steps():
    valid1, valid2 = np.array([10, 6, 3, 10]), np.array([10, 10, 8, 4])
    m1, m2 = crop_masks(valid1, valid2, 10, 4, 7, 500, np.random.default_rng(0))
    assert m1.shape == m2.shape == (500, 4, 10) and m1.dtype == bool
    t = np.arange(10)
    assert not (m1 & (t >= valid1[:, None])).any() and not (m2 & (t >= valid2[:, None])).any()
    length = m1.sum(-1)
    np.testing.assert_array_equal(length, m2.sum(-1))
    # drawn in [4, 7], cut to the shorter segment's valid steps (6, 3, 4)
    assert [sorted(set(length[:, i].tolist())) for i in range(4)] == [
        [4, 5, 6, 7],
        [4, 5, 6],
        [3],
        [4],
    ]
    start1, start2 = m1.argmax(-1), m2.argmax(-1)
    for m, s in ((m1, start1), (m2, start2)):  # one contiguous run from each start
        np.testing.assert_array_equal(m, (t >= s[..., None]) & (t < (s + length)[..., None]))
    # independent starts: any start that fits, for each side
    assert (start1[:, 0] != start2[:, 0]).any()
    assert set(start1[:, 0].tolist()) == set(range(7)) == set(start2[:, 0].tolist())
    assert set(start1[:, 2].tolist()) == {0} and set(start2[:, 2].tolist()) == set(range(6))
    assert set(start2[:, 3].tolist()) == {0} and set(start1[:, 3].tolist()) == set(range(7))


def test_crop_masks_take_any_leading_shape():
    valid = np.array([[5, 3, 4], [2, 5, 5]])  # (members, B) as the trainer passes
    m1, m2 = crop_masks(valid, valid[::-1], 5, 2, 3, 4, np.random.default_rng(1))
    assert m1.shape == (4, 2, 3, 5)
    np.testing.assert_array_equal(m1.sum(-1), m2.sum(-1))
    assert m1.sum(-1).min() >= 2 and m1.sum(-1).max() <= 3


def toy_segments(n, H, rng, padded=False):
    """Segments whose step reward is the first observation entry (0 on padding)."""
    obs = rng.normal(size=(n, H, 2))
    lengths = rng.integers(H // 2, H + 1, size=n) if padded else np.full(n, H)
    mask = np.arange(H) < lengths[:, None]
    obs[~mask] = 0.0
    rewards = obs[..., 0] * mask
    return Segments(
        obs,
        np.zeros((n, H, 1)),
        rewards,
        np.zeros((n, H, 1)),
        np.zeros((n, H), bool),
        np.zeros((n, H), bool),
        mask,
        obs[:, 0],
        obs[:, 0],
    )


def toy_model(seed=0):
    return RewardEnsemble(EnsembleConfig((2,), (1,), members=2, hidden=(16,), seed=seed), "cpu")


def test_reward_trainer_with_crops_learns_a_separable_reward():
    rng = np.random.default_rng(0)
    pairs = Pairs(toy_segments(300, 10, rng, True), toy_segments(300, 10, rng, True))
    test = Pairs(toy_segments(200, 10, rng, True), toy_segments(200, 10, rng, True))
    teacher = PartialReturnTeacher()
    model = toy_model()
    trainer = RewardTrainer(model, lr=1e-2, max_epochs=30, crop=(3, 6, 4), seed=0)
    stats = trainer.fit(pairs, teacher.label(pairs, rng))
    assert stats.train_accuracy >= 0.95
    assert trainer.accuracy(test, teacher.label(test, rng)).min() >= 0.9
    with pytest.raises(ParameterError, match="crop min 7 > max 6"):
        RewardTrainer(model, crop=(7, 6, 1))


# -- SURF's pseudo-labels ----------------------------------------------------------------


def test_pseudo_labels_only_above_tau_and_their_loss():
    diff = torch.tensor([[2.0, -0.2, -3.0], [0.1, 4.0, -1.0]], requires_grad=True)
    loss, mask, label = pseudo_label_loss(diff, 0.8)
    # P(first) = 0.881, 0.450, 0.047 and 0.525, 0.982, 0.269: confident where max(p, 1-p) > 0.8
    assert mask.tolist() == [[True, False, True], [False, True, False]]
    assert label.tolist() == [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]
    soft = math.log1p  # cross-entropy of a logit d: log(1 + e^-d) for label 1, e^d for 0
    hand = (soft(math.exp(-2)) + soft(math.exp(-3))) / 3 + soft(math.exp(-4)) / 3
    assert float(loss.detach()) == pytest.approx(hand, rel=1e-6)
    loss.backward()
    assert (diff.grad[~mask] == 0).all() and (diff.grad[mask] != 0).all()
    _, none, _ = pseudo_label_loss(diff.detach(), 0.99)
    assert not none.any()  # the largest confidence is sigmoid(4) = 0.982


def test_fit_pseudo_labels_unlabelled_pairs_where_the_model_is_right():
    rng = np.random.default_rng(0)
    pairs = Pairs(toy_segments(200, 5, rng), toy_segments(200, 5, rng))
    unlabelled = Pairs(toy_segments(100, 5, rng), toy_segments(100, 5, rng))
    record = PartialReturnTeacher().label(pairs, rng)
    trainer = RewardTrainer(toy_model(), lr=1e-2, max_epochs=50, pseudo_tau=0.9, seed=0)
    stats = trainer.fit(pairs, record, unlabelled=unlabelled)
    assert stats.train_accuracy >= 0.97
    assert 20 <= stats.pseudo_accepted <= 100
    assert stats.pseudo_agreement == 1.0
    # nothing is that sure: none accepted, no agreement to report
    sure = RewardTrainer(toy_model(), lr=1e-2, max_epochs=2, pseudo_tau=1 - 1e-9, seed=0)
    stats = sure.fit(pairs, record, unlabelled=unlabelled)
    assert stats.pseudo_accepted == 0 and stats.pseudo_agreement is None
    with pytest.raises(ParameterError, match="unlabelled pairs need pseudo_tau"):
        RewardTrainer(toy_model()).fit(pairs, record, unlabelled=unlabelled)


# -- RUNE --------------------------------------------------------------------------------


def test_rune_beta_decays_with_env_steps():
    rune = RuneOption(beta0=0.5, rho=0.01)
    assert rune.beta(0) == 0.5 and rune.beta(1) == pytest.approx(0.495)
    assert rune.beta(100) == pytest.approx(0.5 * 0.36603234127322950)  # 0.99 ** 100
    assert RuneOption(beta0=0.2, rho=0.0).beta(10**6) == 0.2


def test_rune_reward_is_the_standardised_members_mean_plus_beta_std():
    model = RewardEnsemble(EnsembleConfig((3,), (1,), members=4, hidden=(8,), seed=2), "cpu")
    rng = np.random.default_rng(0)
    obs, actions = rng.normal(size=(64, 3)), rng.normal(size=(64, 1))
    model.standardize_output(model.inputs(obs, actions))  # shift and scale away from 0, 1
    shift, scale = float(model.out_shift), float(model.out_scale)
    assert shift != 0.0 and scale != 1.0
    bonus = BonusReward(model, RuneOption(beta0=0.5, rho=0.01))
    with torch.no_grad():
        members = (model.rewards(model.inputs(obs, actions)).numpy() - shift) / scale
    for step, beta in ((0, 0.5), (1, 0.495), (100, 0.5 * 0.99**100)):
        bonus.step = step
        assert bonus.beta == pytest.approx(beta)
        expected = members.mean(0) + beta * members.std(0)  # population std (ddof 0)
        np.testing.assert_allclose(bonus.predict(obs, actions), expected, rtol=1e-5, atol=1e-6)
    bonus.step = 0
    np.testing.assert_allclose(
        bonus.predict(obs, actions) - model.predict(obs, actions),
        0.5 * members.std(0),
        atol=1e-6,
    )
    assert bonus.config is model.config


# -- bad options fail before the run -----------------------------------------------------


@pytest.mark.parametrize(
    ("params", "agent", "error", "match"),
    [
        (
            {"qpa": {"episodes": 0}},
            "sac",
            ParameterError,
            r"qpa\.episodes must be an integer >= 1, got 0",
        ),
        (
            {"qpa": {"hybrid": 1.5}},
            "sac",
            ParameterError,
            r"qpa\.hybrid must be in \[0, 1\], got 1\.5",
        ),
        (
            {"qpa": {"hybrid": -0.1}},
            "sac",
            ParameterError,
            r"qpa\.hybrid must be in \[0, 1\], got -0\.1",
        ),
        (
            {"surf": {"tau": 0.5}},
            "sac",
            ParameterError,
            r"surf\.tau must be a number in \(0\.5, 1\), got 0\.5",
        ),
        (
            {"surf": {"tau": 1}},
            "sac",
            ParameterError,
            r"surf\.tau must be a number in \(0\.5, 1\), got 1\b",
        ),
        (
            {"surf": {"ratio": 0}},
            "sac",
            ParameterError,
            r"surf\.ratio must be a positive finite number, got 0",
        ),
        (
            {"rune": {"rho": 1.0}},
            "sac",
            ParameterError,
            r"rune\.rho must be a number in \[0, 1\), got 1\.0",
        ),
        (
            {"segment": 20, "crop": {"min": 5, "max": 25}},
            "sac",
            ParameterError,
            r"crop\.max 25 is longer than the stored segment \(20 steps\)",
        ),
        (
            {"crop": {"min": 20, "max": 10}},
            "sac",
            ParameterError,
            r"crop\.min 20 is longer than crop\.max 10",
        ),
        (
            {"crop": {"copies": 0}},
            "sac",
            ParameterError,
            r"crop\.copies must be an integer >= 1, got 0",
        ),
        (
            {"qpa": {"episode": 3}},
            "sac",
            UnknownNameError,
            r"unknown pbrl qpa option 'episode'.*episodes, hybrid",
        ),
        (
            {"rune": 0.05},
            "sac",
            ParameterError,
            r"rune must be a mapping of beta0, rho \(or null: off\), got 0\.05",
        ),
        ({"qpa": {}}, "ppo", ParameterError, r"qpa .*needs an off-policy agent .*got 'ppo'"),
        (
            {"agent_reward": "learned"},
            "sac",
            UnknownNameError,
            r"unknown pbrl agent_reward 'learned'; valid choices: model, true",
        ),
    ],
)
def test_bad_options_fail_before_the_run(params, agent, error, match):
    spec = RunSpec(
        task="classic/Pendulum-v1", method="pbrl", agent=agent, budget=100, method_params=params
    )
    with pytest.raises(error, match=match):
        validate(spec)


def test_options_fill_in_their_defaults():
    assert parse_option("qpa", {"episodes": 3}, "pbrl") == QpaOption(episodes=3, hybrid=0.5)
    assert parse_option("qpa", {}, "pbrl") == QpaOption()
    assert parse_option("crop", None, "pbrl") is None
    assert PbrlParams(crop={"min": 10, "max": 20}).option("crop") == CropOption(10, 20, 20)


# -- run keys ----------------------------------------------------------------------------

# PbrlParams' fields before issue 22: a run stored then keeps its key
OLD_FIELDS = {
    "labels", "queries", "interval", "seed_steps", "pretrain_steps", "entropy_k", "segment",
    "selection", "candidates", "members", "hidden", "bounded", "reward_lr", "reward_batch",
    "reward_epochs", "standardize", "normalize_inputs", "teacher", "teacher_params",
}  # fmt: skip


def pbrl_spec(**params):
    return RunSpec(
        task="classic/Pendulum-v1", method="pbrl", agent="sac", budget=100, method_params=params
    )


def test_added_options_stay_out_of_run_keys_at_their_defaults():
    assert set(key_params(PbrlParams())) == OLD_FIELDS
    assert set(dataclasses.asdict(PbrlParams())) - OLD_FIELDS == {
        "qpa", "crop", "surf", "rune", "agent_reward",
    }  # fmt: skip
    plain = pbrl_spec(labels=100)
    assert set(resolved(plain)["method"]) == OLD_FIELDS
    cropped = pbrl_spec(labels=100, crop={"min": 30, "max": 40})
    assert resolved(cropped)["method"]["crop"] == {"min": 30, "max": 40}
    control = pbrl_spec(labels=100, agent_reward="true")
    assert resolved(control)["method"]["agent_reward"] == "true"
    assert len({run_key(plain), run_key(cropped), run_key(control)}) == 3
