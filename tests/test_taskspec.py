"""Task-spec validation: every malformed spec fails on load with a message naming the fix."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

import rewarddesign as rd
from rewarddesign.errors import RewardDesignError, SpecError
from rewarddesign.task.check import CHECK_NAMES
from rewarddesign.task.factors import FORMULAS
from rewarddesign.task.parse import parse_task_spec
from tests.conftest import SCRIPTED_SPEC


def spec_with_doc(base, **changes):
    doc = copy.deepcopy(base)
    doc.update(changes)
    return doc


def spec_with(**changes):
    return spec_with_doc(SCRIPTED_SPEC, **changes)


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


# A user's own specs of real envs (the new-user trial of the issue): MuJoCo's
# InvertedDoublePendulum-v5 (9-dim observation) and Reacher-v5 (10-dim).
IDP_SPEC = {
    "id": "my/InvertedDoublePendulum-v5",
    "env": {"id": "InvertedDoublePendulum-v5", "adapter": "float32"},
    "horizon": 1000,
    "factors": [
        {"name": "survive", "sign": 1, "source": {"info": "reward_survive"}},
        {"name": "distance", "sign": -1, "source": {"info": "distance_penalty", "scale": -1.0}},
        {"name": "velocity", "sign": -1, "source": {"info": "velocity_penalty", "scale": -1.0}},
        {"name": "cart_sq", "sign": -1, "source": {"fn": "obs_sq", "args": {"index": 0}}},
    ],
    "reward": {"weights": {"survive": 1.0, "distance": -1.0, "velocity": -1.0}},
}
REACHER_SPEC = {
    "id": "my/Reacher-v5",
    "env": {"id": "Reacher-v5", "adapter": "float32"},
    "factors": [
        {"name": "dist", "sign": -1, "source": {"info": "reward_dist", "scale": -1.0}},
        {"name": "ctrl", "sign": -1, "source": {"info": "reward_ctrl", "scale": -1.0}},
    ],
    "reward": {"weights": {"dist": -1.0, "ctrl": -1.0}},
    "potentials": {"near": {"fn": "neg_distance", "args": {"target": [0, 0], "indices": [8, 9]}}},
}


def test_own_specs_of_real_envs_load_and_pass_every_check(write_yaml):
    for doc in (IDP_SPEC, REACHER_SPEC):
        path = write_yaml(doc, doc["id"].split("/")[1] + ".yaml")
        assert rd.task_spec(path).id == doc["id"]
        results = rd.check_task(path, steps=50)
        assert [r.name for r in results if r.passed] == list(CHECK_NAMES)


def test_a_wrong_reward_formula_is_refused_on_load_with_both_numbers(write_yaml):
    wrong = spec_with_doc(IDP_SPEC, reward={"weights": {"survive": 1.0, "distance": -5.0}})
    with pytest.raises(
        SpecError,
        match=r"'.*idp_wrong\.yaml' \(id 'my/InvertedDoublePendulum-v5'\): its reward formula "
        r"gives 6\.74068 at step 0 .* the env's reward is 9\.33707",
    ):
        rd.task_spec(write_yaml(wrong, "idp_wrong.yaml"))
    # `check` reports it as a failed check instead (the file loads unchecked there)
    results = {r.name: r for r in rd.check_task(write_yaml(wrong, "idp_wrong.yaml"), steps=20)}
    assert not results["reward identity"].passed and results["seeded resets"].passed
    assert "gives 6.74068 at step 0" in results["reward identity"].detail


def test_a_spec_file_is_checked_once_per_content(write_yaml, monkeypatch):
    from rewarddesign.task import check

    calls = []
    real = check.record
    monkeypatch.setattr(check, "record", lambda *a, **k: calls.append(a) or real(*a, **k))
    doc = spec_with_doc(IDP_SPEC, id="my/IDP-once")
    first = write_yaml(doc, "once.yaml")
    rd.task_spec(first)
    rd.task_spec(first)
    rd.task_spec(write_yaml(doc, "same_content.yaml"))
    assert len(calls) == 1
    rd.task_spec(write_yaml(spec_with_doc(doc, horizon=500), "other_content.yaml"))
    assert len(calls) == 2


def test_observation_indices_are_checked_against_the_observation_space(write_yaml):
    factors = [
        *IDP_SPEC["factors"][:3],
        {"name": "far", "sign": -1, "source": {"fn": "obs_sq", "args": {"index": 17}}},
    ]
    with pytest.raises(
        SpecError,
        match=r"factor 'far' \(fn 'obs_sq'\) reads observation index index=17, but the "
        r"observation has 9 entries",
    ):
        rd.make(write_yaml(spec_with_doc(IDP_SPEC, factors=factors), "idp17.yaml"))
    potentials = {"near": {"fn": "neg_distance", "args": {"target": [0, 0], "indices": [8, 10]}}}
    with pytest.raises(
        SpecError,
        match=r"potential 'near' \(fn 'neg_distance'\) reads observation index "
        r"indices=10, but the observation has 10 entries \(indices 0\.\.9\)",
    ):
        rd.make(write_yaml(spec_with_doc(REACHER_SPEC, potentials=potentials), "r10.yaml"))


def test_a_packaged_id_with_other_content_is_refused(write_yaml):
    pendulum = rd.task_spec("classic/Pendulum-v1")

    with open(pendulum.path) as f:
        doc = yaml.safe_load(f)
    copy_path = write_yaml(doc, "pendulum_copy.yaml")
    assert rd.task_spec(copy_path).id == "classic/Pendulum-v1"  # the same task: fine
    assert rd.task_spec(copy_path).path == copy_path
    changed = write_yaml(spec_with_doc(doc, horizon=100), "pendulum_short.yaml")
    with pytest.raises(
        SpecError,
        match=r"task spec '.*pendulum_short\.yaml' declares id 'classic/Pendulum-v1', a "
        r"packaged task's, but its content differs .* rename the id",
    ):
        rd.task_spec(changed)


def test_a_copy_without_the_transition_functions_is_the_packaged_task(write_yaml):
    """Transition functions serve diagnostics only: a copy of a packaged spec made before
    they were declared is the same task, with the same run keys."""
    spec = rd.task_spec("mujoco/HalfCheetah-v5")
    with open(spec.path) as f:
        doc = yaml.safe_load(f)
    for factor in doc["factors"]:
        factor.pop("transition")
    copy = rd.task_spec(write_yaml(doc, "halfcheetah_before.yaml"))
    assert copy.id == spec.id and not copy.transitions and spec.transitions


def test_task_ref_is_the_id_of_a_packaged_task_and_the_path_of_an_own_spec(write_yaml):
    from rewarddesign.task.registry import task_ref

    path = write_yaml(spec_with_doc(IDP_SPEC, id="my/IDP-ref"), "ref.yaml")
    assert task_ref("classic/Pendulum-v1") == "classic/Pendulum-v1"
    assert task_ref(path) == str(Path(path).resolve())
    # once loaded, the id of a spec file resolves in this process (a saved agent's task)
    assert rd.task_spec("my/IDP-ref").path == path


def test_a_relative_spec_path_in_a_grid_is_taken_from_cwd_or_the_grid_folder(tmp_path, monkeypatch):
    from rewarddesign.task.registry import resolve_task_ref

    (tmp_path / "grids").mkdir()
    (tmp_path / "grids" / "mine.yaml").write_text("x: 1\n")
    (tmp_path / "here.yaml").write_text("x: 1\n")
    monkeypatch.chdir(tmp_path)
    grid = tmp_path / "grids" / "grid.yaml"
    assert resolve_task_ref("mine.yaml", grid) == str(tmp_path / "grids" / "mine.yaml")
    assert resolve_task_ref("here.yaml", grid) == "here.yaml"  # the working directory's
    assert resolve_task_ref("classic/Pendulum-v1", grid) == "classic/Pendulum-v1"
    assert resolve_task_ref("nowhere.yaml", grid) == "nowhere.yaml"  # fails on load


def test_a_grid_runs_an_own_spec_beside_it_and_refuses_a_missing_one_at_load(tmp_path):
    from rewarddesign.bench import load_grid, run_key

    (tmp_path / "grids").mkdir()
    spec = tmp_path / "grids" / "idp.yaml"
    spec.write_text(yaml.safe_dump(IDP_SPEC))
    grid = tmp_path / "grids" / "grid.yaml"
    grid.write_text(
        yaml.safe_dump(
            {
                "tasks": ["idp.yaml"],
                "methods": ["true"],
                "cells": [{"task": "idp.yaml", "method": "true", "budget": 300}],
            }
        )
    )
    (run,) = load_grid(grid).runs
    assert (run.spec.task, run.spec.budget) == (str(spec.resolve()), 300)
    # the same spec elsewhere, named by another path: the same run, the same key
    (tmp_path / "copy.yaml").write_text(spec.read_text())
    elsewhere = tmp_path / "grid2.yaml"
    elsewhere.write_text(grid.read_text().replace("idp.yaml", "copy.yaml"))
    (again,) = load_grid(elsewhere).runs
    assert again.spec.task != run.spec.task and run_key(again.spec) == run_key(run.spec)
    grid.write_text(yaml.safe_dump({"tasks": ["nowhere.yaml"], "methods": ["true"]}))
    with pytest.raises(SpecError, match=r"nowhere\.yaml"):
        load_grid(grid)
