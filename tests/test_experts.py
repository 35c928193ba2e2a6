"""Experts and the continuous-control regret teacher: an SAC expert trained on Pendulum,
its critic as the oracle, regret labels against partial-return labels, and pbrl with them."""

from __future__ import annotations

import numpy as np
import pytest

import rewarddesign as rd
from rewarddesign.cli import main
from rewarddesign.errors import ParameterError, SpecError
from rewarddesign.experiment.experts import expert_dir, list_experts, train_expert
from rewarddesign.preferences import (
    CriticOracle,
    PartialReturnTeacher,
    RegretTeacher,
    Segments,
    cut_segments,
    make_teacher,
    random_pairs,
    rollout,
)
from rewarddesign.preferences.segments import Pairs

TASK = "classic/Pendulum-v1"
UP, DOWN = np.array([1.0, 0.0, 0.0], np.float32), np.array([-1.0, 0.0, 0.0], np.float32)


@pytest.fixture(scope="module")
def expert(tmp_path_factory):
    """An SAC expert for Pendulum (8k steps of the fast preset: it swings up)."""
    root = tmp_path_factory.mktemp("experts")
    record = train_expert(
        TASK, steps=8000, seed=0, device="cpu", root=root, preset="fast", eval_episodes=3
    )
    return root, record


def test_the_expert_is_saved_with_its_measured_return_and_listed(expert, capsys):
    root, record = expert
    assert record["task"] == TASK and record["steps"] == 8000
    assert record["true_return"] > -400  # random: about -1200
    assert [e["task"] for e in list_experts(root)] == [TASK]
    assert main(["expert", "list", "--dir", str(root)]) == 0
    assert TASK in capsys.readouterr().out


def test_the_critic_values_upright_above_hanging_down(expert):
    oracle = CriticOracle.from_dir(expert_dir(TASK, expert[0]), task=TASK, n_action_samples=16)
    v_up, v_down = oracle.V(np.stack([UP, DOWN]))
    assert v_up > v_down + 100
    assert oracle.discount == 0.99 and oracle.Q(UP[None], np.zeros((1, 1))).shape == (1,)


def test_regret_labels_agree_with_partial_return_where_returns_differ_clearly(expert):
    folder = expert_dir(TASK, expert[0])
    oracle = CriticOracle.from_dir(folder, task=TASK)
    env = rd.make(TASK)
    policy_model = rd.agents.load(folder / "model", env, device="cpu")
    traj = [
        rollout(env, None, 2000, seed=1),
        rollout(env, lambda o: policy_model.predict(o, deterministic=True)[0], 1000, 2),
    ]
    rng = np.random.default_rng(0)
    segs = [cut_segments(t, H=25, rng=rng) for t in traj]
    pairs = random_pairs(Segments.concat(segs), 600, rng)
    pr = PartialReturnTeacher().label(pairs, rng).prob
    regret = RegretTeacher(oracle, oracle.discount).label(pairs, rng).prob
    gap = np.abs(pairs.first.rewards.sum(axis=1) - pairs.second.rewards.sum(axis=1))
    clear = gap > 100  # 25-step returns span about 0 to -400 here
    assert clear.sum() >= 100
    assert np.mean(pr[clear] == regret[clear]) >= 0.9


def test_regret_and_partial_return_differ_on_equal_returns_from_states_of_different_value(
    expert,
):
    oracle = CriticOracle.from_dir(expert_dir(TASK, expert[0]), task=TASK)
    H, n = 10, 4
    rewards = np.full((n, H), -1.0)  # the same rewards, so equal partial returns

    def segments(start: np.ndarray) -> Segments:
        obs = np.repeat(np.repeat(UP[None, None], H, axis=1), n, axis=0)
        flags = np.zeros((n, H), bool)
        return Segments(
            obs,
            np.zeros((n, H, 1), np.float32),
            rewards,
            np.zeros((n, H, 3)),
            flags,
            flags,
            ~flags,
            np.repeat(start[None], n, axis=0),
            np.repeat(UP[None], n, axis=0),
        )

    # both end upright; the first started hanging down (it gained value: lower regret)
    pairs = Pairs(segments(DOWN), segments(UP))
    rng = np.random.default_rng(0)
    assert (PartialReturnTeacher().label(pairs, rng).prob == 0.5).all()
    assert (RegretTeacher(oracle, oracle.discount).label(pairs, rng).prob == 1.0).all()


def test_pbrl_learns_from_regret_labels_of_the_expert(expert):
    folder = str(expert_dir(TASK, expert[0]))
    result = rd.run(
        TASK,
        "pbrl",
        "sac",
        seed=0,
        budget=600,
        agent_preset="fast",
        eval_episodes=1,
        labels=20,
        queries=10,
        interval=200,
        seed_steps=200,
        segment=20,
        hidden=[16],
        teacher="regret",
        teacher_params={"expert": folder, "n_action_samples": 4},
    )
    assert result.labels_used == 20
    assert all(0.0 <= v <= 1.0 for _, v in result.series["reward_accuracy"])


