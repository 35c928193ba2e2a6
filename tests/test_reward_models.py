"""Reward ensembles: batched members, Bradley-Terry training to a stated accuracy,
save/load, LearnedReward in every form, and bad input."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

import rewarddesign as rd
from rewarddesign.errors import FileFormatError, ParameterError, SpaceMismatchError
from rewarddesign.models import EnsembleConfig, RewardEnsemble, RewardTrainer
from rewarddesign.preferences import LabelRecord, Pairs, PartialReturnTeacher, Segments
from rewarddesign.wrappers import LearnedReward, vec_env, vector

W_OBS, W_ACT = np.array([1.0, -2.0, 0.5]), np.array([1.5])


def linear_segments(n, H, rng):
    obs = rng.normal(size=(n, H, 3))
    act = rng.uniform(-1, 1, size=(n, H, 1))
    flags = np.zeros((n, H), bool)
    return Segments(
        obs=obs,
        actions=act,
        rewards=obs @ W_OBS + act @ W_ACT,
        factors=np.zeros((n, H, 1)),
        terminated=flags,
        truncated=flags,
        mask=~flags,
        start_obs=obs[:, 0],
        end_obs=obs[:, -1],
    )


def small_model(members=3, hidden=(32, 32), seed=0):
    return RewardEnsemble(
        EnsembleConfig((3,), (1,), members=members, hidden=hidden, seed=seed), device="cpu"
    )


def test_ensemble_learns_a_known_linear_reward_to_95_percent_held_out():
    rng = np.random.default_rng(0)
    pairs = Pairs(linear_segments(1500, 10, rng), linear_segments(1500, 10, rng))
    record = PartialReturnTeacher().label(pairs, rng)
    torch.manual_seed(0)
    model = small_model()
    trainer = RewardTrainer(
        model, lr=3e-3, batch_size=64, max_epochs=30, val_fraction=0.2, target_accuracy=0.99, seed=0
    )
    stats = trainer.fit(pairs, record)
    assert stats.val_accuracy >= 0.95, stats
    fresh = Pairs(linear_segments(500, 10, rng), linear_segments(500, 10, rng))
    assert (trainer.accuracy(fresh, PartialReturnTeacher().label(fresh, rng)) >= 0.95).all()
    # the learned per-step reward tracks the true one
    seg = linear_segments(200, 1, rng)
    learned = model.predict(seg.obs[:, 0], seg.actions[:, 0])
    assert np.corrcoef(learned, seg.rewards[:, 0])[0, 1] > 0.95


def test_batched_members_equal_member_by_member_calls():
    model = small_model(members=4)
    x = torch.as_tensor(np.random.default_rng(1).normal(size=(7, 4)), dtype=torch.float32)
    together = model(x)
    for m in range(4):
        h = (x - model.mean) / model.std
        for i, (w, b) in enumerate(zip(model.weights, model.biases, strict=True)):
            h = h @ w[m] + b[m, 0]
            h = torch.relu(h) if i < len(model.weights) - 1 else h
        torch.testing.assert_close(together[m], h.squeeze(-1), rtol=1e-6, atol=1e-6)
    # members differ (their own initial weights), and per-member batches work
    assert not torch.allclose(together[0], together[1])
    per_member = model(x.unsqueeze(0).expand(4, -1, -1))
    torch.testing.assert_close(per_member, together)


def test_bounded_output_and_predict_proba():
    model = RewardEnsemble(EnsembleConfig((3,), (1,), members=2, hidden=(8,), bounded=True), "cpu")
    rng = np.random.default_rng(0)
    pairs = Pairs(linear_segments(5, 4, rng), linear_segments(5, 4, rng))
    probs = model.predict_proba(pairs)
    assert probs.shape == (2, 5) and ((probs > 0) & (probs < 1)).all()
    r = model.rewards(model.inputs(pairs.first.obs, pairs.first.actions))
    assert r.abs().max() <= 1.0
    with torch.no_grad():
        diff = model.segment_returns(pairs.first) - model.segment_returns(pairs.second)
    np.testing.assert_allclose(probs, torch.sigmoid(diff).numpy(), rtol=1e-6)


def test_save_load_round_trip_gives_identical_outputs(tmp_path):
    model = small_model()
    model.fit_normalizer(np.random.default_rng(0).normal(3.0, 2.0, size=(100, 4)))
    model.save(tmp_path / "m")
    back = RewardEnsemble.load(tmp_path / "m", device="cpu")
    obs, act = np.random.default_rng(2).normal(size=(9, 3)), np.zeros((9, 1))
    np.testing.assert_array_equal(model.predict(obs, act), back.predict(obs, act))
    assert back.config == model.config
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "reward_model.json").write_text("{not json")
    with pytest.raises(FileFormatError, match=r"bad/reward_model\.json' is not a reward model"):
        RewardEnsemble.load(tmp_path / "bad")


def test_standardized_output_has_zero_mean_unit_std_and_survives_save_load(tmp_path):
    model = small_model()
    rng = np.random.default_rng(3)
    obs, act = rng.normal(size=(500, 3)), rng.normal(size=(500, 1))
    raw = model.predict(obs, act)
    shift, scale = model.standardize_output(model.inputs(obs, act))
    out = model.predict(obs, act)
    assert abs(out.mean()) < 1e-5 and out.std() == pytest.approx(1.0, rel=1e-4)
    np.testing.assert_allclose(out, (raw - shift) / scale, rtol=1e-5, atol=1e-5)
    # training sees the raw rewards: the Bradley-Terry scale is the model's own
    np.testing.assert_allclose(
        model.rewards(model.inputs(obs, act)).mean(0).detach().numpy(), raw, rtol=1e-5, atol=1e-6
    )
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(RewardEnsemble.load(tmp_path / "m", "cpu").predict(obs, act), out)


def test_discrete_spaces_are_one_hot():
    env = rd.make("gridworld/delivery")
    cfg = EnsembleConfig.for_spaces(env.observation_space, env.action_space, hidden=(8,))
    assert (cfg.obs_dim, cfg.act_dim, cfg.in_dim) == (36, 4, 40)
    model = RewardEnsemble(cfg, "cpu")
    x = model.inputs(np.array([[0, 35]]), np.array([[3, 1]]))
    assert x.shape == (1, 2, 40) and x[0, 1, 35] == 1 and x[0, 1, 37] == 1 and x.sum() == 4


def test_bad_model_input_is_one_clear_error():
    model = small_model()
    rng = np.random.default_rng(0)
    pairs = Pairs(linear_segments(4, 2, rng), linear_segments(4, 2, rng))
    trainer = RewardTrainer(model)
    masked = LabelRecord(
        prob=np.full(4, 0.5), label=np.full(4, 0.5), usable=np.zeros(4, bool), charged=4
    )
    with pytest.raises(ParameterError, match="no usable preference labels"):
        trainer.fit(pairs, masked)
    nan = LabelRecord(
        prob=np.ones(4), label=np.array([1, np.nan, 0, 1.0]), usable=np.ones(4, bool), charged=4
    )
    with pytest.raises(ParameterError, match="NaN"):
        trainer.fit(pairs, nan)
    with pytest.raises(SpaceMismatchError, match=r"expects observations of shape \(3,\)"):
        model.predict(np.zeros((2, 4)), np.zeros((2, 1)))
    with pytest.raises(ParameterError, match="batch_size must be an integer >= 1"):
        RewardTrainer(model, batch_size=0)
    with pytest.raises(SpaceMismatchError, match=r"built for obs_shape=\(3,\)"):
        LearnedReward(gym.make("MountainCarContinuous-v0"), model)


def single_rewards(model, make, actions):
    env = LearnedReward(make(), model)
    obs, _ = env.reset(seed=0)
    out = []
    for a in actions:
        nxt, r, te, tr, info = env.step(a)
        assert r == pytest.approx(float(model.predict(obs[None], a[None])[0]), rel=1e-6)
        assert info["true_reward"] == info["env_reward"] != r
        out.append(r)
        obs = env.reset()[0] if te or tr else nxt
    return np.array(out)


def test_learned_reward_forms_agree_and_keep_the_true_reward():
    model = small_model(hidden=(16,))
    make = lambda: gym.make("Pendulum-v1", max_episode_steps=7)  # noqa: E731
    actions = np.random.default_rng(0).uniform(-2, 2, (20, 1, 1)).astype(np.float32)
    venv = vec_env.LearnedReward(DummyVecEnv([make]), model)
    venv.seed(0)
    venv.reset()
    sb3 = np.array([venv.step(a)[1][0] for a in actions])
    np.testing.assert_allclose(sb3, single_rewards(model, make, actions[:, 0]), rtol=1e-5)
    envs = vector.LearnedReward(gym.vector.SyncVectorEnv([make]), model)
    envs.reset(seed=0)
    used, got, starting = [], [], False
    for a in actions:
        _, r, term, trunc, _ = envs.step(a)
        if not starting:  # not the vector env's reset step
            used.append(a[0])
            got.append(r[0])
        starting = bool(term[0] or trunc[0])
    np.testing.assert_allclose(got, single_rewards(model, make, np.array(used)), rtol=1e-5)


def test_regret_labels_learn_the_optimal_advantage_not_the_reward():
    """Knox et al. (2023): Bradley-Terry on segment sums fitted to regret labels recovers
    A*(s, a) (a shaped reward), fitted to partial-return labels it recovers r. On the
    delivery map A* and r share their extremes (the sheep), so ranks tell them apart:
    most moves cost -1 gas, but only the ones away from the goal have A* < 0."""
    from scipy.stats import spearmanr

    from rewarddesign.preferences import (
        RegretTeacher,
        ValueIterationOracle,
        cut_segments,
        random_pairs,
        rollout,
    )

    env = rd.make("gridworld/delivery")
    base = env.unwrapped
    oracle = ValueIterationOracle.from_env(env, discount=1.0)
    traj = rollout(env, None, 4000, seed=0)
    rng = np.random.default_rng(0)
    pairs = random_pairs(cut_segments(traj, H=3, n=2400, rng=rng), 1200, rng)
    seen = np.unique(np.stack([traj.obs, traj.actions], axis=1), axis=0)
    s, a = seen[~base.terminal[seen[:, 0]]].T
    advantage = oracle.q[s, a] - oracle.v[s]
    reward = (base.P * base.R).sum(axis=-1)[s, a]
    rank = {}
    for name, teacher in (
        ("regret", RegretTeacher(oracle, 1.0, beta=1.0)),
        ("partial", PartialReturnTeacher(beta=1.0)),
    ):
        record = teacher.label(pairs, rng)
        cfg = EnsembleConfig.for_spaces(
            env.observation_space, env.action_space, members=1, hidden=(64, 64), seed=0
        )
        model = RewardEnsemble(cfg, device="cpu")
        RewardTrainer(model, lr=3e-3, max_epochs=100, target_accuracy=1.1, seed=0).fit(
            pairs, record
        )
        learned = model.predict(s, a)
        rank[name] = (spearmanr(learned, advantage)[0], spearmanr(learned, reward)[0])
    (regret_adv, regret_r), (partial_adv, partial_r) = rank["regret"], rank["partial"]
    assert regret_adv > 0.85 and regret_adv > regret_r + 0.25, rank
    assert partial_r > 0.6 and partial_r > partial_adv + 0.1, rank


def test_knn_state_entropy_equals_a_brute_force_computation():
    from rewarddesign.models.entropy import EntropyReplayBuffer, StateEntropyReward, knn_distance

    rng = np.random.default_rng(0)
    pool = rng.normal(size=(40, 3))
    batch = pool[rng.choice(40, 8, replace=False)]
    k = 5
    brute = []
    for x in batch:  # sorted distances to every stored point; the 0th is x itself
        d = sorted(float(np.sqrt(((x - p) ** 2).sum())) for p in pool)
        brute.append(d[k])
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    np.testing.assert_allclose(knn_distance(t(batch), t(pool), k).numpy(), brute, rtol=1e-12)
    np.testing.assert_allclose(
        knn_distance(t(batch), t(pool), k, chunk=7).numpy(), brute, rtol=1e-12
    )
    reward = StateEntropyReward(k)
    first = reward(t(batch), t(pool)).numpy()
    # SB3 RunningMeanStd starts from a 1e-4 count of unit variance: a 1e-4 relative bias
    np.testing.assert_allclose(first, np.array(brute) / np.std(brute), rtol=1e-3)
    with pytest.raises(ParameterError, match="more than k=5"):
        knn_distance(t(batch), t(pool[:5]), k)
    # the buffer's sampled rewards are the state entropy of the sampled next observations
    space = gym.spaces.Box(-10, 10, (3,))
    buffer = EntropyReplayBuffer(100, space, gym.spaces.Box(-1, 1, (1,)), device="cpu")
    for o in pool:
        buffer.add(o, o + 0.1, np.zeros(1), np.zeros(1), np.zeros(1), [{}])
    buffer.intrinsic = StateEntropyReward(k)
    data = buffer._get_samples(np.arange(8))
    expected = knn_distance(data.next_observations, t(pool).float(), k)
    normalised = (expected / expected.std(unbiased=False)).numpy()
    np.testing.assert_allclose(data.rewards[:, 0].numpy(), normalised, rtol=1e-3)


def _brute_kth(batch, pool, k):
    """The k-th smallest of all pairwise distances (float64), counting x itself as 0th."""
    d = np.sqrt(
        ((batch[:, None, :].astype(np.float64) - pool[None].astype(np.float64)) ** 2).sum(2)
    )
    return np.sort(d, axis=1)[:, k]


@pytest.mark.parametrize("n", [40, 3555])
def test_knn_distance_equals_numpy_brute_force_in_float32_with_duplicates(n):
    from rewarddesign.models.entropy import knn_distance

    # 3555 rows: four matrix-product tiles (the last partial), 444 groups of 8 (searched
    # again by group) and 3 rows past the last whole group
    rng = np.random.default_rng(1)
    pool = rng.normal(size=(n, 17)).astype(np.float32) * 3
    pool[rng.choice(n, n // 4, replace=False)] = pool[rng.choice(n, n // 4)]  # duplicates
    pool[: n // 10] = np.round(pool[: n // 10])  # ties among rounded rows
    pool[1:4] = pool[0]  # row 0 stored four times
    batch = pool[np.concatenate([[0], rng.choice(n, 63)])]
    x, p = torch.from_numpy(batch), torch.from_numpy(pool)
    for k in (1, 3, 5, n - 2, n - 1):  # k < 4 reaches only row 0's copies: distance 0
        brute = _brute_kth(batch, pool, k)
        # one pass, and chunk boundaries inside the pool (chunks below a group of 8 rows
        # on the small pool)
        for chunk in (65536, n - 1, 1001, 100) if n > 40 else (65536, n - 1, 7, 1):
            got = knn_distance(x, p, k, chunk=chunk)
            assert got.dtype == torch.float32
            np.testing.assert_allclose(
                got.numpy(), brute, rtol=2e-6, atol=1e-6, err_msg=f"{k=} {chunk=}"
            )
        assert knn_distance(x, p, 3)[0].item() == 0.0


def test_knn_distance_rejects_a_bad_chunk():
    from rewarddesign.models.entropy import knn_distance

    with pytest.raises(ParameterError, match="chunk"):
        knn_distance(torch.zeros(2, 1), torch.zeros(9, 1), 2, chunk=0)
