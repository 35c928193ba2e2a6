"""Populations of simulated users: labellers in datasets, personas, EM and VPL rewards."""

from __future__ import annotations

import numpy as np
import pytest

import rewarddesign as rd
from rewarddesign.errors import FileFormatError, ParameterError, SpecError, UnknownNameError
from rewarddesign.models import EnsembleConfig
from rewarddesign.models.mixture import RewardMixture
from rewarddesign.models.vpl import LatentRewardConfig, LatentRewardModel
from rewarddesign.models.vpl_training import fit_vpl
from rewarddesign.preferences import (
    LabelRecord,
    Pairs,
    PartialReturnTeacher,
    PreferenceDataset,
    Segments,
    cut_segments,
    pairs_from_rewards,
    random_pairs,
    rollout,
)
from rewarddesign.preferences.labellers import Labeller
from rewarddesign.preferences.population import TeacherPopulation, persona_rewards
from rewarddesign.task.parse import parse_task_spec
from rewarddesign.wrappers.latent import LatentConditioned

TASK = "gridworld/two-goals"


@pytest.fixture(scope="module")
def segments() -> Segments:
    """Segments of random walks with a per-episode drift (they reach both goals)."""
    env = rd.make(TASK)
    rng = np.random.default_rng(0)
    state = {"t": 0, "d": None}

    def wander(obs):
        if state["t"] % 50 == 0:
            state["d"] = rng.uniform(-1, 1, 2)
        state["t"] += 1
        return np.clip(state["d"] + rng.normal(0, 0.5, 2), -1, 1).astype(np.float32)

    return cut_segments(rollout(env, wander, 5000, seed=0), H=25)


def test_personas_parse_from_the_task_spec():
    personas = rd.task_spec(TASK).personas
    assert list(personas) == ["left", "right"]
    assert dict(personas["left"].reward.weights) == {"dist_left": -1.0, "at_left": 1.0}
    assert personas["right"].noise == {"beta": 10.0}


@pytest.mark.parametrize(
    ("persona", "match"),
    [
        ({"reward": {"weights": {"nope": 1.0}}}, "nope"),
        ({"reward": {"weights": {"a": 1.0}}, "noise": {"temperature": 1.0}}, "temperature"),
        ({"reward": {"weights": {"a": 1.0}}, "noise": {"beta": "high"}}, "number"),
        ({"noise": {"beta": 1.0}}, "reward"),
    ],
)
def test_bad_personas_are_refused_when_the_spec_loads(persona, match):
    doc = {
        "id": "t/x",
        "env": {"id": "Pendulum-v1"},
        "factors": [{"name": "a", "sign": 1, "source": {"info": "a"}}],
        "reward": {"weights": {"a": 1.0}},
        "personas": {"p": persona},
    }
    with pytest.raises((SpecError, UnknownNameError), match=match):
        parse_task_spec(doc)


