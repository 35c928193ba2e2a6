"""Trajectory files, segment cutting, query selection, the preference dataset, the
tabular tasks and the rollout / label commands."""

from __future__ import annotations

import numpy as np
import pytest

import rewarddesign as rd
from rewarddesign.cli import main
from rewarddesign.errors import ParameterError, SpecError, UnknownNameError
from rewarddesign.preferences import (
    PartialReturnTeacher,
    PreferenceDataset,
    Trajectories,
    ValueIterationOracle,
    cut_segments,
    pairs_from_rewards,
    random_pairs,
    rollout,
    select_queries,
)


def toy_trajectories(lengths=(4, 2, 5)):
    """Episodes of the given lengths; transition i has obs i, reward i, factor 10 i."""
    n = sum(lengths)
    starts = np.zeros(n, bool)
    starts[np.cumsum((0, *lengths[:-1]))] = True
    ends = np.roll(starts, -1)
    ends[-1] = True
    i = np.arange(n, dtype=float)
    obs, next_obs = i[:, None].astype(np.float32), (i + 0.5)[:, None].astype(np.float32)
    return Trajectories(
        obs=obs,
        next_obs=next_obs,
        actions=np.zeros((n, 1), np.float32),
        rewards=i,
        factors=10 * i[:, None],
        terminated=ends,
        truncated=np.zeros(n, bool),
        episode_starts=starts,
        task="toy",
        factor_names=("f",),
    )


def test_segments_stay_inside_episodes_and_short_episodes_are_padded():
    segs = cut_segments(toy_trajectories(), H=3)
    # windows: episode 0 (0-3): starts 0, 1; episode 1 (4-5) is short: start 4, padded;
    # episode 2 (6-10): starts 6, 7, 8
    assert segs.start_obs[:, 0].tolist() == [0, 1, 4, 6, 7, 8]
    assert segs.mask.tolist()[2] == [True, True, False]
    assert segs.rewards[2].tolist() == [4.0, 5.0, 0.0]  # padding carries no reward
    assert segs.factors[2, :, 0].tolist() == [40.0, 50.0, 0.0]
    assert segs.end_obs[:, 0].tolist() == [2.5, 3.5, 5.5, 8.5, 9.5, 10.5]
    assert segs.ends_terminal.tolist() == [False, True, True, False, False, True]
    assert segs.lengths.tolist() == [3, 3, 2, 3, 3, 3]
    drawn = cut_segments(toy_trajectories(), H=3, n=50, rng=np.random.default_rng(0))
    assert drawn.n == 50 and set(drawn.start_obs[:, 0]) <= {0, 1, 4, 6, 7, 8}


def test_bad_segment_requests_are_clear_errors():
    with pytest.raises(ParameterError, match="H must be an integer >= 1"):
        cut_segments(toy_trajectories(), H=0)
    with pytest.raises(ParameterError, match="pass rng"):
        cut_segments(toy_trajectories(), H=2, n=3)
    with pytest.raises(ParameterError, match="need at least 2 segments"):
        random_pairs(cut_segments(toy_trajectories((3,)), H=3), 5, np.random.default_rng(0))
    bad = toy_trajectories()
    with pytest.raises(ParameterError, match="must be finite"):
        Trajectories(**{**bad.__dict__, "rewards": np.full(len(bad), np.nan)})
    with pytest.raises(ParameterError, match="rows but rewards has"):
        Trajectories(**{**bad.__dict__, "actions": np.zeros((3, 1))})


def test_trajectory_files_round_trip_without_pickle(tmp_path):
    traj = rollout(rd.make("classic/Pendulum-v1"), None, 450, seed=3)
    assert traj.episode_starts.sum() == 3 and traj.truncated.sum() == 2
    assert traj.obs.dtype == np.float32 and traj.factors.shape == (450, 3)
    np.testing.assert_allclose(traj.rewards, traj.factors @ [-1.0, -0.1, -0.001], atol=1e-5)
    traj.save(tmp_path / "t.npz")
    back = Trajectories.load(tmp_path / "t.npz")
    for key in ("obs", "actions", "rewards", "factors", "episode_starts"):
        np.testing.assert_array_equal(getattr(back, key), getattr(traj, key))
    assert back.task == "classic/Pendulum-v1" and back.factor_names == (
        "theta_sq",
        "theta_dot_sq",
        "u_sq",
    )
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(SpecError, match=r"bad\.npz. is not a trajectory file"):
        Trajectories.load(tmp_path / "bad.npz")


class KnownProbabilities:
    """A stand-in ensemble: fixed P(first preferred) per member and pair."""

    def __init__(self, probs):
        self.probs = np.asarray(probs)

    def predict_proba(self, pairs):
        return self.probs


