"""RunSpec / RunResult: pure data that round-trips through JSON; bad numbers are rejected."""

from __future__ import annotations

import math

import pytest

from rewarddesign.errors import ParameterError, SpecError
from rewarddesign.runspec import EvalPoint, EvalSpec, RunResult, RunSpec

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
            EvalPoint(1000, float("-inf"), [float("-inf")], 0.5),
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
    assert again.to_json() == result.to_json()


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