def test_an_expert_of_another_task_or_no_expert_is_refused(expert, tmp_path):
    folder = expert_dir(TASK, expert[0])
    with pytest.raises(SpecError, match="trained for task 'classic/Pendulum-v1', not"):
        CriticOracle.from_dir(folder, task="classic/MountainCarContinuous-v0")
    with pytest.raises(SpecError, match="no saved agent"):
        CriticOracle.from_dir(tmp_path)
    with pytest.raises(ParameterError, match=r"needs teacher_params\.expert"):
        rd.run(TASK, "pbrl", "sac", budget=600, teacher="regret")
    with pytest.raises(SpecError, match="trained for task"):
        rd.run(
            "classic/MountainCarContinuous-v0",
            "pbrl",
            "sac",
            budget=600,
            teacher="regret",
            teacher_params={"expert": str(folder)},
        )
    with pytest.raises(ParameterError, match="steps must be an integer >= 1"):
        train_expert(TASK, steps=0, root=tmp_path)


def test_the_label_command_takes_an_expert_for_regret_labels(expert, tmp_path, capsys):
    traj, labels = tmp_path / "traj.npz", tmp_path / "labels.npz"
    assert main(["rollout", TASK, "--steps", "400", "--out", str(traj)]) == 0
    folder = str(expert_dir(TASK, expert[0]))
    assert (
        main(
            [
                "label",
                str(traj),
                "--teacher",
                "regret",
                "--expert",
                folder,
                "--H",
                "20",
                "--pairs",
                "30",
                "--out",
                str(labels),
            ]
        )
        == 0
    )
    assert "wrote 30 pairs" in capsys.readouterr().out
    assert (
        main(
            [
                "label",
                str(traj),
                "--teacher",
                "regret",
                "--expert",
                str(tmp_path),
                "--pairs",
                "5",
                "--out",
                str(labels),
            ]
        )
        == 2
    )
    assert "no saved agent" in capsys.readouterr().out


def test_make_teacher_loads_an_expert_once_per_cache(expert, monkeypatch):
    """pbrl builds a teacher per feedback session: the critic is loaded once per run."""
    folder = str(expert_dir(TASK, expert[0]))
    loads = []
    from_dir = CriticOracle.from_dir.__func__

    def counted(cls, *args, **kwargs):
        loads.append(args)
        return from_dir(cls, *args, **kwargs)

    monkeypatch.setattr(CriticOracle, "from_dir", classmethod(counted))
    oracles: dict = {}
    first = make_teacher("regret", TASK, oracles=oracles, expert=folder, n_action_samples=4)
    again = make_teacher("regret", TASK, oracles=oracles, expert=folder, n_action_samples=4)
    assert again.oracle is first.oracle and len(loads) == 1
    assert first.discount == first.oracle.discount and first.oracle.n_action_samples == 4
    with pytest.raises(ParameterError, match="differs from the oracle's"):
        make_teacher("regret", TASK, oracles=oracles, expert=folder, discount=0.5)


@pytest.fixture
def own_pendulum(tmp_path):
    """A spec file of one's own: the packaged Pendulum under another id."""
    import yaml

    with open(rd.task_spec(TASK).path) as f:
        doc = yaml.safe_load(f) | {"id": "my/Pendulum-v1"}
    path = tmp_path / "specs" / "my_pendulum.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(doc))
    return path


def test_an_expert_of_an_own_spec_serves_the_regret_teacher(own_pendulum, tmp_path):
    record = train_expert(
        str(own_pendulum), steps=100, device="cpu", root=tmp_path, preset="fast", eval_episodes=1
    )
    assert record["task"] == "my/Pendulum-v1" and record["task_ref"] == str(own_pendulum)
    folder = expert_dir("my/Pendulum-v1", tmp_path)
    teacher = make_teacher("regret", str(own_pendulum), expert=str(folder))
    assert teacher.oracle.task == str(own_pendulum)  # the run's task: the spec's path


def test_label_finds_the_task_a_trajectory_file_records(
    own_pendulum, tmp_path, monkeypatch, capsys
):
    def said():  # the console wraps long lines
        return " ".join(capsys.readouterr().out.split())

    traj, labels = tmp_path / "traj.npz", tmp_path / "labels.npz"
    monkeypatch.chdir(own_pendulum.parent)  # a relative path, recorded absolute
    assert main(["rollout", "my_pendulum.yaml", "--steps", "300", "--out", str(traj)]) == 0
    assert rd.preferences.Trajectories.load(traj).task == str(own_pendulum)
    monkeypatch.chdir(tmp_path)
    label = ["label", str(traj), "--teacher", "partial-return", "--pairs", "5"]
    assert main([*label, "--out", str(labels)]) == 0
    assert "wrote 5 pairs" in said()
    assert main([*label, "--H", "201", "--out", str(labels)]) == 2
    assert (
        "--H 201 is longer than the horizon of task 'my/Pendulum-v1' (200 steps), so no "
        "episode holds a segment; give --H 200 or less." in said()
    )
    moved = tmp_path / "moved.yaml"
    own_pendulum.rename(moved)
    assert main([*label, "--out", str(labels)]) == 2
    assert f"records task '{own_pendulum}'; pass --task" in said()
    assert main([*label, "--task", str(moved), "--out", str(labels)]) == 0
    assert main([*label, "--task", "classic/CartPole-v1", "--out", str(labels)]) == 2
    assert "has factors ['theta_sq', 'theta_dot_sq', 'u_sq'], task 'classic/CartPole-v1'" in said()
