"""Results store and driver: resumable after kill -9, failures recorded, bad input early."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
import yaml

from rewarddesign.bench import (
    LocalProcessExecutor,
    ResultsStore,
    SequentialExecutor,
    Started,
    grid_results,
    load_grid,
    run_grid,
    run_key,
)
from rewarddesign.errors import SpecError, UnknownNameError
from tests.conftest import SCRIPTED_SPEC, SHORT_GRID


def assert_no_process_left(group: int, within: float = 10.0) -> None:
    """Fail (after killing them) if processes of ``group`` are still alive after ``within`` s."""
    deadline = time.time() + within
    while time.time() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    pytest.fail("worker processes outlived the driver")


def grid_file(write_yaml, **changes):
    return write_yaml({**SHORT_GRID, "name": "g", **changes})


def test_failed_run_is_recorded_and_the_grid_goes_on(tmp_path, write_yaml, monkeypatch):
    grid = load_grid(grid_file(write_yaml, seeds=[0, 1, 2]))
    store = ResultsStore(tmp_path / "s.sqlite")
    bad_key = run_key(grid.runs[1].spec)

    import rewarddesign.bench.executors as executors

    real = executors.run_spec_json

    def flaky(key, spec_json, device, save_runs=None):
        if key == bad_key:
            return real(key, spec_json.replace('"budget": 256', '"budget": -1'), device)
        return real(key, spec_json, device)

    monkeypatch.setattr(executors, "run_spec_json", flaky)
    results = run_grid(grid, store, SequentialExecutor("cpu"))
    assert len(results) == 2
    ((key, error, tb),) = store.failures()
    assert key == bad_key and "budget must be an integer" in error and "Traceback" in tb
    monkeypatch.setattr(executors, "run_spec_json", real)
    assert len(run_grid(grid, store, SequentialExecutor("cpu"))) == 3  # the failed run reruns


def test_force_reruns_complete_runs(tmp_path, write_yaml):
    grid = load_grid(grid_file(write_yaml, seeds=[0]))
    store = ResultsStore(tmp_path / "s.sqlite")
    run_grid(grid, store, SequentialExecutor("cpu"))
    run_grid(grid, store, SequentialExecutor("cpu"), force=True)
    attempts = store._db.execute("SELECT attempts FROM runs").fetchall()
    assert attempts == [(2,)]


def test_process_pool_gives_the_same_results_as_in_process(tmp_path, write_yaml):
    grid = load_grid(grid_file(write_yaml))
    a = run_grid(grid, ResultsStore(tmp_path / "a.sqlite"), SequentialExecutor("cpu"))
    b = run_grid(grid, ResultsStore(tmp_path / "b.sqlite"), LocalProcessExecutor(2, "cpu"))
    assert [r.curve for _, r in a] == [r.curve for _, r in b]


def test_resume_after_kill_9_completes_every_run_exactly_once(tmp_path, write_yaml):
    # 12 short runs and a fast poll: on a quiet machine a run takes a third of a second
    grid_path = grid_file(write_yaml, seeds=list(range(12)))
    store_path = tmp_path / "resume.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "rewarddesign.cli",
        "bench",
        grid_path,
        "--store",
        str(store_path),
        "--workers",
        "2",
        "--device",
        "cpu",
    ]
    driver = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    done_before: dict[str, str] = {}
    deadline = time.time() + 240
    while time.time() < deadline and not done_before:
        time.sleep(0.05)
        if store_path.exists():
            try:
                with sqlite3.connect(store_path) as db:
                    rows = db.execute("SELECT key, result FROM runs WHERE status='done'").fetchall()
            except sqlite3.OperationalError:
                continue  # tables not created yet
            done_before = dict(rows)
    assert done_before, "no run finished before the deadline"
    os.kill(driver.pid, signal.SIGKILL)  # the driver only
    driver.wait()
    assert_no_process_left(driver.pid)  # its workers die with it (parent-death signal)

    with sqlite3.connect(store_path) as db:
        statuses = dict(db.execute("SELECT key, status FROM runs").fetchall())
    assert len(done_before) < 12, "the kill came too late to test a resume"
    assert set(statuses.values()) <= {"done", "running"}

    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    store = ResultsStore(store_path)
    assert store.integrity_check() == "ok"
    rows = store._db.execute("SELECT key, status, attempts, result FROM runs").fetchall()
    grid = load_grid(grid_path)
    assert sorted(k for k, *_ in rows) == sorted(run_key(r.spec) for r in grid.runs)
    assert all(status == "done" for _, status, _, _ in rows)
    for key, _, attempts, result in rows:
        if key in done_before:
            assert attempts == 1 and result == done_before[key]  # finished results untouched


def test_a_rerun_keeps_the_previous_result_until_replaced(tmp_path, write_yaml):
    grid = load_grid(grid_file(write_yaml, seeds=[0]))
    store = ResultsStore(tmp_path / "s.sqlite")
    ((_, first),) = run_grid(grid, store, SequentialExecutor("cpu"))
    key = run_key(grid.runs[0].spec)
    store.mark_running(key, "g", "true", grid.runs[0].spec)  # as --force does
    row = store._db.execute("SELECT status, result FROM runs WHERE key = ?", (key,)).fetchone()
    assert row == ("done", first.to_json())  # a kill now would lose nothing
    assert store.results() == [("true", first)]  # and report still shows it


def test_duplicate_task_entries_are_rejected(write_yaml):
    with pytest.raises(SpecError, match="lists a task twice"):
        load_grid(grid_file(write_yaml, tasks=["classic/CartPole-v1", "classic/CartPole-v1"]))


def test_bad_store_paths_fail_before_any_run(tmp_path, write_yaml):
    with pytest.raises(SpecError, match="does not exist; create it"):
        ResultsStore(tmp_path / "missing" / "s.sqlite")
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not a database" * 100)
    with pytest.raises(SpecError, match="not a usable SQLite database"):
        ResultsStore(corrupt)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"tasks": ["classic/Nope-v0"]}, UnknownNameError, "unknown task 'classic/Nope-v0'"),
        ({"methods": ["magic"]}, UnknownNameError, "unknown method 'magic'"),
        ({"agent": "dqn"}, UnknownNameError, "unknown agent for method 'true' 'dqn'"),
        (
            {"methods": [{"method": "true", "params": {"gain": 2}}]},
            UnknownNameError,
            "parameter of method 'true'",
        ),
    ],
)
def test_bad_grid_fails_before_any_run(tmp_path, write_yaml, changes, error, message):
    store = ResultsStore(tmp_path / "s.sqlite")
    with pytest.raises(error, match=message):
        run_grid(load_grid(grid_file(write_yaml, **changes)), store, SequentialExecutor("cpu"))
    assert store._db.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)


def test_zero_seeds_is_rejected(write_yaml):
    with pytest.raises(SpecError, match="seeds"):
        load_grid(grid_file(write_yaml, seeds=[]))


def test_ctrl_c_stops_the_grid_cleanly(tmp_path, write_yaml):
    grid_path = grid_file(write_yaml, seeds=4, budget=4096, agent_overrides={})
    store_path = tmp_path / "interrupted.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "rewarddesign.cli",
        "bench",
        grid_path,
        "--store",
        str(store_path),
        "--workers",
        "2",
        "--device",
        "cpu",
    ]
    # A terminal's Ctrl-C: SIGINT to the whole process group (default disposition, even
    # if this test itself runs with SIGINT ignored).
    driver = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    while time.time() < deadline and not store_path.exists():
        time.sleep(0.2)
    time.sleep(3)  # workers started and running
    os.killpg(driver.pid, signal.SIGINT)
    out, _ = driver.communicate(timeout=60)
    assert driver.returncode == 130 and "interrupted" in out
    assert_no_process_left(driver.pid)
    store = ResultsStore(store_path)
    assert store.integrity_check() == "ok"
    statuses = {s for (s,) in store._db.execute("SELECT status FROM runs")}
    assert statuses <= {"running", "done"}  # unfinished runs rerun next time


def test_a_worker_that_dies_is_recorded_as_a_failure(tmp_path, write_yaml, monkeypatch):
    # A module that kills any worker process importing it (the driver imports it safely).
    (tmp_path / "crash_in_worker.py").write_text(
        "import multiprocessing, os\n"
        "if multiprocessing.parent_process() is not None:\n"
        "    os._exit(3)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))  # spawned workers inherit sys.path
    spec = yaml.safe_load(yaml.safe_dump(SCRIPTED_SPEC))
    spec["env"]["module"] = "crash_in_worker"
    task = write_yaml(spec, "crash.yaml")
    grid = load_grid(
        write_yaml(
            {
                "name": "crash",
                "seeds": [0],
                "budget": 10,
                "agent": "sac",
                "tasks": [task],
                "methods": ["true"],
            }
        )
    )
    store = ResultsStore(tmp_path / "s.sqlite")
    assert run_grid(grid, store, LocalProcessExecutor(1, "cpu")) == []
    ((_, error, _),) = store.failures()
    assert "BrokenProcessPool" in error


def test_run_key_follows_the_methods_default_parameters(monkeypatch):
    """A changed default of a method gives new keys (old results are not reused)."""
    import dataclasses

    from rewarddesign.contract.runspec import RunSpec
    from rewarddesign.methods.pbrl import Pbrl, PbrlParams

    spec = RunSpec(task="classic/Pendulum-v1", method="pbrl", agent="sac", seed=0)
    before = run_key(spec)
    changed = dataclasses.make_dataclass(
        "P", [("labels", int, 300)], bases=(PbrlParams,), frozen=True
    )
    monkeypatch.setattr(Pbrl, "Params", changed)
    assert run_key(spec) != before


class StopsAfterFirstStart:
    """The in-process executor, stopped dead (as by kill -9) once it started one run."""

    workers = 1

    def run(self, jobs):
        for event in SequentialExecutor("cpu").run(jobs):
            yield event
            if isinstance(event, Started):
                raise KeyboardInterrupt  # the driver dies with the run in flight


def store_rows(store):
    rows = store._db.execute("SELECT key, status, attempts, result FROM runs").fetchall()
    return {key: (status, attempts, result) for key, status, attempts, result in rows}


def test_an_interrupted_force_keeps_every_result_complete(tmp_path, write_yaml):
    grid = load_grid(grid_file(write_yaml, seeds=[0, 1, 2]))
    store = ResultsStore(tmp_path / "s.sqlite")
    before = run_grid(grid, store, SequentialExecutor("cpu"))
    rows = store_rows(store)
    with pytest.raises(KeyboardInterrupt):
        run_grid(grid, store, StopsAfterFirstStart(), force=True)
    first, *queued = (run_key(r.spec) for r in grid.runs)
    after = store_rows(store)
    assert after[first] == ("done", 2, rows[first][2])  # started: one more attempt, old result
    assert {k: after[k] for k in queued} == {k: rows[k] for k in queued}  # queued: untouched
    assert grid_results(grid, store) == before == [(label, r) for label, r in store.results()]
    started = []

    class Records(SequentialExecutor):
        def run(self, jobs):
            started.extend(k for k, _ in jobs)
            return super().run(jobs)

    assert run_grid(grid, store, Records("cpu")) == before and started == []  # nothing reruns


def test_kill_9_during_force_leaves_the_old_results_reported(tmp_path, write_yaml):
    grid_path = grid_file(write_yaml, seeds=[0, 1])
    grid = load_grid(grid_path)
    store_path = tmp_path / "force.sqlite"
    store = ResultsStore(store_path)
    run_grid(grid, store, SequentialExecutor("cpu"))
    rows = store_rows(store)
    store.close()
    cmd = [sys.executable, "-m", "rewarddesign.cli", "bench", grid_path, "--store"]
    cmd += [str(store_path), "--workers", "1", "--device", "cpu", "--force"]
    driver = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, attempts = time.time() + 120, {}
    while time.time() < deadline and 2 not in attempts.values():
        time.sleep(0.02)
        with sqlite3.connect(store_path) as db:
            attempts = dict(db.execute("SELECT key, attempts FROM runs").fetchall())
    os.kill(driver.pid, signal.SIGKILL)  # the first forced run is in flight
    driver.wait()
    assert sorted(attempts.values()) == [1, 2], "the kill came too late"
    store = ResultsStore(store_path)
    after = store_rows(store)
    assert {status for status, _, _ in after.values()} == {"done"}
    assert len(store.results()) == 2 and len(grid_results(grid, store)) == 2
    for key, (_, tries, result) in after.items():
        if tries == 1:  # the queued run: not marked running, not charged an attempt
            assert result == rows[key][2]


def test_a_forced_rerun_that_fails_keeps_the_old_result(tmp_path, write_yaml, monkeypatch):
    grid = load_grid(grid_file(write_yaml, seeds=[0]))
    store = ResultsStore(tmp_path / "s.sqlite")
    before = run_grid(grid, store, SequentialExecutor("cpu"))
    import rewarddesign.bench.executors as executors

    monkeypatch.setattr(
        executors, "run_spec_json", lambda key, *_: {"key": key, "error": "E", "traceback": "T"}
    )
    assert run_grid(grid, store, SequentialExecutor("cpu"), force=True) == before
    (row,) = store._db.execute("SELECT status, attempts, error, traceback FROM runs").fetchall()
    assert row == ("done", 2, "E", "T")
    assert store.failures() == [(run_key(grid.runs[0].spec), "E", "T")]  # shown, old result kept


def test_only_started_runs_are_marked_running(tmp_path, write_yaml):
    grid = load_grid(grid_file(write_yaml, seeds=[0, 1, 2]))
    store = ResultsStore(tmp_path / "s.sqlite")
    seen = []

    def update(progress, outcome):
        seen.append((progress.started, progress.running, sorted(store_rows(store).values())))

    with pytest.raises(KeyboardInterrupt):
        run_grid(grid, store, StopsAfterFirstStart(), on_update=update)
    assert seen == [(0, 0, []), (1, 1, [("running", 1, None)])]  # queued runs: no row


def test_duplicate_seeds_are_refused_naming_the_seed(write_yaml):
    with pytest.raises(SpecError, match=r"seeds \[0, 1, 0\] list seed 0 more than once"):
        load_grid(grid_file(write_yaml, seeds=[0, 1, 0]))
    task = {"task": "classic/CartPole-v1", "seeds": [4, 4]}
    with pytest.raises(SpecError, match=r"task 'classic/CartPole-v1' seeds \[4, 4\] list seed 4"):
        load_grid(grid_file(write_yaml, tasks=[task]))
