"""Teachers: label probabilities against hand-computed values for every noise mode,
regret against an independent value iteration, HERON's level rule, reproducibility and
bad input."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy.special import expit

import rewarddesign as rd
from rewarddesign.cli import build_parser, main
from rewarddesign.cli.data import TEACHER_FLAGS
from rewarddesign.contract.runspec import RunSpec
from rewarddesign.errors import ParameterError, RewardDesignError, UnknownNameError
from rewarddesign.experiment.runner import validate
from rewarddesign.preferences import (
    TEACHERS,
    HierarchicalTeacher,
    PartialReturnTeacher,
    PreferenceDataset,
    RegretTeacher,
    Segments,
    ValueIterationOracle,
    cut_segments,
    make_teacher,
    margin_from_returns,
    margin_from_rewards,
    pairs_from_rewards,
    random_pairs,
    rollout,
)
from rewarddesign.preferences.registry import DEFAULT_DISCOUNT

RNG = np.random.default_rng


def test_rational_and_boltzmann_probabilities():
    pairs = pairs_from_rewards(
        [[1.0, 2.0], [0.0, 1.0], [1.0, 1.0]], [[0.0, 1.0], [1.0, 1.0], [2.0, 0.0]]
    )
    rational = PartialReturnTeacher().label(pairs, RNG(0))
    assert rational.prob.tolist() == [1.0, 0.0, 0.5]
    assert rational.label.tolist() == [1.0, 0.0, 0.5] and rational.usable.all()
    boltzmann = PartialReturnTeacher(beta=0.5).label(pairs, RNG(0))
    np.testing.assert_allclose(boltzmann.prob, [expit(1.0), expit(-0.5), 0.5], rtol=1e-15)
    assert set(boltzmann.label) <= {0.0, 1.0}  # sampled
    assert PartialReturnTeacher(beta=0.0).label(pairs, RNG(0)).prob.tolist() == [0.5] * 3


def test_myopic_weights_count_late_steps_more():
    # H = 3, gamma 0.5: weights 0.25, 0.5, 1 on steps 0, 1, 2
    pairs = pairs_from_rewards([[4.0, 0.0, 0.0]], [[0.0, 0.0, 1.5]])
    teacher = PartialReturnTeacher(beta=2.0, myopic_gamma=0.5)
    assert teacher.label(pairs, RNG(0)).prob[0] == pytest.approx(expit(2.0 * (1.0 - 1.5)))
    assert PartialReturnTeacher(beta=2.0).label(pairs, RNG(0)).prob[0] == pytest.approx(
        expit(2.0 * 2.5)
    )


def test_mistakes_flip_labels_and_mix_the_probability():
    pairs = pairs_from_rewards([[1.0]] * 2000, [[0.0]] * 2000)
    record = PartialReturnTeacher(beta=1.0, eps_mistake=0.2).label(pairs, RNG(0))
    p = expit(1.0)
    assert record.prob[0] == pytest.approx(0.8 * p + 0.2 * (1 - p))
    assert record.label.mean() == pytest.approx(record.prob[0], abs=0.03)
    rational = PartialReturnTeacher(eps_mistake=0.25).label(pairs, RNG(1))
    assert rational.prob[0] == 0.75 and rational.label.mean() == pytest.approx(0.75, abs=0.03)


def test_equal_and_skip_thresholds_and_their_accounting():
    # margin 10 -> equal if |R1 - R2| < 1; skip if max(|R1|, |R2|) < 2
    teacher = PartialReturnTeacher(eps_equal=0.1, eps_skip=0.2, margin=10.0)
    pairs = pairs_from_rewards(
        [[5.0], [5.0], [1.0], [1.5], [3.0]], [[4.5], [3.0], [0.0], [1.0], [-3.0]]
    )
    record = teacher.label(pairs, RNG(0))
    assert record.prob.tolist() == [0.5, 1.0, 1.0, 0.5, 1.0]
    assert record.usable.tolist() == [True, True, False, False, True]
    assert record.label.tolist() == [0.5, 1.0, 0.5, 0.5, 1.0]
    data = PreferenceDataset()
    data.append(pairs, record)
    data.append(pairs.take(np.array([0, 2])), teacher.label(pairs.take(np.array([0, 2])), RNG(1)))
    assert (data.asked, data.charged, data.usable) == (7, 7, 4)  # skipped pairs are charged


def test_sign_safe_thresholds_on_negative_returns():
    margin = margin_from_returns(-800.0, 50, 200)  # a Pendulum-like episode return
    assert margin == -200.0  # B-Pref's eps * margin would be a negative threshold
    teacher = PartialReturnTeacher(eps_equal=0.01, eps_skip=0.05, margin=margin)
    pairs = pairs_from_rewards(
        [[-100.0], [-100.0], [-5.0], [-50.0]], [[-101.5], [-103.0], [-8.0], [-8.0]]
    )
    record = teacher.label(pairs, RNG(0))
    # equal below |margin| * 0.01 = 2; skip when both |R| < |margin| * 0.05 = 10
    assert record.prob.tolist() == [0.5, 1.0, 1.0, 0.0]
    assert record.usable.tolist() == [True, True, False, True]


def test_sign_safe_rule_on_pendulum_segments():
    traj = rollout(rd.make("classic/Pendulum-v1"), None, 1000, seed=0)
    pairs = random_pairs(cut_segments(traj, H=50), 500, RNG(0))
    returns = np.bincount(traj.episode_ids(), weights=traj.rewards)
    margin = margin_from_returns(returns.mean(), 50, 200)
    assert margin < 0 and (traj.rewards <= 0).all()
    record = PartialReturnTeacher(eps_skip=1.0, eps_equal=0.1, margin=margin).label(pairs, RNG(0))
    r1, r2 = pairs.first.rewards.sum(1), pairs.second.rewards.sum(1)
    np.testing.assert_array_equal(~record.usable, np.maximum(-r1, -r2) < 1.0 * abs(margin))
    np.testing.assert_array_equal(record.prob == 0.5, np.abs(r1 - r2) < 0.1 * abs(margin))
    assert 0 < record.usable.sum() < 500 and 0 < (record.prob == 0.5).sum() < 500


def independent_q(P, R, terminal, gamma):
    """Q* by value iteration, written here independently of the package."""
    q = np.zeros(P.shape[:2])
    for _ in range(20000):
        v = np.where(terminal, 0.0, q.max(1))
        q_new = np.einsum("ijk,ijk->ij", P, R + gamma * v[None, None, :])
        q_new[terminal] = 0.0
        if np.abs(q_new - q).max() < 1e-13:
            return q_new
        q = q_new
    raise AssertionError("no convergence")


@pytest.mark.parametrize(
    ("task", "kwargs"),
    [
        ("gridworld/delivery", {}),
        ("gridworld/random-mdp", {"seed": 3}),
        ("gridworld/random-mdp", {"n_states": 25, "seed": 7}),
    ],
)
def test_regret_labels_equal_an_independent_value_iteration(task, kwargs):
    env = rd.make(task, **kwargs)
    base, gamma = env.unwrapped, 0.95
    q = independent_q(base.P, base.R, base.terminal, gamma)
    v = np.where(base.terminal, 0.0, q.max(1))
    traj = rollout(env, None, 600, seed=1)
    pairs = random_pairs(cut_segments(traj, H=3), 400, RNG(2))
    oracle = ValueIterationOracle.from_env(env, gamma)
    for form in ("deterministic", "advantage"):
        teacher = RegretTeacher(oracle, gamma, beta=0.7, form=form)
        record = teacher.label(pairs, RNG(0))
        scores = []
        for seg in (pairs.first, pairs.second):
            s = seg.obs.astype(int)
            disc = gamma ** np.arange(3)[None, :] * seg.mask
            if form == "advantage":
                adv = q[s, seg.actions.astype(int)] - v[s]
                scores.append((disc * adv).sum(1))
            else:
                end = np.where(seg.ends_terminal, 0.0, v[seg.end_obs.astype(int)])
                scores.append(
                    (disc * seg.rewards).sum(1)
                    + gamma**seg.lengths * end
                    - v[seg.start_obs.astype(int)]
                )
        np.testing.assert_allclose(record.prob, expit(0.7 * (scores[0] - scores[1])), rtol=1e-9)


def test_deterministic_and_advantage_regret_agree_on_a_deterministic_mdp():
    env = rd.make("gridworld/delivery")
    oracle = ValueIterationOracle.from_env(env, 0.99)
    traj = rollout(env, None, 2000, seed=0)
    segs = cut_segments(traj, H=3)
    det = RegretTeacher(oracle, 0.99).negative_regret(segs)
    adv = RegretTeacher(oracle, 0.99, form="advantage").negative_regret(segs)
    np.testing.assert_allclose(det, adv, atol=1e-9, rtol=0)
    assert segs.ends_terminal.any() and (segs.lengths < 3).any()  # terminal, padded ends


def heron_pairs(f1, f2):
    f1, f2 = np.asarray(f1, float)[:, None, :], np.asarray(f2, float)[:, None, :]
    zeros = [[0.0]] * len(f1)
    return pairs_from_rewards(zeros, zeros, factors=(f1, f2))


def test_heron_decides_level_by_level_with_margins_from_the_batch_std():
    # factors (speed: more is better, cost: less is better)
    f1 = [[10.0, 5.0], [1.0, 1.0], [1.0, 4.0], [2.0, 2.0]]
    f2 = [[0.0, 0.0], [1.2, 9.0], [1.0, 0.0], [2.0, 2.0]]
    teacher = HierarchicalTeacher(["speed", "cost"], ["speed", "cost"], [1, -1], [0.1, 0.1])
    record = teacher.label(heron_pairs(f1, f2), RNG(0))
    all_f = np.array(f1 + f2)
    speed_margin, cost_margin = 0.1 * all_f[:, 0].std(), 0.1 * all_f[:, 1].std()
    assert speed_margin > 0.2 and cost_margin > 0  # pair 1's speed gap 0.2 is a tie at level 1
    # pair 0: speed decides for the first; pair 1: speed tie falls through, cost decides
    # for the first (1 < 9); pair 2: speed tie, cost 4 > 0 -> second; pair 3: undecided
    assert record.label.tolist() == [1.0, 1.0, 0.0, 0.5]
    assert record.usable.tolist() == [True, True, True, False] and record.charged == 4
    # the margin scales with the batch's std: the same pair, a wider batch, undecided
    one = HierarchicalTeacher(["x"], ["x"], [1], [0.5])
    assert one.label(heron_pairs([[1.0], [0.5]], [[0.0], [0.4]]), RNG(0)).usable[0]
    assert not one.label(heron_pairs([[1.0], [100.0]], [[0.0], [0.0]]), RNG(0)).usable[0]


def test_heron_on_single_transitions_and_segment_sums():
    segs = Segments(
        obs=np.zeros((2, 2, 1)),
        actions=np.zeros((2, 2, 1)),
        rewards=np.zeros((2, 2)),
        factors=np.array([[[1.0], [1.0]], [[3.0], [0.0]]]),
        terminated=np.zeros((2, 2), bool),
        truncated=np.zeros((2, 2), bool),
        mask=np.array([[True, True], [True, False]]),
        start_obs=np.zeros((2, 1)),
        end_obs=np.zeros((2, 1)),
    )
    from rewarddesign.preferences import Pairs

    teacher = HierarchicalTeacher(["x"], ["x"], [1], [0.0])
    # sums 2 vs 3 (the padded step counts 0)
    assert teacher.label(Pairs(segs.take([0]), segs.take([1])), RNG(0)).label.tolist() == [0.0]
    one = HierarchicalTeacher.from_task(rd.task_spec("gridworld/delivery"))
    traj = rollout(rd.make("gridworld/delivery"), None, 300, seed=0)
    record = one.label(random_pairs(cut_segments(traj, H=1), 200, RNG(0)), RNG(0))
    assert 0 < record.usable.sum() < 200


def test_labels_are_reproducible_and_noise_depends_on_the_seed():
    traj = rollout(rd.make("gridworld/delivery"), None, 500, seed=0)
    segs = cut_segments(traj, H=3)
    for teacher in (
        PartialReturnTeacher(beta=0.3),
        PartialReturnTeacher(eps_mistake=0.3),
        RegretTeacher(
            ValueIterationOracle.from_env(rd.make("gridworld/delivery"), 0.9), 0.9, beta=0.5
        ),
    ):
        a = teacher.label(random_pairs(segs, 300, RNG(5)), RNG(5))
        b = teacher.label(random_pairs(segs, 300, RNG(5)), RNG(5))
        c = teacher.label(random_pairs(segs, 300, RNG(5)), RNG(6))
        assert a.label.tobytes() == b.label.tobytes() and a.prob.tobytes() == b.prob.tobytes()
        assert (a.label != c.label).any()


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: PartialReturnTeacher(beta=-1.0), ParameterError, r"beta must be >= 0"),
        (
            lambda: PartialReturnTeacher(eps_mistake=1.5),
            ParameterError,
            r"eps_mistake must be in \[0, 1\]",
        ),
        (
            lambda: PartialReturnTeacher(eps_skip=-0.1),
            ParameterError,
            r"eps_skip must be in \[0, 1\]",
        ),
        (lambda: PartialReturnTeacher(eps_equal=0.1), ParameterError, "pass margin="),
        (lambda: PartialReturnTeacher(myopic_gamma=0.0), ParameterError, "myopic_gamma"),
        (lambda: RegretTeacher(object(), 0.9), Exception, "oracle must have V"),
        (
            lambda: RegretTeacher(
                ValueIterationOracle(np.ones((1, 1, 1)), np.zeros((1, 1)), 0.5), 0.9, form="x"
            ),
            UnknownNameError,
            "form of RegretTeacher",
        ),
        (
            lambda: HierarchicalTeacher(["a"], ["b"], [1], [1.0]),
            UnknownNameError,
            "factor in HierarchicalTeacher order 'b'",
        ),
        (
            lambda: HierarchicalTeacher(["a"], ["a"], [1, 1], [1.0]),
            ParameterError,
            "one entry per level",
        ),
        (lambda: pairs_from_rewards([[1.0, 2.0]], [[1.0]]), ParameterError, "differ in shape"),
        (lambda: pairs_from_rewards([[math.nan]], [[1.0]]), ParameterError, "must be finite"),
        (
            lambda: pairs_from_rewards(np.zeros((0, 3)), np.zeros((0, 3))),
            ParameterError,
            "empty batch",
        ),
        (lambda: margin_from_returns(math.nan, 50, 200), ParameterError, "finite mean return"),
    ],
)
def test_bad_teacher_input_is_one_clear_error(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_a_regret_discount_other_than_the_oracles_is_rejected():
    oracle = ValueIterationOracle.from_env(rd.make("gridworld/delivery"), 0.9)
    with pytest.raises(ParameterError, match=r"discount 0\.5 differs from the oracle's 0\.9"):
        RegretTeacher(oracle, 0.5)


def test_skip_at_exactly_the_threshold_as_b_pref():
    teacher = PartialReturnTeacher(eps_skip=0.5, margin=4.0)  # threshold 2
    record = teacher.label(pairs_from_rewards([[2.0], [2.5]], [[1.0], [0.0]]), RNG(0))
    assert record.usable.tolist() == [False, True]


def test_an_oracle_of_another_task_is_rejected():
    small = rd.make("gridworld/random-mdp", n_states=5)
    oracle = ValueIterationOracle.from_env(small, 0.9)
    traj = rollout(rd.make("gridworld/delivery"), None, 300, seed=0)
    pairs = random_pairs(cut_segments(traj, H=3), 50, RNG(0))
    with pytest.raises(ParameterError, match="the oracle has 5 states but the segments hold"):
        RegretTeacher(oracle, 0.9).label(pairs, RNG(0))


@pytest.mark.parametrize(
    ("teacher", "flags", "params", "match"),
    [
        ("regret", ["--eps-skip", "0.1"], {"eps_skip": 0.1}, "unknown option of the 'regret'"),
        ("hierarchical", ["--beta", "2"], {"beta": 2.0}, r"valid choices: \(none\)"),
        ("partial-return", ["--beta", "-1"], {"beta": -1.0}, "beta must be >= 0"),
        ("regret", ["--beta", "-1"], {"beta": -1.0}, "beta must be >= 0"),
    ],
)
def test_label_and_pbrl_refuse_a_bad_teacher_option_alike(
    teacher, flags, params, match, tmp_path, capsys
):
    """One factory (make_teacher): the same option gives the same error type and text."""
    traj = tmp_path / "t.npz"
    rollout(rd.make("gridworld/delivery"), None, 100, seed=0).save(traj)
    argv = ["label", str(traj), "--teacher", teacher, "--pairs", "5", "--H", "10"]
    argv += ["--out", str(tmp_path)]  # segments inside delivery's 30-step episodes
    args = build_parser().parse_args([*argv, *flags])
    with pytest.raises(RewardDesignError) as cli:
        args.func(args)
    spec = RunSpec(
        task="gridworld/delivery",
        method="pbrl",
        agent="ppo",
        budget=100,
        method_params={"teacher": teacher, "teacher_params": params},
    )
    with pytest.raises(RewardDesignError) as pbrl:
        validate(spec)
    assert type(cli.value) is type(pbrl.value) is ParameterError
    assert str(cli.value) == str(pbrl.value)
    assert re.search(match, str(pbrl.value))
    assert main([*argv, *flags]) == 2 and str(cli.value) in " ".join(
        capsys.readouterr().out.split()
    )


def test_the_registry_and_the_label_flags_agree():
    """The parser is built without importing the registry: its choices and defaults are
    written out, and must be the registry's and the teachers' own."""
    import inspect

    label = build_parser()._subparsers._group_actions[0].choices["label"]
    actions = {a.dest: a for a in label._actions}
    assert actions["teacher"].choices == list(TEACHERS)
    assert {k: actions[k].default for k in TEACHER_FLAGS} == TEACHER_FLAGS
    assert set(TEACHER_FLAGS) == {o for b in TEACHERS.values() for o in b.options} - {
        "n_action_samples"
    }
    assert TEACHER_FLAGS["discount"] == DEFAULT_DISCOUNT
    for cls in (PartialReturnTeacher, RegretTeacher):
        for name, p in inspect.signature(cls).parameters.items():
            if name in TEACHER_FLAGS and p.default is not p.empty:  # discount: required
                assert p.default == TEACHER_FLAGS[name], (cls, name)


def test_make_teacher_builds_each_teacher_and_caches_the_oracle():
    oracles: dict = {}
    regret = make_teacher("regret", "gridworld/delivery", oracles=oracles, discount=0.9)
    again = make_teacher(
        "regret", rd.task_spec("gridworld/delivery"), oracles=oracles, discount=0.9
    )
    assert again.oracle is regret.oracle and regret.discount == 0.9 and len(oracles) == 1
    assert isinstance(make_teacher("hierarchical", "gridworld/delivery"), HierarchicalTeacher)
    noisy = make_teacher("partial-return", "gridworld/delivery", margin=-20.0, eps_skip=0.1)
    assert isinstance(noisy, PartialReturnTeacher) and noisy.margin == 20.0
    with pytest.raises(UnknownNameError, match="unknown teacher 'oracle'"):
        make_teacher("oracle", "gridworld/delivery")
    with pytest.raises(ParameterError, match=r"needs teacher_params\.expert .* expert train"):
        make_teacher("regret", "classic/Pendulum-v1")
    with pytest.raises(ParameterError, match=r"n_action_samples \(4\) is for an expert's critic"):
        make_teacher("regret", "gridworld/delivery", n_action_samples=4)
    with pytest.raises(ParameterError, match=r"discount must be in \[0, 1\], got 'x'"):
        make_teacher("regret", "gridworld/delivery", discount="x")


def test_the_margin_from_rewards_is_the_margin_from_episode_returns():
    traj = rollout(rd.make("gridworld/delivery"), None, 300, seed=0)
    episode = traj.episode_ids()
    returns, lengths = np.bincount(episode, weights=traj.rewards), np.bincount(episode)
    by_episode = margin_from_returns(float(returns.mean()), 3, float(lengths.mean()))
    assert math.isclose(margin_from_rewards(traj.rewards, 3), by_episode, rel_tol=1e-12)
    with pytest.raises(ParameterError, match="at least one reward"):
        margin_from_rewards([], 3)