def test_users_follow_the_proportions():
    population = TeacherPopulation(TASK, {"left": 0.8, "right": 0.2}, users=20)
    assert population.groups().tolist() == [0] * 16 + [1] * 4
    assert population.users[16].labeller == Labeller("right-0", "simulated", "right")
    odd = TeacherPopulation(TASK, {"left": 2 / 3, "right": 1 / 3}, users=4)
    assert odd.groups().tolist() == [0, 0, 0, 1]  # 2.67 and 1.33: the larger remainder


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"proportions": {"left": 0.8, "right": 0.3}}, "sum to 1.1"),
        ({"users": 0}, "users"),
    ],
)
def test_bad_populations_get_one_clear_error(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        TeacherPopulation(TASK, **kwargs)


def test_an_unknown_persona_is_named():
    with pytest.raises(UnknownNameError, match="middle"):
        TeacherPopulation(TASK, {"left": 0.5, "middle": 0.5})


def test_a_task_without_personas_names_the_fix():
    with pytest.raises(ParameterError, match="personas"):
        TeacherPopulation("classic/Pendulum-v1")


def test_each_users_labels_are_its_personas_labels(segments):
    population = TeacherPopulation(TASK, {"left": 0.5, "right": 0.5}, users=4)
    data = population.label(segments, 30, np.random.default_rng(7))
    record = data.record()
    assert data.task == TASK and [u.persona for u in data.labellers] == ["left"] * 2 + ["right"] * 2
    assert record.labeller.tolist() == [u for u in range(4) for _ in range(30)]
    spec = rd.task_spec(TASK)
    for uid, stream in enumerate(np.random.default_rng(7).spawn(4)):
        persona = spec.personas[population.users[uid].persona.name]
        pairs = random_pairs(segments, 30, stream)
        own = Pairs(
            *(
                Segments(
                    **{**seg.__dict__, "rewards": persona_rewards(seg, persona, spec.factor_names)}
                )
                for seg in (pairs.first, pairs.second)
            )
        )
        expected = PartialReturnTeacher(beta=10.0).label(own, stream)
        got_pairs, got = data.of_labeller(uid)
        np.testing.assert_array_equal(got_pairs.first.obs, pairs.first.obs)
        np.testing.assert_array_equal(got.label, expected.label)
        np.testing.assert_allclose(got.prob, expected.prob)
    # the two personas disagree: on the same pairs their rational labels differ often
    pairs = random_pairs(segments, 200, np.random.default_rng(0))
    left = population.persona_pairs(pairs, spec.personas["left"])
    right = population.persona_pairs(pairs, spec.personas["right"])
    rational = PartialReturnTeacher()
    disagree = rational.label(left, None).label != rational.label(right, None).label
    assert disagree.mean() > 0.3


def test_dirichlet_personas_weigh_the_factors_by_their_signs():
    personas = TeacherPopulation.dirichlet(
        TASK, 5, np.random.default_rng(0), factors=["dist_left", "at_right"], noise={"beta": 1}
    )
    for persona in personas.values():
        w = persona.reward.weights
        assert w["dist_left"] < 0 < w["at_right"]
        assert abs(w["dist_left"]) + w["at_right"] == pytest.approx(1.0)
    population = TeacherPopulation(TASK, {n: 0.2 for n in personas}, users=5, personas=personas)
    assert [u.persona.name for u in population.users] == list(personas)


def test_labellers_round_trip_and_old_files_load(tmp_path):
    pairs = pairs_from_rewards([[1.0], [0.0]], [[0.0], [0.0]])
    data = PreferenceDataset(task="classic/Pendulum-v1")
    human = data.add_labeller(Labeller("ada", kind="human"))
    data.append(pairs, PartialReturnTeacher().label(pairs, None).by(human))
    data.save(tmp_path / "new.npz")
    back = PreferenceDataset.load(tmp_path / "new.npz")
    assert back.labellers == data.labellers and back.task == "classic/Pendulum-v1"
    assert back.record().labeller.tolist() == [1, 1]
    # a file written before labellers existed: no labeller arrays at all
    with np.load(tmp_path / "new.npz") as f:
        old = {k: f[k] for k in f.files if k not in ("labeller", "labeller_table", "task")}
    np.savez(tmp_path / "old.npz", **old)
    legacy = PreferenceDataset.load(tmp_path / "old.npz")
    assert legacy.labellers == (Labeller("teacher"),) and legacy.task is None
    assert legacy.record().labeller.tolist() == [0, 0]
    np.testing.assert_array_equal(legacy.labels, back.labels)


def test_a_labeller_id_out_of_range_is_refused():
    pairs = pairs_from_rewards([[1.0]], [[0.0]])
    record = PartialReturnTeacher().label(pairs, None).by(3)
    with pytest.raises(ParameterError, match="labeller id 3 is out of range"):
        PreferenceDataset().append(pairs, record)


def test_a_corrupt_labeller_table_is_a_file_format_error(tmp_path):
    pairs = pairs_from_rewards([[1.0]], [[0.0]])
    data = PreferenceDataset()
    data.append(pairs, PartialReturnTeacher().label(pairs, None))
    data.save(tmp_path / "d.npz")
    with np.load(tmp_path / "d.npz") as f:
        arrays = {k: f[k] for k in f.files}
    arrays["labeller_table"] = np.array('[{"name": "a"}, {"name": "a"}]')
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(FileFormatError, match="repeat"):
        PreferenceDataset.load(tmp_path / "bad.npz")


def _planted(weights: np.ndarray, users_per: int, pairs_per: int, seed: int):
    """Users of ``len(weights)`` groups, each labelling random 1-step-action segments by
    its group's linear reward ``w . obs`` (rationally)."""
    rng = np.random.default_rng(seed)
    k, dim = weights.shape
    table = [Labeller(f"g{g}-{i}") for g in range(k) for i in range(users_per)]
    data = PreferenceDataset(table)
    for uid in range(len(table)):
        w = weights[uid // users_per]

        def segs(w=w):
            obs = rng.normal(size=(pairs_per, 5, dim))
            n = pairs_per
            return Segments(
                obs,
                np.zeros((n, 5, 1)),
                obs @ w,
                np.zeros((n, 5, 1)),
                np.zeros((n, 5), bool),
                np.zeros((n, 5), bool),
                np.ones((n, 5), bool),
                obs[:, 0],
                obs[:, -1],
            )

        pairs = Pairs(segs(), segs())
        data.append(pairs, PartialReturnTeacher().label(pairs, None).by(uid))
    return data


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return all((a[i] == a[j]) == (b[i] == b[j]) for i in range(len(a)) for j in range(len(a)))


def test_em_recovers_planted_clusters_of_linear_rewards():
    weights = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, -1.0, 0.0]])
    data = _planted(weights, users_per=4, pairs_per=40, seed=0)
    mixture = RewardMixture(EnsembleConfig((3,), (1,), members=3, hidden=(32,)), "cpu")
    fit = mixture.fit(data, iterations=10, steps=150, seed=0)
    truth = np.repeat(np.arange(3), 4)
    assert _same_partition(fit.assignments, truth)
    held = _planted(weights, users_per=2, pairs_per=8, seed=1)
    got = [mixture.assign(*held.of_labeller(u)) for u in range(6)]
    expected = [fit.assignments[4 * g] for g in np.repeat(np.arange(3), 2)]
    assert got == expected


