"""Task-spec validation: every malformed spec fails on load with a message naming the fix."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import rewarddesign as rd
from rewarddesign.errors import RewardDesignError, SpecError
from rewarddesign.task.factors import FORMULAS
from rewarddesign.task.parse import parse_task_spec
from tests.conftest import SCRIPTED_SPEC


def spec_with(**changes):
    doc = copy.deepcopy(SCRIPTED_SPEC)
    doc.update(changes)
    return doc


def test_valid_spec_parses_with_defaults():
    spec = parse_task_spec(SCRIPTED_SPEC)
    assert spec.factor_names == ("a", "b")
    assert spec.primary is None and spec.heron is None and spec.success is None
    assert spec.default_weights == {"a": 1.0, "b": -0.5}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (spec_with(colour="red"), r"unknown key\(s\) \['colour'\]"),
        (
            {k: v for k, v in SCRIPTED_SPEC.items() if k != "reward"},
            r"missing key\(s\) \['reward'\]",
        ),
        (spec_with(id="no-suite"), "must look like 'suite/name'"),
        (
            spec_with(reward={"weights": {"c": 1.0}}),
            "unknown factor in task 'test/Scripted-v0' reward 'c'",
        ),
        (spec_with(reward={"weights": {"a": float("nan")}}), "must be a finite number"),
        (
            spec_with(reward={"formula": "cubic"}),
            "unknown reward formula .* 'cubic'; valid choices: expression, product",
        ),
        (spec_with(factors=[{"name": "a", "sign": 2, "source": {"info": "a"}}]), "sign must be 1"),
        (
            spec_with(factors=[{"name": "a", "sign": 1, "source": {"fn": "nope"}}]),
            "unknown factor function",
        ),
        (
            spec_with(factors=[{"name": "a", "sign": 1, "source": {"fn": "obs_sq"}}]),
            r"missing argument\(s\) \['index'\]",
        ),
        (
            spec_with(
                factors=[{"name": "a", "sign": 1, "source": {"fn": "obs_sq", "args": {"idx": 0}}}]
            ),
            r"unknown argument\(s\) \['idx'\]",
        ),
        (
            spec_with(factors=[{"name": "a", "sign": 1, "source": {"info": "a", "fn": "obs_sq"}}]),
            "exactly one of 'info'",
        ),
        (spec_with(heron={"order": ["a", "z"]}), "order names unknown factor 'z'"),
        (spec_with(heron={"order": ["a"], "sigmas": [-1.0]}), "sigmas positive"),
        (spec_with(horizon=0), "horizon must be a positive integer"),
        (spec_with(potentials={"p": {"fn": "nope"}}), "unknown potential function"),
        ("just a string", "must be a YAML mapping"),
        (spec_with(heron={"order": "ab"}), "order must be a list of strs"),
        (spec_with(heron={"order": ["a", "a"]}), "order repeats a factor"),
        (spec_with(heron={"order": ["a"], "sigmas": ["x"]}), "sigmas must be a number"),
        (
            spec_with(factors=[{"name": "a", "sign": True, "source": {"info": "a"}}]),
            "sign must be 1",
        ),
        (
            spec_with(factors=[{"name": "a", "sign": 1, "source": {"info": "a", "scale": "x"}}]),
            "scale must be a number",
        ),
        (spec_with(reward={"weights": ["a"]}), "weights must be a YAML mapping"),
        (spec_with(reward={"formula": "product", "args": {"of": "ab"}}), "args.of must be a list"),
        (spec_with(reference={"random": "low"}), "reference random must be a number"),
        (spec_with(env={"id": "X-v0", "kwargs": [1]}), "env kwargs must be a YAML mapping"),
        (spec_with(horizon=True), "horizon must be a positive integer"),
        (spec_with(reward={"expression": "a +"}), "reward expression 'a \\+' is malformed"),
        (spec_with(reward={"expression": "a * c"}), "unknown factor in reward expression .* 'c'"),
        (spec_with(reward={"expression": "open(a)"}), "unknown function .* 'open'"),
        (spec_with(reward={"expression": "a.real"}), "'a.real' is not allowed"),
        (spec_with(reward={"expression": "a", "weights": {"a": 1}}), "'expression' stands alone"),
        (spec_with(env={"id": "X-v0", "adapter": "nope"}), "unknown env adapter .* 'nope'"),
        (spec_with(env={"id": "X-v0", "action_repeat": 0}), "action_repeat must be an integer"),
    ],
)
def test_malformed_specs_are_rejected(doc, message):
    with pytest.raises(RewardDesignError, match=message):
        parse_task_spec(doc)


def test_malformed_yaml_file_is_a_spec_error(write_yaml):
    path = write_yaml("id: test/x\nfactors: [unclosed\n", "broken.yaml")
    with pytest.raises(SpecError, match=r"malformed YAML in .*broken\.yaml"):
        rd.task_spec(path)


def test_heron_primary_auxiliary_and_product_formula():
    spec = parse_task_spec(
        spec_with(
            heron={"order": ["b", "a"], "sigmas": [0.5, 1.0]},
            primary={"weights": {"a": 1.0}},
            auxiliary={"cost": {"weights": {"b": -1.0}}},
            potentials={"first": {"fn": "obs_entry", "args": {"index": 0}}},
            success={"info": "done"},
            reference={"random": -1.0, "expert": 10.0, "source": "test"},
        )
    )
    assert spec.heron.order == ("b", "a") and spec.heron.signs == (-1, 1)
    assert spec.heron.sigmas == (0.5, 1.0)
    factors = np.array([[2.0, 3.0], [1.0, 4.0]])
    np.testing.assert_allclose(spec.primary.compute(factors, spec.factor_names), [2.0, 1.0])
    np.testing.assert_allclose(
        spec.auxiliary["cost"].compute(factors, spec.factor_names), [-3.0, -4.0]
    )
    assert spec.potentials["first"](np.array([[7.0]]))[0] == 7.0
    assert spec.reference.expert == 10.0
    product = FORMULAS["product"](factors, spec.factor_names, of=["a", "b"], scale=0.5)
    np.testing.assert_allclose(product, [3.0, 2.0])


def test_every_packaged_spec_declares_references():
    for task in rd.tasks():
        ref = rd.task_spec(task).reference
        assert ref.random is not None and ref.expert is not None and ref.source, task


def test_reward_expression_is_vectorised_and_matches_hand_computation():
    spec = parse_task_spec(
        spec_with(reward={"expression": "(3 * a + b) / 4 * where(b > 0.5, 1, 0) + hamacher(a, b)"})
    )
    factors = np.array([[1.0, 1.0], [0.5, 0.25], [0.0, 0.0]])
    expected = [(3 + 1) / 4 + 1.0, 0.0 + 0.125 / 0.625, 0.0]  # hamacher(0, 0) = 0
    np.testing.assert_allclose(spec.reward.compute(factors, spec.factor_names), expected)
    assert spec.reward.compute(factors[1], spec.factor_names) == pytest.approx(expected[1])
