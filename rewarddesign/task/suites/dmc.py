"""dm-control tasks through shimmy: flat float32 observations and the reward terms.

dm-control rewards are products of ``tolerance`` terms computed from the physics; this
adapter computes the same terms after every step (same physics state as the task's
``get_reward``) and puts them into ``info``, so a task spec declares them as factors and
its reward as an expression of them. The suite-wide test checks that the expression
reproduces the env's reward.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import functools
import importlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import RecordConstructorArgs

from rewarddesign.errors import SpecError, unknown


def _walker(physics: Any, task: Any) -> dict[str, float]:
    from dm_control.suite import walker
    from dm_control.utils.rewards import tolerance

    speed = task._move_speed  # 0 for walker-stand, whose reward has no move term
    move = 0.0
    if speed:  # tolerance needs a positive margin
        move = tolerance(
            physics.horizontal_velocity(),
            bounds=(speed, float("inf")),
            margin=speed / 2,
            value_at_margin=0.5,
            sigmoid="linear",
        )
    return {
        "standing": tolerance(
            physics.torso_height(),
            bounds=(walker._STAND_HEIGHT, float("inf")),
            margin=walker._STAND_HEIGHT / 2,
        ),
        "upright": (1 + physics.torso_upright()) / 2,
        "move": move,
    }


def _cheetah(physics: Any, task: Any) -> dict[str, float]:
    from dm_control.suite import cheetah
    from dm_control.utils.rewards import tolerance

    return {
        "move": tolerance(
            physics.speed(),
            bounds=(cheetah._RUN_SPEED, float("inf")),
            margin=cheetah._RUN_SPEED,
            value_at_margin=0,
            sigmoid="linear",
        ),
        "speed": physics.speed(),
    }


def _quadruped(physics: Any, task: Any) -> dict[str, float]:
    from dm_control.suite import quadruped
    from dm_control.utils.rewards import tolerance

    speed = task._desired_speed
    return {
        "upright": quadruped._upright_reward(physics),
        "move": tolerance(
            physics.torso_velocity()[0],
            bounds=(speed, float("inf")),
            margin=speed,
            value_at_margin=0.5,
            sigmoid="linear",
        ),
    }


def _cartpole(physics: Any, task: Any) -> dict[str, float]:
    from dm_control.utils.rewards import tolerance

    return {
        "upright": float(np.mean((physics.pole_angle_cosine() + 1) / 2)),
        "centered": tolerance(physics.cart_position(), margin=2),
        "small_control": tolerance(
            physics.control(), margin=1, value_at_margin=0, sigmoid="quadratic"
        )[0],
        "small_velocity": float(np.min(tolerance(physics.angular_vel(), margin=5))),
    }


def _reacher(physics: Any, task: Any) -> dict[str, float]:
    from dm_control.utils.rewards import tolerance

    radii = physics.named.model.geom_size[["target", "finger"], 0].sum()
    dist = physics.finger_to_target_dist()
    return {"at_target": tolerance(dist, (0, radii)), "distance": dist}


@functools.cache  # find_library runs a subprocess (ldconfig): once per process
def headless_gl_backend() -> str | None:
    """The OpenGL backend MuJoCo renders with where there is no display and ``MUJOCO_GL``
    is unset: ``"egl"`` where libEGL loads, else ``"osmesa"`` where libOSMesa does, else
    None (then nothing renders, as before)."""
    for backend, library in (("egl", "EGL"), ("osmesa", "OSMesa")):
        if ctypes.util.find_library(library):
            return backend
    return None


@contextlib.contextmanager
def quiet_headless_glfw() -> Iterator[str | None]:
    """On a headless machine with ``MUJOCO_GL`` (and ``PYOPENGL_PLATFORM``) unset, set
    ``MUJOCO_GL`` to :func:`headless_gl_backend` before dm_control is imported, and silence
    GLFW's ``X11: The DISPLAY environment variable is missing`` meanwhile.

    Left alone, dm_control picks GLFW, which prints that warning (it reads as a failure)
    and cannot render without a display: MuJoCo then refuses to make a context. As
    dm-control users do, a headless run renders with EGL (or OSMesa). Where a display or
    ``MUJOCO_GL`` is set, nothing changes.
    """
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    chosen = os.environ.get("MUJOCO_GL") or os.environ.get("PYOPENGL_PLATFORM")
    # only Linux tells a headless machine by its missing DISPLAY (macOS has none anyway)
    if display or chosen or not sys.platform.startswith("linux"):
        yield None
        return
    backend = headless_gl_backend()
    if backend is not None:
        os.environ["MUJOCO_GL"] = backend
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*DISPLAY environment variable is missing")
        yield backend


def import_headless(module: str) -> None:
    """Import a suite's module (it registers the suite's env ids) inside
    :func:`quiet_headless_glfw`.

    Where the backend picked there is found but cannot make a context (libEGL without a
    usable device), dm_control refuses to import at all; the module is then imported with
    rendering disabled, so everything but rendering works, as it did before a backend was
    picked.
    """
    with quiet_headless_glfw() as picked:
        try:
            importlib.import_module(module)
        except ImportError:
            if picked is None:
                raise
            os.environ["MUJOCO_GL"] = "disable"
            importlib.import_module(module)


TERMS: dict[str, Callable[[Any, Any], dict[str, float]]] = {
    "walker": _walker,
    "cheetah": _cheetah,
    "quadruped": _quadruped,
    "cartpole": _cartpole,
    "reacher": _reacher,
}
"""Reward terms by dm-control domain: ``terms(physics, task) -> {name: value}``."""


class DmcAdapter(gym.Wrapper, RecordConstructorArgs):
    """A shimmy dm-control env with flat float32 observations and its reward terms in info.

    Observations are the dm-control observation dict flattened in its key order. The
    terms of the env's domain (:data:`TERMS`) are added to ``info`` after every step.

    Args:
        env: An env from ``gymnasium.make("dm_control/DOMAIN-TASK-v0")``.

    Example:
        >>> import gymnasium as gym, shimmy
        >>> env = DmcAdapter(gym.make("dm_control/walker-walk-v0"))
        >>> obs, _ = env.reset(seed=0)
        >>> obs.dtype, obs.shape
        (dtype('float32'), (24,))
        >>> info = env.step(env.action_space.sample())[4]
        >>> sorted(k for k in info if k in ("move", "standing", "upright"))
        ['move', 'standing', 'upright']
    """

    def __init__(self, env: gym.Env) -> None:
        RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)
        inner = getattr(env.unwrapped, "_env", None)
        if inner is None or not hasattr(inner, "physics"):
            raise SpecError(
                f"adapter 'dmc' needs a shimmy dm-control env, got {env.unwrapped!r}; "
                "use env.id dm_control/DOMAIN-TASK-v0 with module shimmy."
            )
        self._control = inner
        domain = type(inner.task).__module__.rsplit(".", 1)[-1]
        if domain not in TERMS:
            raise unknown("dm-control domain with reward terms", domain, TERMS)
        self._terms = TERMS[domain]
        space = env.observation_space
        if not isinstance(space, gym.spaces.Dict):
            raise SpecError(f"adapter 'dmc' expects a Dict observation space, got {space}.")
        self._keys = list(space.spaces)
        size = sum(int(np.prod(space[k].shape, dtype=np.int64)) for k in self._keys)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), np.float32)

    def _flat(self, obs: dict[str, Any]) -> np.ndarray:
        return np.concatenate([np.ravel(obs[k]) for k in self._keys]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        return self._flat(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        terms = self._terms(self._control.physics, self._control.task)
        info.update((k, float(v)) for k, v in terms.items())
        return self._flat(obs), reward, terminated, truncated, info


__all__ = ["TERMS", "DmcAdapter", "headless_gl_backend", "import_headless", "quiet_headless_glfw"]
