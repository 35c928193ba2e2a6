"""The wheel carries the task specs, agent specs and grids, and its CLI works outside the repo."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_and_runs_in_a_clean_venv(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("rewarddesign-*.whl")

    env_dir = tmp_path / "clean"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    # Dependencies come from the project's environment (a path entry, so its editable
    # rewarddesign .pth is not processed); the package itself only from the wheel.
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True
    )

    run_env = {**os.environ, "COLUMNS": "200"}
    cli = env_dir / "bin" / "rewarddesign"
    tasks = subprocess.run(
        [str(cli), "tasks"], cwd=tmp_path, env=run_env, capture_output=True, text=True, check=True
    ).stdout
    assert "classic/Pendulum-v1" in tasks and "mujoco/Ant-v5" in tasks
    bench_help = subprocess.run(
        [str(cli), "bench", "quick", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "packaged grid name" in bench_help

    probe = (
        "import rewarddesign as rd, rewarddesign.common.files as r\n"
        "from rewarddesign.bench import load_grid\n"
        "print(rd.__file__); print(r.data_dir('envs')); print(r.data_dir('agents'))\n"
        "print(len(load_grid('quick').runs), rd.agents.config('sac')['batch_size'])\n"
    )
    out = subprocess.run(
        [str(py), "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert all(line.startswith(site) for line in out[:3]), out
    assert out[3] == "18 256"