def test_a_mixture_needs_at_least_one_cluster():
    env = rd.make(TASK)
    with pytest.raises(ParameterError, match="clusters K must be an integer >= 1, got 0"):
        RewardMixture.for_spaces(env.observation_space, env.action_space, clusters=0)


def test_mixture_and_vpl_save_and_load_without_pickle(tmp_path):
    data = _planted(np.array([[1.0, 0.0], [0.0, 1.0]]), users_per=2, pairs_per=20, seed=0)
    mixture = RewardMixture(EnsembleConfig((2,), (1,), members=2, hidden=(8,)), "cpu")
    mixture.fit(data, iterations=2, steps=20, restarts=1)
    mixture.save(tmp_path / "em")
    back = RewardMixture.load(tmp_path / "em", device="cpu")
    obs = np.random.default_rng(0).normal(size=(6, 2))
    for k in range(2):
        np.testing.assert_array_equal(
            back.at(k).predict(obs, np.zeros((6, 1))), mixture.at(k).predict(obs, np.zeros((6, 1)))
        )
    np.testing.assert_array_equal(back.assignments, mixture.assignments)
    cfg = LatentRewardConfig(
        EnsembleConfig((2,), (1,)), latent_dim=2, hidden=(8,), encoder_hidden=(8,)
    )
    vpl = LatentRewardModel(cfg, "cpu")
    fit = fit_vpl(vpl, data, steps=20)
    vpl.save(tmp_path / "vpl")
    again = LatentRewardModel.load(tmp_path / "vpl", device="cpu")
    np.testing.assert_array_equal(
        again.at(fit.latents[0]).predict(obs, np.zeros((6, 1))),
        vpl.at(fit.latents[0]).predict(obs, np.zeros((6, 1))),
    )
    (tmp_path / "vpl" / "vpl_model.json").write_text('{"format": 99}')
    with pytest.raises(FileFormatError, match="not a VPL reward model"):
        LatentRewardModel.load(tmp_path / "vpl")


