"""Distributed execution on real servers: two tuning workers sharing a PostgreSQL study
(one killed mid-trial, its trial retried by the other), and a grid on a local Ray
cluster giving the local executor's results.

Locally these skip with the reason when PostgreSQL or Ray is missing; under CI=true
(`.ci/run` installs both) they must run, so a missing piece fails instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from rewarddesign.bench import ResultsStore, SequentialExecutor, load_grid, run_grid
from tests.conftest import SHORT_GRID

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true: .ci/run installs it)")
    pytest.skip(reason)


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL server (trust auth on 127.0.0.1) for this module's tests."""
    with contextlib.suppress(ImportError):
        import psycopg  # noqa: F401
    if "psycopg" not in sys.modules:
        _missing('the PostgreSQL driver is missing: pip install "rewarddesign[distributed]"')
    bindir = _postgres_bin()
    if bindir is None:
        _missing("PostgreSQL is not installed (apt-get install postgresql)")
    # not under pytest's tmp folders: they are private to this user, and the server may
    # have to run as another one
    data = Path(tempfile.mkdtemp(prefix="rd-pg-")) / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root: run it as `postgres`
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(data.parent, "postgres")
    port = _free_port()
    subprocess.run(
        [*as_user, bindir / "initdb", "-D", data, "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_user,
            bindir / "pg_ctl",
            "-D",
            data,
            "-w",
            "-l",
            data.parent / "log",
            "-o",
            f"-p {port} -k {data.parent} -c listen_addresses=127.0.0.1",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(data.parent, ignore_errors=True)


def _tune_worker(
    url: str, study: str, trials: int, out: Path, *extra: str, grace: int = 3
) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "rewarddesign.cli",
        "tune",
        "classic/Pendulum-v1",
        "--trials",
        str(trials),
        "--storage",
        url,
        "--study",
        study,
        "--budget",
        "600",
        "--preset",
        "fast",
        "--eval-every",
        "200",
        "--eval-episodes",
        "1",
        "--factors",
        "theta_sq",
        "--heartbeat",
        "1",
        "--grace",
        str(grace),
        "--out",
        str(out),
        *extra,
    ]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )


def _wait(proc: subprocess.Popen, timeout: float = 300) -> None:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode == 0, out.decode()[-3000:]


def test_two_workers_share_a_postgres_study(postgres_url, tmp_path):
    # a long grace: a busy machine may starve a live worker's heartbeat thread for seconds,
    # and this test kills nobody. The README's command as written, on every machine: the
    # workers' default ids (host and pid) keep their draws apart
    workers = [
        _tune_worker(postgres_url, "shared", 3, tmp_path / f"w{i}.yaml", grace=60) for i in range(2)
    ]
    for proc in workers:
        _wait(proc)
    trials = optuna.load_study(study_name="shared", storage=postgres_url).trials
    states = [t.state for t in trials]
    finished = states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED)
    # every trial finished (none lost); one extra at most when both ask at the same moment
    assert 3 <= finished == len(trials) <= 4
    assert sorted(t.number for t in trials) == list(range(len(trials)))  # none duplicated
    assert len({t.params["weight.theta_sq"] for t in trials}) == len(trials)


def test_a_killed_workers_trial_is_failed_and_retried(postgres_url, tmp_path):
    doomed = _tune_worker(postgres_url, "retry", 2, tmp_path / "a.yaml")
    deadline = time.time() + 120
    running: list[optuna.trial.FrozenTrial] = []
    # kill -9 in the middle of a trial: once a running trial has sampled its weights (a
    # trial is RUNNING a moment before its objective suggests them)
    while not running and time.time() < deadline:
        time.sleep(0.2)
        with contextlib.suppress(KeyError):
            study = optuna.load_study(study_name="retry", storage=postgres_url)
            running = [t for t in study.get_trials(states=(TrialState.RUNNING,)) if t.params]
    assert running, "the first worker never started a trial"
    os.killpg(doomed.pid, signal.SIGKILL)  # a 600-step trial lasts seconds: still running
    doomed.wait()
    killed = running[0]
    _wait(_tune_worker(postgres_url, "retry", 2, tmp_path / "b.yaml"))
    trials = optuna.load_study(study_name="retry", storage=postgres_url).trials
    failed = trials[killed.number]
    assert failed.state == TrialState.FAIL and failed.params == killed.params
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].params == failed.params
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 2 and not [t for t in trials if t.state == TrialState.RUNNING]


def test_a_grid_on_a_local_ray_cluster_equals_the_local_executor(tmp_path, write_yaml):
    try:
        import ray  # noqa: F401
    except ImportError:
        _missing('Ray is missing: pip install "rewarddesign[distributed]"')
    from rewarddesign.bench import RayExecutor

    grid = load_grid(write_yaml({**SHORT_GRID, "name": "ray"}))
    local = run_grid(grid, ResultsStore(tmp_path / "local.sqlite"), SequentialExecutor("cpu"))
    store = ResultsStore(tmp_path / "ray.sqlite")
    on_ray = run_grid(grid, store, RayExecutor(None, "cpu", num_cpus=2))
    assert [label for label, _ in on_ray] == [label for label, _ in local]
    for (_, a), (_, b) in zip(local, on_ray, strict=True):
        assert a.spec == b.spec and a.curve == b.curve and a.final_return == b.final_return
    assert len(store.results()) == len(grid.runs)
