"""The `rewarddesign` command: help, tasks, train, bench, and clear errors (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rewarddesign.bench import load_grid
from rewarddesign.cli import main
from rewarddesign.errors import SpecError, UnknownNameError
from tests.conftest import SHORT_GRID


def test_help_of_every_subcommand(capsys):
    for argv in (["--help"], ["tasks", "--help"], ["train", "--help"], ["bench", "--help"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
    assert "packaged grid name" in capsys.readouterr().out


def test_module_entry_point_lists_tasks():
    out = subprocess.run(
        [sys.executable, "-m", "rewarddesign.cli", "tasks"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout
    assert "mujoco/HalfCheetah-v5" in out and "forward(+)" in out


def test_tasks_lists_factors(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "classic/Pendulum-v1" in out and "theta_sq(-)" in out


def test_train_saves_model_and_result(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "classic/CartPole-v1",
            "--agent",
            "ppo",
            "--budget",
            "512",
            "--preset",
            "fast",
            "--agent-param",
            "n_steps=64",
            "--eval-episodes",
            "1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert "final true return" in capsys.readouterr().out
    result = json.loads((out / "result.json").read_text())
    assert result["spec"]["agent_overrides"] == {"n_steps": 64}
    assert (out / "model" / "policy.pt").is_file()


def test_bench_runs_a_two_run_grid_into_a_store_and_skips_it_next_time(
    tmp_path, write_yaml, capsys
):
    grid = write_yaml(SHORT_GRID, "two.yaml")
    store = str(tmp_path / "results.sqlite")
    assert main(["bench", grid, "--store", store, "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "classic/CartPole-v1" in out and "2 complete runs" in out
    assert "IQM [95% stratified bootstrap CI]" in out
    assert main(["bench", grid, "--store", store, "--workers", "1"]) == 0
    assert "skipped 2" in capsys.readouterr().out
    assert (
        main(["report", store, "--grid", grid, "--out", str(tmp_path / "rep"), "--reps", "100"])
        == 0
    )
    assert "| classic/CartPole-v1 | true | 2 |" in (tmp_path / "rep" / "report.md").read_text()


def test_bench_bad_input_exits_2_before_running(tmp_path, write_yaml, capsys):
    grid = write_yaml(SHORT_GRID | {"tasks": ["classic/Nope-v0"]}, "bad.yaml")
    assert main(["bench", grid, "--store", str(tmp_path / "s.sqlite")]) == 2
    assert "unknown task 'classic/Nope-v0'" in capsys.readouterr().out
    assert (
        main(["bench", write_yaml(SHORT_GRID), "--store", str(tmp_path / "no" / "s.sqlite")]) == 2
    )
    assert "does not exist" in capsys.readouterr().out


def test_report_of_a_store_with_two_grids_needs_grid(tmp_path, write_yaml, capsys):
    store = str(tmp_path / "s.sqlite")
    one = SHORT_GRID | {"seeds": [0]}
    main(["bench", write_yaml(one, "a.yaml"), "--store", store, "--workers", "1"])
    main(
        [
            "bench",
            write_yaml(one | {"name": "other", "budget": 512}, "b.yaml"),
            "--store",
            store,
            "--workers",
            "1",
        ]
    )
    capsys.readouterr()
    assert main(["report", store, "--reps", "10"]) == 2
    assert "holds runs of several grids" in capsys.readouterr().out
    assert (
        main(
            [
                "report",
                store,
                "--grid",
                write_yaml(one, "a.yaml"),
                "--reps",
                "10",
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    table = (tmp_path / "r" / "report.md").read_text()
    assert "| classic/CartPole-v1 | true | 1 |" in table and "n/a" in table  # one seed: no CI


def test_quick_grid_expands_to_valid_runs():
    grid = load_grid("quick")
    assert len(grid.runs) == 18
    cells = {(r.spec.task, r.method_label) for r in grid.runs}
    assert cells == {
        ("classic/Pendulum-v1", "true"),
        ("classic/Pendulum-v1", "pbrl-100"),
        ("classic/Pendulum-v1", "heron"),
        ("classic/Pendulum-v1", "true-sbx-sac"),
        ("classic/MountainCarContinuous-sparse-v0", "true"),
        ("classic/MountainCarContinuous-sparse-v0", "shaped-energy"),
    }
    assert all(r.spec.budget == 6000 for r in grid.runs)
    agents = {r.method_label: r.spec.agent for r in grid.runs}
    assert agents.pop("true-sbx-sac") == "sbx-sac" and set(agents.values()) == {"sac"}


def test_grid_per_task_and_per_method_overrides(write_yaml):
    grid = load_grid(
        write_yaml(
            {
                "seeds": 2,
                "budget": 100,
                "agent": "sac",
                "tasks": [
                    "classic/Pendulum-v1",
                    {"task": "classic/CartPole-v1", "agent": "ppo", "budget": 300, "seeds": [7]},
                ],
                "methods": [
                    "true",
                    {
                        "method": "blend",
                        "label": "b",
                        "params": {"weights": {"alive": 1}},
                        "budget": 50,
                    },
                ],
            }
        )
    )
    specs = [
        (r.spec.task, r.method_label, r.spec.agent, r.spec.budget, r.spec.seed) for r in grid.runs
    ]
    assert specs[:2] == [
        ("classic/Pendulum-v1", "true", "sac", 100, 0),
        ("classic/Pendulum-v1", "true", "sac", 100, 1),
    ]
    # the task's own seeds replace the grid's
    assert [s for s in specs if s[0] == "classic/CartPole-v1"] == [
        ("classic/CartPole-v1", "true", "ppo", 300, 7),
        ("classic/CartPole-v1", "b", "ppo", 50, 7),
    ]


@pytest.mark.parametrize(
    ("doc", "error", "message"),
    [
        ({"tasks": ["classic/Pendulum-v1"], "methods": [True]}, SpecError, "YAML boolean; quote"),
        ({"tasks": ["classic/Pendulum-v1"]}, SpecError, r"missing key\(s\) \['methods'\]"),
        ({"tasks": [], "methods": ["true"]}, SpecError, "tasks must be a non-empty list"),
        ({"tasks": ["classic/Pendulum-v1"], "methods": ["true"], "sedes": [1]}, SpecError, "sedes"),
        (
            {"tasks": ["classic/Pendulum-v1"], "methods": ["true", "true"]},
            SpecError,
            "duplicate method labels",
        ),
        ({"tasks": ["classic/Pendulum-v1"], "methods": ["true"], "budget": 0}, Exception, "budget"),
        ({"tasks": ["classic/Pendulum-v1"], "methods": ["true"], "seeds": 0}, SpecError, "seeds"),
        (
            {"tasks": [{"task": "classic/Pendulum-v1", "seeds": -2}], "methods": ["true"]},
            SpecError,
            "task 'classic/Pendulum-v1' seeds must be",
        ),
        (
            {"tasks": [{"task": "classic/Pendulum-v1", "eval": {"evry": 1}}], "methods": ["true"]},
            SpecError,
            "evry",
        ),
        (
            {"tasks": ["classic/Pendulum-v1"], "methods": [{"method": "blend", "params": [1]}]},
            SpecError,
            "params must be a YAML mapping",
        ),
        (
            {"tasks": ["classic/Pendulum-v1"], "methods": ["true"], "agent_overrides": [1]},
            SpecError,
            "agent_overrides must be a YAML mapping",
        ),
    ],
)
def test_malformed_grids_are_rejected(write_yaml, doc, error, message):
    with pytest.raises(error, match=message):
        load_grid(write_yaml(doc))


def test_grid_cells_and_presets(write_yaml):
    doc = {
        "seeds": [0, 1],
        "budget": 100,
        "agent": "sac",
        "tasks": ["classic/Pendulum-v1", "classic/MountainCarContinuous-v0"],
        "methods": [
            "true",
            {"method": "blend", "label": "b", "params": {"weights": {"u_sq": -1.0}}},
        ],
        "cells": [
            {
                "task": "classic/Pendulum-v1",
                "method": "b",
                "budget": 300,
                "params": {"weights": {"theta_sq": -2.0}},
            }
        ],
        "presets": {"smoke": {"seeds": 1, "budget": 50}},
    }
    grid = load_grid(write_yaml(doc))
    budgets = {(r.spec.task, r.method_label): r.spec.budget for r in grid.runs}
    assert budgets[("classic/Pendulum-v1", "b")] == 300
    params = {(r.spec.task, r.method_label): r.spec.method_params for r in grid.runs}
    assert params[("classic/Pendulum-v1", "b")] == {"weights": {"theta_sq": -2.0}}
    assert params[("classic/MountainCarContinuous-v0", "b")] == {"weights": {"u_sq": -1.0}}
    assert budgets[("classic/Pendulum-v1", "true")] == 100
    assert budgets[("classic/MountainCarContinuous-v0", "b")] == 100
    smoke = load_grid(write_yaml(doc), preset="smoke")
    assert len(smoke.runs) == 4 and smoke.runs[0].spec.budget == 50
    assert smoke.runs[1].spec.budget == 300  # the cell still wins
    with pytest.raises(
        UnknownNameError, match=r"unknown preset of grid .* .huge.; valid choices: smoke"
    ):
        load_grid(write_yaml(doc), preset="huge")
    bad_cell = doc | {"cells": [{"task": "classic/Pendulum-v1", "method": "zzz"}]}
    with pytest.raises(SpecError, match="matches no task x method"):
        load_grid(write_yaml(bad_cell))


def test_task_entry_can_run_a_subset_of_the_methods(write_yaml):
    doc = {
        "seeds": 1,
        "budget": 100,
        "tasks": [
            "classic/Pendulum-v1",
            {"task": "classic/MountainCarContinuous-sparse-v0", "methods": ["true", "s"]},
        ],
        "methods": [
            "true",
            {"method": "blend", "label": "b", "params": {"weights": {"u_sq": 1}}},
            {"method": "shaping", "label": "s"},
        ],
    }
    cells = [(r.spec.task.split("/")[1], r.method_label) for r in load_grid(write_yaml(doc)).runs]
    assert cells == [
        ("Pendulum-v1", "true"),
        ("Pendulum-v1", "b"),
        ("Pendulum-v1", "s"),
        ("MountainCarContinuous-sparse-v0", "true"),
        ("MountainCarContinuous-sparse-v0", "s"),
    ]
    doc["tasks"][1]["methods"] = ["shaping"]  # a method name that is no label here
    with pytest.raises(SpecError, match=r"methods \['shaping'\] must be a non-empty list of"):
        load_grid(write_yaml(doc))


def test_task_eval_refines_grid_eval(write_yaml):
    grid = load_grid(
        write_yaml(
            {
                "budget": 100,
                "eval": {"every": 10, "episodes": 3},
                "tasks": [{"task": "classic/Pendulum-v1", "eval": {"episodes": 1}}],
                "methods": ["true"],
            }
        )
    )
    assert (grid.runs[0].spec.eval.every, grid.runs[0].spec.eval.episodes) == (10, 1)


def test_unknown_grid_name_lists_packaged_grids():
    with pytest.raises(UnknownNameError, match=r"unknown grid 'quik'; valid choices: .*quick"):
        load_grid("quik")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "classic/Nope-v0"], "unknown task 'classic/Nope-v0'"),
        (["train", "classic/Pendulum-v1", "--budget", "-1"], "budget must be an integer >= 1"),
        (["train", "classic/Pendulum-v1", "--method", "magic"], "unknown method 'magic'"),
        (["train", "classic/Pendulum-v1", "--param", "novalue"], "expects KEY=VALUE"),
        (["bench", "no/such/grid.yaml"], "does not exist"),
    ],
)
def test_bad_cli_input_exits_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    out = capsys.readouterr().out
    assert message in out and "Traceback" not in out


def test_malformed_grid_yaml_file(write_yaml, capsys):
    assert main(["bench", write_yaml("tasks: [a\n", "bad.yaml")]) == 2
    assert "malformed YAML" in capsys.readouterr().out


def test_listing_tasks_does_not_import_torch():
    """The package imports lazily: the CLI's cheap commands start fast."""
    probe = "import sys, rewarddesign as rd; rd.tasks(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
