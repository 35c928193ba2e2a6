"""Every wrapper's gymnasium.vector and SB3 VecEnv forms give the single-env form's
rewards step for step, across autoresets; every form passes the env checkers."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.vec_env import DummyVecEnv

import rewarddesign as rd
from rewarddesign.errors import SpaceMismatchError
from rewarddesign.wrappers import vec_env, vector

# Sub-env i of the batch: different episode lengths and endings, so autoresets of the
# two envs fall on different steps.
ENV_KWARGS = [
    {"lengths": (3, 4), "ends": ("terminated", "truncated")},
    {"lengths": (2, 5), "ends": ("truncated", "terminated")},
]
STEPS = 23


def meta_blend():
    """A BARFI blend with state-dependent weights on the test task (aux "cost" = -b)."""
    from rewarddesign.models.meta_blend import MetaBlend

    blend = MetaBlend(2, "linear", (0.1, 1.0, 0.5), task="test/Episodes-v0", aux="cost")
    with torch.no_grad():
        blend.weights[:, :2] = torch.tensor([[0.2, -0.1], [0.0, 0.3], [-0.4, 0.1]])
    return blend


def chains():
    """(name, [(wrapper name, kwargs), ...]) applied bottom-up."""
    return [
        (
            "potential",
            [("PotentialShaping", {"potential": lambda o: o[:, 1] - 2 * o[:, 0], "gamma": 0.9})],
        ),
        (
            "potential-named",
            [("PotentialShaping", {"potential": "tilt", "gamma": 0.5, "scale": 2.0})],
        ),
        ("blended", [("BlendedReward", {"weights": {"a": 0.5, "b": -1.0, "primary": 2.0}})]),
        ("meta-linear", [("MetaLearnedReward", {"blend": meta_blend()})]),
        ("par-running", [("CenteredSigmoid", {"reference": rd.wrappers.RunningQuantile(0.25, 4)})]),
        (
            "lsc-callable",
            [
                (
                    "CenteredSigmoid",
                    {
                        "reference": lambda o, a, o2: np.stack([o2[:, 1], a[:, 0]], 1),
                        "mode": "logsigmoid",
                    },
                )
            ],
        ),
        (
            "gated-success",
            [
                ("BlendedReward", {"weights": {"a": 1.0, "b": 1.0}}),
                ("GatedReward", {"gate": "success"}),
            ],
        ),
        (
            "gated-return",
            [
                ("PotentialShaping", {"potential": "tilt", "gamma": 1.0}),
                ("GatedReward", {"gate": "return", "threshold": 5.0}),
            ],
        ),
        (
            "constrained",
            [
                (
                    "ConstrainedReward",
                    {"components": ["b"], "thresholds": [1.0], "initial_lambda": 0.3},
                )
            ],
        ),
        (
            "pessimistic",
            [
                (
                    "PessimisticReward",
                    {"uncertainty": lambda o, a, o2: np.abs(a[:, 0]) * o2[:, 1], "floor": 0.1},
                )
            ],
        ),
    ]


@pytest.fixture
def task(tmp_path):
    from tests.conftest import EPISODES_SPEC

    spec = dict(
        EPISODES_SPEC,
        potentials={"tilt": {"fn": "obs_entry", "args": {"index": 1}}},
        auxiliary={"cost": {"weights": {"b": -1.0}}},
    )
    path = tmp_path / "episodes.yaml"
    import yaml

    path.write_text(yaml.safe_dump(spec))
    return rd.task_spec(str(path))


def wrap(env, chain, module):
    for name, kwargs in chain:
        env = getattr(module, name)(env, **kwargs)
    return env


def single_rewards(task, chain, i, actions):
    """Rewards of sub-env i alone, stepping the given actions, resetting when done."""
    env = wrap(rd.make(task, **ENV_KWARGS[i]), chain, rd.wrappers)
    env.reset(seed=i)
    out = []
    for a in actions:
        _, r, terminated, truncated, info = env.step(a)
        out.append(r)
        assert "factors" in info and "true_reward" in info
        if terminated or truncated:
            env.reset()
    return out


def actions_for(n, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 2, 1)).astype(np.float32)


@pytest.mark.parametrize(("name", "chain"), chains(), ids=[c[0] for c in chains()])
def test_gymnasium_vector_form_equals_single_form_across_autoreset(task, name, chain):
    envs = gym.vector.SyncVectorEnv([lambda i=i: rd.make(task, **ENV_KWARGS[i]) for i in range(2)])
    envs = wrap(envs, chain, vector)
    envs.reset(seed=0)
    starting = np.zeros(2, bool)
    got, used = [[], []], [[], []]
    for a in actions_for(STEPS):
        _, r, terminated, truncated, info = envs.step(a)
        for i in np.flatnonzero(~starting):  # a reset step is not a transition
            got[i].append(r[i])
            used[i].append(a[i])
            assert info["_true_reward"][i] and info["_factors"][i]
        assert (r[starting] == 0).all()
        starting = terminated | truncated
    for i in range(2):
        assert len(got[i]) > 12
        # same math; the single form computes on Python floats (to the last bit or so)
        np.testing.assert_allclose(got[i], single_rewards(task, chain, i, used[i]), rtol=1e-12)


@pytest.mark.parametrize(("name", "chain"), chains(), ids=[c[0] for c in chains()])
def test_sb3_vec_env_form_equals_single_form_across_autoreset(task, name, chain):
    venv = DummyVecEnv([lambda i=i: rd.make(task, **ENV_KWARGS[i]) for i in range(2)])
    venv = wrap(venv, chain, vec_env)
    venv.seed(0)
    venv.reset()
    actions = actions_for(STEPS)
    got = []
    for a in actions:
        _, r, _, infos = venv.step(a)
        assert r.dtype == np.float32 and all("true_reward" in info for info in infos)
        got.append(r)
    got = np.array(got)
    for i in range(2):
        # SB3 VecEnvs carry float32 rewards: equal to the single form rounded to float32
        want = np.float32(single_rewards(task, chain, i, actions[:, i]))
        np.testing.assert_allclose(got[:, i], want, rtol=2e-7, atol=2e-6)


def test_forms_on_a_real_env_with_time_limit_autoresets():
    phi = lambda o: -(o[:, 2] ** 2)  # noqa: E731 - minus squared angular velocity
    make = lambda: gym.make("Pendulum-v1", max_episode_steps=7)  # noqa: E731
    envs = vector.PotentialShaping(gym.vector.SyncVectorEnv([make, make]), phi, 0.99)
    venv = vec_env.PotentialShaping(DummyVecEnv([make, make]), phi, 0.99)
    envs.reset(seed=[0, 1])
    venv.seed(0)
    venv.reset()
    singles = [rd.wrappers.PotentialShaping(make(), phi, 0.99) for _ in range(2)]
    for i, s in enumerate(singles):
        s.reset(seed=i)
    starting = np.zeros(2, bool)
    for a in actions_for(30, seed=1) * 2:
        _, rv, term, trunc, _ = envs.step(a)
        _, rs, _, _ = venv.step(a)
        for i in np.flatnonzero(~starting):
            _, r, te, tr, _ = singles[i].step(a[i])
            assert rv[i] == pytest.approx(r, rel=1e-12, abs=1e-12)
            if te or tr:
                singles[i].reset()
        starting = term | trunc
        assert rs.shape == (2,)


def learned_model():
    from rewarddesign.models import EnsembleConfig, RewardEnsemble

    return RewardEnsemble(EnsembleConfig((2,), (1,), members=2, hidden=(8,)), device="cpu")


@pytest.mark.parametrize("cls", rd.wrappers.WRAPPERS, ids=lambda c: c.__name__)
def test_every_wrapper_passes_gymnasium_and_sb3_env_checkers(task, cls):
    kwargs = {
        "PotentialShaping": {"potential": "tilt", "gamma": 0.99},
        "BlendedReward": {"weights": {"a": 1.0, "b": -0.5}},
        "CenteredSigmoid": {"reference": 2.0},
        "GatedReward": {"gate": "success"},
        "ConstrainedReward": {"components": ["b"], "thresholds": [1.0]},
        "PessimisticReward": {"uncertainty": lambda o, a, o2: np.abs(a[:, 0])},
        "LearnedReward": {"model": learned_model()},
        "MetaLearnedReward": {"blend": meta_blend()},
    }[cls.__name__]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no checker warning either
        warnings.filterwarnings("ignore", message=".*different from the unwrapped version")
        gym_check_env(cls(rd.make(task), **kwargs), skip_render_check=True)
    sb3_check_env(cls(rd.make(task), **kwargs), warn=True)
    assert getattr(vector, cls.__name__).single is cls
    assert getattr(vec_env, cls.__name__).single is cls


def test_vector_forms_reject_same_step_autoreset():
    envs = gym.vector.SyncVectorEnv(
        [lambda: gym.make("Pendulum-v1")], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
    )
    with pytest.raises(SpaceMismatchError, match="next-step autoreset"):
        vector.PotentialShaping(envs, lambda o: o[:, 0], 0.9)
