"""Named factor functions are vectorised: a batch of stored transitions gives the same
factors as the env reported step by step (the preference simulator relies on this)."""

from __future__ import annotations

import numpy as np
import pytest

import rewarddesign as rd
from rewarddesign.errors import ParameterError
from rewarddesign.task.factors import FACTOR_FUNCTIONS

FN_TASKS = [t for t in rd.tasks() if any(f.fn for f in rd.task_spec(t).factors)]


@pytest.mark.parametrize("task", FN_TASKS)
def test_batched_function_factors_match_per_step_info(task):
    spec = rd.task_spec(task)
    env = rd.make(task)
    env.action_space.seed(0)
    obs, _ = env.reset(seed=0)
    rows, reported = [], []
    for _ in range(50):
        action = env.action_space.sample()
        next_obs, _, terminated, truncated, info = env.step(action)
        rows.append((obs, action, next_obs))
        reported.append(info["factors"])
        obs = env.reset()[0] if terminated or truncated else next_obs
    o, a, n = (np.stack([np.asarray(r[i]) for r in rows]) for i in range(3))
    reported = np.array(reported)
    for j, f in enumerate(spec.factors):
        if f.fn:
            batched = f.scale * FACTOR_FUNCTIONS[f.fn](o, a, n, **f.args)
            assert batched.shape == (50,), f.name
            np.testing.assert_allclose(batched, reported[:, j], atol=1e-12, err_msg=f.name)


def test_a_factor_function_written_for_one_observation_is_refused_when_the_env_is_made(
    monkeypatch, write_yaml
):
    monkeypatch.setitem(FACTOR_FUNCTIONS, "speed_one_obs", lambda obs, action, next_obs: obs[2])
    spec = {
        "id": "test/Pendulum-one-obs",
        "env": {"id": "Pendulum-v1"},
        "factors": [{"name": "speed", "sign": -1, "source": {"fn": "speed_one_obs"}}],
        "reward": {"weights": {"speed": -1.0}},
    }
    with pytest.raises(ParameterError, match=r"factor 'speed' .*obs\[:, 2\]"):
        rd.make(write_yaml(spec))
