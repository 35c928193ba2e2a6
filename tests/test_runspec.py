"""RunSpec / RunResult: pure data that round-trips through JSON; bad numbers are rejected;
evaluations record the true return and each factor's episode sum."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rewarddesign as rd
from rewarddesign.contract.evaluation import Evaluator
from rewarddesign.contract.runspec import EvalPoint, EvalSpec, RunResult, RunSpec
from rewarddesign.errors import ParameterError, SpecError

SPEC = RunSpec(
    task="classic/Pendulum-v1",
    method="blend",
    agent="sac",
    seed=3,
    budget=5000,
    method_params={"weights": {"theta_sq": -1.0, "primary": 0.5}},
    agent_preset="fast",
    agent_overrides={"learning_rate": 0.001, "policy_kwargs": {"net_arch": [32, 32]}},
    eval=EvalSpec(every=500, episodes=3, seed=7),
)


def test_runspec_json_round_trip_and_stable_text():
    again = RunSpec.from_json(SPEC.to_json())
    assert again == SPEC
    assert again.to_json() == SPEC.to_json()
    assert hash(again) == hash(SPEC)


def test_runresult_json_round_trip_including_non_finite_values():
    result = RunResult(
        spec=SPEC,
        curve=[
            EvalPoint(500, -900.5, [-900.0, -901.0], None),
            EvalPoint(1000, float("-inf"), [float("-inf")], 0.5, {"u_sq": 2.5, "x": float("nan")}),
        ],
        final_return=float("-inf"),
        final_success=0.5,
        series={"model_accuracy": [(500, 0.75), (1000, float("nan"))]},
        env_steps=1000,
        labels_used=40,
        wall_time=12.5,
        device="cpu",
        versions={"torch": "2.13.0"},
    )
    again = RunResult.from_json(result.to_json())
    assert again.spec == SPEC
    assert again.curve[0] == result.curve[0]
    assert again.curve[1].mean_return == float("-inf")
    assert again.series["model_accuracy"][0] == (500, 0.75)
    assert math.isnan(again.series["model_accuracy"][1][1])
    assert (again.final_success, again.labels_used, again.env_steps) == (0.5, 40, 1000)
    assert again.curve[1].factors["u_sq"] == 2.5 and math.isnan(again.curve[1].factors["x"])
    assert again.to_json() == result.to_json()
    # results stored before evaluations recorded factor sums still load
    old = result.to_dict()
    for point in old["curve"]:
        del point["factors"]
    assert RunResult.from_dict(old).curve[1].factors == {}


@pytest.mark.parametrize("budget", [0, -100, 2.5, True])
def test_non_positive_or_non_integer_budget_is_rejected(budget):
    spec = RunSpec(task="classic/Pendulum-v1", method="true", agent="sac", budget=budget)
    with pytest.raises(ParameterError, match="budget must be an integer >= 1"):
        spec.validate()


def test_bad_eval_settings_are_rejected():
    with pytest.raises(ParameterError, match="eval episodes"):
        RunSpec(task="t/x", method="true", agent="sac", eval=EvalSpec(episodes=0)).validate()


def test_unknown_runspec_key_is_rejected():
    data = SPEC.to_dict() | {"colour": "red"}
    with pytest.raises(SpecError, match="colour"):
        RunSpec.from_dict(data)


def test_eval_every_defaults_to_a_tenth_of_the_budget():
    assert RunSpec(task="t/x", method="true", agent="sac", budget=5000).eval_every == 500


def test_evaluations_sum_each_factor_over_episodes():
    task = rd.task_spec("classic/Pendulum-v1")
    evaluator = Evaluator(task, episodes=2, seed=0)
    out = evaluator(lambda obs: np.full((len(obs), 1), 0.5, dtype=np.float32))
    evaluator.close()
    # u^2 = 0.25 on each of the 200 steps; the env's reward is the spec's weighted sum
    np.testing.assert_allclose(out.factor_sums[:, 2], [50.0, 50.0])
    w = np.array([task.default_weights[n] for n in task.factor_names])
    np.testing.assert_allclose(out.factor_sums @ w, out.returns, rtol=1e-6)