def test_query_selection_rules_pick_by_disagreement_and_entropy():
    pairs = pairs_from_rewards(np.zeros((4, 1)), np.zeros((4, 1)))
    model = KnownProbabilities([[0.9, 0.5, 0.1, 0.6], [0.1, 0.5, 0.1, 0.4], [0.5, 0.5, 0.1, 0.5]])
    # std over members: pair 0 0.327, pair 3 0.082, others 0
    assert select_queries(pairs, 2, "disagreement", model).tolist() == [0, 3]
    # entropy of the mean: pairs 0, 1 and 3 have mean 0.5 (max entropy); pair 2 is sure
    assert select_queries(pairs, 3, "entropy", model).tolist() == [0, 1, 3]
    picked = select_queries(pairs, 3, "uniform", rng=np.random.default_rng(0))
    assert len(set(picked.tolist())) == 3
    with pytest.raises(UnknownNameError, match="query selection rule"):
        select_queries(pairs, 2, "biggest")
    with pytest.raises(ParameterError, match="need 1 <= m <= n"):
        select_queries(pairs, 5, "uniform", rng=np.random.default_rng(0))
    with pytest.raises(ParameterError, match="expected \\(members, 4\\)"):
        select_queries(pairs, 2, "entropy", KnownProbabilities(np.zeros((2, 3))))


def test_dataset_round_trips_and_is_deterministic_under_a_seed(tmp_path):
    traj = rollout(rd.make("gridworld/delivery"), None, 400, seed=0)

    def build(seed):
        rng = np.random.default_rng(seed)
        data = PreferenceDataset()
        teacher = PartialReturnTeacher(beta=0.5, eps_skip=0.16, margin=20.0)
        for _ in range(3):
            pairs = random_pairs(cut_segments(traj, H=3), 40, rng)
            data.append(pairs, teacher.label(pairs, rng))
        return data

    data = build(1)
    data.save(tmp_path / "d.npz")
    back = PreferenceDataset.load(tmp_path / "d.npz")
    assert (back.asked, back.charged, back.usable) == (data.asked, data.charged, data.usable)
    assert back.labels.tobytes() == data.labels.tobytes() == build(1).labels.tobytes()
    np.testing.assert_array_equal(back.pairs().first.obs, data.pairs().first.obs)
    assert data.asked == 120 and 0 < data.usable < 120
    with pytest.raises(ParameterError, match="dataset is empty"):
        PreferenceDataset().record()


def test_tabular_tasks_expose_their_model_and_run_as_gymnasium_envs():
    from gymnasium.utils.env_checker import check_env

    for task in ("gridworld/delivery", "gridworld/random-mdp"):
        env = rd.make(task)
        base = env.unwrapped
        check_env(base)
        np.testing.assert_allclose(base.P.sum(axis=2), 1.0)
        obs, _ = env.reset(seed=0)
        nxt, r, term, _, info = env.step(0)
        assert r == pytest.approx(base.R[obs, 0, nxt]) == pytest.approx(info["true_reward"])
        assert term == base.terminal[nxt]
    delivery = rd.make("gridworld/delivery")
    delivery.reset(options={"state": 4})  # next to the destination (top right)
    _, r, terminated, _, info = delivery.step(3)  # right
    assert (r, terminated, info["success"]) == (49.0, True, 1.0)
    big = rd.make("gridworld/random-mdp", n_states=30, n_actions=4, seed=2).unwrapped
    assert big.P.shape == (30, 4, 30)
    with pytest.raises(ParameterError, match="n_states must be an integer >= 2"):
        rd.make("gridworld/random-mdp", n_states=1)
    with pytest.raises(SpecError, match="not a tabular task"):
        ValueIterationOracle.from_env(rd.make("classic/Pendulum-v1"), 0.9)


def test_rollout_and_label_commands_write_files(tmp_path, capsys):
    traj_path, out = str(tmp_path / "t.npz"), str(tmp_path / "labels.npz")
    assert main(["rollout", "gridworld/delivery", "--steps", "300", "--out", traj_path]) == 0
    for teacher, extra in (
        ("regret", ["--form", "advantage"]),
        ("hierarchical", []),
        ("partial-return", ["--eps-skip", "0.1", "--beta", "2"]),
    ):
        argv = ["label", traj_path, "--teacher", teacher, "--pairs", "50", "--H", "3", "--out", out]
        assert main(argv + extra) == 0
        data = PreferenceDataset.load(out)
        assert data.asked == data.charged == 50
    assert "labelled by the partial-return teacher" in capsys.readouterr().out
    assert main(["label", traj_path, "--teacher", "regret", "--pairs", "0", "--out", out]) == 2
    assert (
        main(
            [
                "rollout",
                "gridworld/delivery",
                "--steps",
                "10",
                "--policy",
                str(tmp_path),
                "--out",
                traj_path,
            ]
        )
        == 2
    )
    assert "neither 'random' nor a saved agent" in capsys.readouterr().out