def test_vpls_encoder_separates_two_planted_users():
    data = _planted(np.array([[1.0, 0.0], [-1.0, 0.0]]), users_per=3, pairs_per=60, seed=0)
    cfg = LatentRewardConfig(
        EnsembleConfig((2,), (1,)), latent_dim=2, hidden=(32,), encoder_hidden=(32,)
    )
    model = LatentRewardModel(cfg, "cpu")
    fit = fit_vpl(model, data, steps=600, seed=0)
    assert fit.accuracy > 0.9
    centres = np.stack([fit.latents[:3].mean(0), fit.latents[3:].mean(0)])
    held = _planted(np.array([[1.0, 0.0], [-1.0, 0.0]]), users_per=3, pairs_per=8, seed=1)
    for uid in range(6):
        z = model.infer(*held.of_labeller(uid))
        nearest = int(np.argmin(((centres - z) ** 2).sum(1)))
        assert nearest == uid // 3
    # the reward at a user's latent ranks that user's segments: +obs[0] for the first
    obs = np.array([[2.0, 0.0], [-2.0, 0.0]])
    r = model.at(centres[0]).predict(obs, np.zeros((2, 1)))
    assert r[0] > r[1]
    assert LabelRecord  # the label contract is the one these datasets carry


def test_the_conditioned_wrapper_appends_the_latent_and_rewards_its_model():
    class Constant:  # a reward model that says which condition it is
        def __init__(self, value):
            self.value = value

        def predict(self, obs, actions, next_obs=None, factors=None):
            return np.full(len(obs), self.value)

    latents = np.array([[1.0, 0.0], [0.0, 1.0]])
    env = LatentConditioned(
        rd.make(TASK), latents, [Constant(-1.0), Constant(5.0)], rng=np.random.default_rng(0)
    )
    assert env.observation_space.shape == (4,)
    seen = set()
    for seed in range(6):
        obs, info = env.reset(seed=seed)
        g = info["condition"]
        np.testing.assert_array_equal(obs[2:], latents[g])
        nxt, reward, *_, info = env.step(np.zeros(2, np.float32))
        assert reward == [-1.0, 5.0][g] and info["condition"] == g
        np.testing.assert_array_equal(nxt[2:], latents[g])
        assert info["true_reward"] != reward  # the env's own reward stays in info
        seen.add(g)
    assert seen == {0, 1}
    with pytest.raises(ParameterError, match="rng"):
        LatentConditioned(rd.make(TASK), latents)
    with pytest.raises(ParameterError, match="one per condition"):
        LatentConditioned(rd.make(TASK), latents, [Constant(0.0)], np.random.default_rng(0))


def test_learned_reward_takes_a_fixed_cluster():
    env = rd.make(TASK)
    mixture = RewardMixture.for_spaces(
        env.observation_space, env.action_space, clusters=2, device="cpu", hidden=(8,)
    )
    wrapped = rd.wrappers.LearnedReward(env, mixture, latent=1)
    obs, _ = wrapped.reset(seed=0)
    action = np.zeros(2, np.float32)
    _, reward, *_ = wrapped.step(action)
    assert reward == pytest.approx(float(mixture.at(1).predict(obs[None], action[None])[0]))
    single = rd.models.RewardEnsemble(
        EnsembleConfig.for_spaces(env.observation_space, env.action_space, hidden=(8,)), "cpu"
    )
    with pytest.raises(SpecError, match="population"):
        rd.wrappers.LearnedReward(env, single, latent=0)
