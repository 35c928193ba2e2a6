"""What a store or a folder written by an earlier version holds stays valid: run keys of
every packaged grid, and artifacts (a run folder, an expert, a reward model, trajectories,
a labelled dataset) loaded back with identical predictions.

``data/run_keys_before_rooms.json`` and ``data/before_rooms/`` were written by the code
before the Rooms reorganisation (commit a8b6dfd); a change of a run key means a results
store would rerun what it has, so it must be deliberate (and said in RESULTS.md). Since
then the keys changed once on purpose, by the results version (``RESULTS_VERSION``: the
final evaluation is of the saved policy); without it they are still the stored ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import rewarddesign as rd
from rewarddesign.bench import load_grid, run_key
from rewarddesign.bench.keys import RESULTS_VERSION, digest, resolved

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
KEYS = json.loads((DATA / "run_keys_before_rooms.json").read_text())
BEFORE = DATA / "before_rooms"
TASK = "classic/Pendulum-v1"


def _key_without_results_version(spec):
    run = resolved(spec)
    assert run.pop("results") == RESULTS_VERSION
    return digest(run)


@pytest.mark.parametrize("grid_preset", sorted(KEYS))
def test_every_packaged_run_keeps_its_key_but_for_the_results_version(grid_preset):
    path, preset = grid_preset.split("|")
    grid = load_grid(ROOT / path, preset or None)
    got = [
        {
            "task": r.spec.task,
            "method": r.method_label,
            "seed": r.spec.seed,
            "key": _key_without_results_version(r.spec),
        }
        for r in grid.runs
    ]
    assert got == KEYS[grid_preset]
    # the results version is in every key: none of the old keys is reused
    assert RESULTS_VERSION == 2
    new_keys = {run_key(r.spec) for r in grid.runs}
    assert len(new_keys) == len(grid.runs)
    assert not new_keys & {row["key"] for rows in KEYS.values() for row in rows}


def test_every_packaged_grid_and_preset_is_in_the_key_list():
    paths = sorted((ROOT / "benchmarks" / "grids").glob("*.yaml"))
    paths += sorted((ROOT / "benchmarks").glob("*.yaml"))
    for path in paths:
        presets = [None, *(yaml.safe_load(path.read_text()).get("presets") or {})]
        for preset in presets:
            assert f"{path.relative_to(ROOT).as_posix()}|{preset or ''}" in KEYS


def test_artifacts_written_before_load_with_identical_predictions():
    expected = np.load(BEFORE / "expected.npz")
    env = rd.make(TASK)
    traj = rd.preferences.Trajectories.load(BEFORE / "trajectories.npz")
    assert (traj.task, len(traj)) == (TASK, 120)

    model = rd.agents.load(BEFORE / "run" / "model", env, device="cpu")
    np.testing.assert_array_equal(
        model.predict(traj.obs, deterministic=True)[0], expected["actions"]
    )

    reward = rd.models.RewardEnsemble.load(BEFORE / "run" / "reward_model", device="cpu")
    np.testing.assert_array_equal(
        reward.predict(traj.obs, traj.actions, traj.next_obs, traj.factors), expected["reward"]
    )

    expert = BEFORE / "experts" / "classic_Pendulum-v1"
    oracle = rd.preferences.CriticOracle.from_dir(expert, task=TASK)
    data = rd.preferences.PreferenceDataset.load(BEFORE / "dataset.npz")
    assert data.asked == 8
    np.testing.assert_array_equal(data.record().prob, expected["prob"])
    # the regret teacher gives the stored pairs the probabilities it gave them then (in the
    # order they were made: V's sampled actions come from the oracle's seeded generator)
    teacher = rd.preferences.RegretTeacher(oracle, oracle.discount)
    record = teacher.label(data.pairs(), np.random.default_rng(0))
    np.testing.assert_array_equal(record.prob, expected["prob"])
    np.testing.assert_array_equal(oracle.V(traj.obs), expected["V"])
    np.testing.assert_array_equal(oracle.Q(traj.obs, traj.actions), expected["Q"])
