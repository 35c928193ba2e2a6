"""Every benchmark grid the project ships loads, with each of its presets: a grid whose
task, method or parameter went stale fails here, not an hour into a benchmark."""

from __future__ import annotations

from pathlib import Path

import pytest

from rewarddesign.bench import load_grid
from rewarddesign.common.files import data_dir, load_yaml
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
