"""`rewarddesign bench` from the command line: progress lines in a log, --quiet, --dry-run,
--seeds, --budget and --save-runs."""

from __future__ import annotations

import re

from rewarddesign.bench import ResultsStore, load_grid, run_key
from rewarddesign.cli.main import main
from rewarddesign.common.progress import duration
from rewarddesign.preferences import PreferenceDataset
from tests.conftest import SHORT_GRID

LINE = re.compile(
    r"^g: (\d)/2 runs finished \| done (\d) \| skipped 0 \| running (\d) \| failed 0 "
    r"\| remaining (\d) \| ETA (\S+) \| elapsed \d+s$",
    re.MULTILINE,
)


def test_a_log_gets_progress_lines_and_quiet_turns_them_off(tmp_path, write_yaml, capsys):
    grid = write_yaml(SHORT_GRID | {"name": "g"}, "g.yaml")
    args = ["bench", grid, "--workers", "1", "--progress-every", "0.05"]
    assert main([*args, "--store", str(tmp_path / "a.sqlite")]) == 0
    lines = LINE.findall(capsys.readouterr().out)  # captured: stdout is not a terminal
    assert len(lines) >= 3  # a run takes longer than a few intervals
    assert ("0", "0", "1", "2", "unknown") in lines  # the first run in flight
    assert lines[-1] == ("2", "2", "0", "0", "0s")  # the last line, when the grid ends
    assert main([*args, "--store", str(tmp_path / "b.sqlite"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert LINE.findall(out) == [] and "2 complete runs" in out


def test_dry_run_lists_runs_keys_what_is_complete_and_the_time_left(tmp_path, write_yaml, capsys):
    path = write_yaml(SHORT_GRID | {"name": "g", "seeds": [0, 1, 2]}, "g.yaml")
    store = tmp_path / "s.sqlite"
    dry = ["bench", path, "--store", str(store), "--workers", "1", "--dry-run"]
    assert main(dry) == 0
    out = capsys.readouterr().out
    keys = [run_key(r.spec) for r in load_grid(path).runs]
    assert all(key in out for key in keys) and not store.exists()  # nothing created
    assert "3 runs: 0 complete and skipped, 3 to run; time left unknown" in out

    assert main(["bench", path, "--store", str(store), "--workers", "1", "--seeds", "1"]) == 0
    capsys.readouterr()
    assert main(dry) == 0
    out = capsys.readouterr().out
    db = ResultsStore(store)
    ((wall,),) = db._db.execute("SELECT wall_time FROM runs").fetchall()
    each = duration(wall)  # same task, method and budget: the median time per step x budget
    assert re.search(rf"{keys[0]} │ complete, skipped │ +- │", out)
    assert re.search(rf"{keys[1]} │ - +│ +{each} │", out)
    assert (
        f"3 runs: 1 complete and skipped, 2 to run; time left about {duration(2 * wall)} "
        "with 1 worker(s)" in out
    )
    assert db._db.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)  # ran nothing


def test_budget_and_seeds_from_the_command_line(tmp_path, write_yaml, capsys):
    doc = SHORT_GRID | {"name": "g", "presets": {"smoke": {"seeds": 1}}}
    path = write_yaml(doc, "g.yaml")
    store = str(tmp_path / "s.sqlite")
    assert main(["bench", path, "--store", store, "--budget", "64", "--dry-run"]) == 2
    message = " ".join(capsys.readouterr().out.split())  # one message, wrapped to the width
    assert message.startswith("error: grid ") and message.count("error:") == 1
    assert "--budget 64 is shorter than its evaluation interval 128" in message
    assert message.endswith("the grid's smoke preset is sized for short runs: --preset smoke.")
    args = ["bench", path, "--store", store, "--seeds", "1", "--budget", "256", "--dry-run"]
    assert main(args) == 0
    assert "1 runs: 0 complete and skipped, 1 to run" in capsys.readouterr().out


def test_save_runs_keeps_each_runs_folder_with_its_feedback_sessions(tmp_path, write_yaml):
    pbrl = {
        "method": "pbrl",
        "params": {"labels": 20, "queries": 10, "interval": 200, "seed_steps": 200},
    }
    grid = {
        "name": "s",
        "seeds": [0],
        "budget": 600,
        "agent": "sac",
        "agent_preset": "fast",
        "eval": {"every": 600, "episodes": 1},
        "tasks": ["classic/Pendulum-v1"],
        "methods": [{**pbrl, "params": {**pbrl["params"], "segment": 20, "hidden": [16]}}],
    }
    path, store, runs = write_yaml(grid, "s.yaml"), tmp_path / "s.sqlite", tmp_path / "runs"
    args = ["bench", path, "--store", str(store), "--workers", "1", "--quiet"]
    assert main([*args, "--save-runs", str(runs)]) == 0
    (key,) = [run_key(r.spec) for r in load_grid(path).runs]
    folder = runs / key
    assert sorted(p.name for p in folder.iterdir()) == [
        "model",
        "result.json",
        "reward_model",
        "sessions",
    ]
    # sessions at steps 200 and 400 (10 labels each), each with the labels so far
    assert sorted(p.name for p in (folder / "sessions").iterdir()) == ["001", "002"]
    assert len(PreferenceDataset.load(folder / "sessions" / "002" / "labels.npz")) == 20
    (tmp_path / "file").write_text("x")
    assert main([*args, "--save-runs", str(tmp_path / "file")]) == 2  # refused up front
