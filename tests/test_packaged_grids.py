"""Every benchmark grid the project ships loads, with each of its presets: a grid whose
task, method or parameter went stale fails here, not an hour into a benchmark."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rewarddesign.bench import load_grid
from rewarddesign.common.files import data_dir, load_yaml
from rewarddesign.errors import ParameterError
from rewarddesign.experiment.runner import validate

ROOT = Path(__file__).resolve().parents[1]
GRIDS = sorted(data_dir("grids").glob("*.yaml")) + sorted((ROOT / "benchmarks").glob("*.yaml"))


@pytest.mark.parametrize("path", GRIDS, ids=lambda p: p.name)
def test_a_packaged_grid_and_its_presets_load(path):
    presets = [None, *(load_yaml(path).get("presets") or {})]
    for preset in presets:
        grid = load_grid(path, preset)
        assert grid.runs, (path.name, preset)
        for run in grid.runs:
            validate(run.spec)  # the method's parameters against its task and agent


def test_the_barfi_grid_has_the_issues_seeds_and_baselines():
    grid = load_grid(ROOT / "benchmarks" / "barfi.yaml")
    seeds: dict[tuple[str, str], set[int]] = {}
    for run in grid.runs:
        seeds.setdefault((run.spec.task, run.method_label), set()).add(run.spec.seed)
    assert len(seeds["barfi/CartPole", "barfi-harmful"]) == 10
    assert len(seeds["barfi/GridWorld", "shaping-harmful"]) == 10
    assert len(seeds["barfi/MountainCar-sparse", "first-order-helpful"]) == 5
    # shaping only where the aux is a function of the state
    assert not any(
        label.startswith("shaping") and task != "barfi/GridWorld" for task, label in seeds
    )


@pytest.mark.parametrize("path", GRIDS, ids=lambda p: p.name)
def test_seeds_1_shrinks_every_packaged_grid_to_a_subset_of_its_runs(path):
    full, one = load_grid(path), load_grid(path, seeds=1)
    assert {r.spec.seed for r in one.runs} == {min(r.spec.seed for r in full.runs)}
    assert set(one.runs) <= set(full.runs)  # the same runs: their results count for the grid
    assert {(r.spec.task, r.method_label) for r in one.runs} == {
        (r.spec.task, r.method_label) for r in full.runs
    }


def test_budget_replaces_every_budget_and_no_schedule(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "seeds": [3, 5],
                "budget": 4000,
                "agent": "sac",
                "eval": {"every": 500},
                "tasks": [{"task": "classic/Pendulum-v1", "budget": 9000}],
                "methods": [
                    "true",
                    {
                        "method": "pbrl",
                        "label": "p",
                        "budget": 7000,
                        "params": {"interval": 800, "seed_steps": 200},
                    },
                ],
                "cells": [{"task": "classic/Pendulum-v1", "method": "p", "budget": 8000}],
            }
        )
    )
    grid = load_grid(path, seeds=4, budget=1000)
    assert [(r.method_label, r.spec.seed, r.spec.budget) for r in grid.runs] == [
        (label, seed, 1000) for label in ("true", "p") for seed in (3, 5, 6, 7)
    ]  # 4 seeds: the grid's two, continued after the largest
    assert {r.spec.eval.every for r in grid.runs} == {500}
    assert {r.spec.method_params["interval"] for r in grid.runs if r.method_label == "p"} == {800}


@pytest.mark.parametrize(
    ("grid", "budget", "message"),
    [
        (
            "pbrl_pendulum",
            2000,
            "run 'classic/Pendulum-v1' x 'true' seed 0: --budget 2000 is shorter than its "
            "evaluation interval 3000; it needs a budget of at least 3000. Schedules are not "
            "rescaled by --budget; the grid's smoke preset is sized for short runs: "
            "--preset smoke.",
        ),
        (
            "quick",
            500,
            "interval 1000; it needs a budget of at least 1000. Schedules are not rescaled by "
            "--budget; this grid has no smoke preset; raise --budget.",
        ),
    ],
)
def test_a_budget_shorter_than_a_schedule_is_refused_naming_the_smoke_preset(grid, budget, message):
    with pytest.raises(ParameterError) as info:
        load_grid(grid, budget=budget)
    assert str(info.value).endswith(message)


def test_a_budget_that_ends_before_the_agent_learns_or_a_rollout_is_refused(tmp_path):
    doc = {
        "seeds": 1,
        "agent": "sac",
        "agent_overrides": {"learning_starts": 500},
        "eval": {"every": 100},
        "tasks": ["classic/Pendulum-v1"],
        "methods": ["true"],
        "presets": {"smoke": {"budget": 1000}},
    }
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(
        ParameterError,
        match=r"--budget 500 ends before its agent learns "
        r"\(learning_starts 500\); it needs a budget of at least 501",
    ):
        load_grid(path, budget=500)
    with pytest.raises(ParameterError, match="smoke preset's own budgets fit: drop --budget"):
        load_grid(path, "smoke", budget=400)
    assert {r.spec.budget for r in load_grid(path, budget=501).runs} == {501}
    ppo = {**doc, "agent": "ppo", "agent_overrides": {"n_steps": 64}}
    path.write_text(yaml.safe_dump(ppo))
    with pytest.raises(
        ParameterError,
        match=r"--budget 100 is refused: budget 100 is less than "
        r"one PPO rollout .*--preset smoke",
    ):
        load_grid(path, budget=100)


@pytest.mark.parametrize(
    ("seeds", "budget", "message"),
    [
        (0, None, "--seeds must be an integer >= 1, got 0."),
        (True, None, "--seeds must be an integer >= 1, got True."),
        (None, 0, "--budget must be an integer >= 1, got 0."),
        (None, 2.5, "--budget must be an integer >= 1, got 2.5."),
    ],
)
def test_bad_overrides_are_refused(seeds, budget, message):
    with pytest.raises(ParameterError) as info:
        load_grid("quick", seeds=seeds, budget=budget)
    assert str(info.value) == message


def test_a_budget_before_the_first_feedback_session_is_refused(tmp_path):
    path = tmp_path / "g.yaml"
    params = {"labels": 20, "queries": 10, "seed_steps": 600, "pretrain_steps": 200}
    doc = {
        "agent": "sac",
        "eval": {"every": 100},
        "tasks": ["classic/Pendulum-v1"],
        "methods": [{"method": "pbrl", "params": params}],
    }
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ParameterError) as info:
        load_grid(path, budget=800)
    assert "--budget 800 is refused: method 'pbrl' needs a budget of at least 801 env steps" in str(
        info.value
    )
    assert [r.spec.budget for r in load_grid(path, budget=801).runs] == [801]
