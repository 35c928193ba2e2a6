"""``render_mode="rgb_array"`` gives frames where an OpenGL backend works (MUJOCO_GL=egl or
osmesa), and ``rollout(..., frame_size=64)`` records them (``rollout --render``), in every
suite; where the backend cannot start, the test skips with the backend's error.

Each task renders in a subprocess: a GL context that fails to start can leave MuJoCo's
renderer unusable in the process that tried.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = """
import numpy as np, rewarddesign as rd
env = rd.make({task!r}, render_mode="rgb_array")
env.reset(seed=0)
env.step(env.action_space.sample())
frame = env.render()
print("FRAME", frame.shape, frame.dtype, float(np.std(frame)))
traj = rd.preferences.rollout(env, None, 3, 0, frame_size=64)  # rollout --render's frames
print("TRAJ", traj.frames.shape, traj.frames.dtype, float(np.std(traj.frames)))
"""
GL_ERRORS = ("EGL", "OSMesa", "GLFW", "OpenGL", "gladLoadGL", "MUJOCO_GL")


@pytest.mark.parametrize(
    "task",
    ["mujoco/HalfCheetah-v5", "dmc/walker-walk", "metaworld/button-press", "classic/CartPole-v1"],
)
def test_rgb_array_frames_where_an_opengl_backend_works(task):
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(task=task)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        if any(word in proc.stderr for word in GL_ERRORS):
            pytest.skip(
                f"no working OpenGL backend for {task} (MUJOCO_GL={env['MUJOCO_GL']}): {last}"
            )
        pytest.fail(proc.stderr[-3000:])
    line = next(x for x in proc.stdout.splitlines() if x.startswith("FRAME"))
    _, h, w, c, dtype, std = line.replace("(", "").replace(")", "").replace(",", "").split()
    assert int(h) > 0 and int(w) > 0 and int(c) == 3 and dtype == "uint8"
    assert float(std) > 0  # a picture, not a blank buffer
    line = next(x for x in proc.stdout.splitlines() if x.startswith("TRAJ"))
    assert line.split(" ", 1)[1].startswith("(3, 64, 64, 3) uint8") and float(line.split()[-1]) > 0


DMC_SCRIPT = """
import os, rewarddesign as rd
env = rd.make("dmc/cartpole-swingup")
env.reset(seed=0)
from dm_control import _render
print("BACKEND", _render.BACKEND, os.environ.get("MUJOCO_GL"))
"""


# A machine where libEGL is found but no context can be made: its renderer's import fails
BROKEN_EGL = """
import sys
import rewarddesign.task.suites.dmc as dmc

class NoPyOpenGL:
    def find_spec(self, name, path=None, target=None):
        if name.startswith("dm_control._render.pyopengl"):
            raise ImportError("no EGL device")

sys.meta_path.insert(0, NoPyOpenGL())
dmc.headless_gl_backend = lambda: "egl"
"""


def _dmc_in_subprocess(prelude: str = "", **env_vars):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MUJOCO_GL")}
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("PYOPENGL_PLATFORM", None)
    proc = subprocess.run(
        [sys.executable, "-c", prelude + DMC_SCRIPT],
        env={**env, **env_vars},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_a_dmc_task_on_a_headless_machine_picks_a_backend_without_a_glfw_warning():
    from rewarddesign.task.suites.dmc import headless_gl_backend

    proc = _dmc_in_subprocess()
    assert "GLFWError" not in proc.stderr and "DISPLAY" not in proc.stderr
    picked = headless_gl_backend()  # egl where libEGL loads (this machine), else osmesa
    if picked is not None:
        assert f"BACKEND {picked} {picked}" in proc.stdout


def test_an_explicit_mujoco_gl_is_respected():
    proc = _dmc_in_subprocess(MUJOCO_GL="disable")  # dm_control's "no renderer"
    assert "BACKEND off disable" in proc.stdout
    assert "GLFWError" not in proc.stderr


def test_a_backend_found_that_cannot_make_a_context_falls_back_to_no_rendering():
    proc = _dmc_in_subprocess(BROKEN_EGL)  # the env still builds and steps, as before
    assert "BACKEND off disable" in proc.stdout
    assert "GLFWError" not in proc.stderr
