"""Batched one-step dynamics of the envs whose observation is the whole simulator state:
``next_obs = step(obs, action, rng)`` for a batch, as the env's own ``step`` computes it.

DARD (``rewarddesign.diagnostics``) takes a transition's neighbours from these. Classic
control's equations are Gymnasium's (1.x), checked against the envs' own steps in the
tests; the tabular envs sample their transition tensor ``P``. Envs whose observation
leaves out part of the state (MuJoCo's positions, dm-control, MetaWorld) have none:
:func:`dynamics` refuses them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from rewarddesign.errors import SpecError
from rewarddesign.task.spec import TaskSpec

Step = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]
"""``step(obs (n, ...), actions (n, ...), rng) -> next_obs (n, ...)``."""


def _pendulum(obs, action, rng, g=10.0, m=1.0, length=1.0, dt=0.05, max_speed=8.0, max_torque=2.0):
    obs = np.asarray(obs, dtype=np.float64)
    th, thdot = np.arctan2(obs[:, 1], obs[:, 0]), obs[:, 2]
    u = np.clip(np.asarray(action, dtype=np.float64)[:, 0], -max_torque, max_torque)
    thdot = thdot + (3 * g / (2 * length) * np.sin(th) + 3.0 / (m * length**2) * u) * dt
    thdot = np.clip(thdot, -max_speed, max_speed)
    th = th + thdot * dt
    return np.stack([np.cos(th), np.sin(th), thdot], axis=1).astype(np.float32)


def _mountain_car(position, velocity, accel):
    velocity = np.clip(velocity + accel, -0.07, 0.07)
    position = np.clip(position + velocity, -1.2, 0.6)
    velocity = np.where((position == -1.2) & (velocity < 0), 0.0, velocity)
    return np.stack([position, velocity], axis=1).astype(np.float32)


def _mountain_car_continuous(obs, action, rng, power=0.0015):
    obs = np.asarray(obs, dtype=np.float64)
    force = np.clip(np.asarray(action, dtype=np.float64)[:, 0], -1.0, 1.0)
    accel = force * power - 0.0025 * np.cos(3 * obs[:, 0])
    return _mountain_car(obs[:, 0], obs[:, 1], accel)


def _mountain_car_discrete(obs, action, rng, force=0.001, gravity=0.0025):
    obs = np.asarray(obs, dtype=np.float64)
    push = np.asarray(action, dtype=np.float64).reshape(-1) - 1
    accel = push * force + np.cos(3 * obs[:, 0]) * (-gravity)
    return _mountain_car(obs[:, 0], obs[:, 1], accel)


def _cartpole(obs, action, rng, gravity=9.8, masscart=1.0, masspole=0.1, length=0.5, tau=0.02):
    x, x_dot, theta, theta_dot = np.asarray(obs, dtype=np.float64).T
    total, pml = masscart + masspole, masspole * length
    force = np.where(np.asarray(action).reshape(-1) == 1, 10.0, -10.0)
    cos, sin = np.cos(theta), np.sin(theta)
    temp = (force + pml * theta_dot**2 * sin) / total
    theta_acc = (gravity * sin - cos * temp) / (length * (4.0 / 3.0 - masspole * cos**2 / total))
    x_acc = temp - pml * theta_acc * cos / total
    out = (
        x + tau * x_dot,
        x_dot + tau * x_acc,
        theta + tau * theta_dot,
        theta_dot + tau * theta_acc,
    )
    return np.stack(out, axis=1).astype(np.float32)


@functools.cache
def _tabular_P(env_id: str, kwargs: tuple) -> np.ndarray:
    from rewarddesign.task.gridworld import DeliveryGridworld, RandomMDP

    env = DeliveryGridworld() if env_id == "rewarddesign/Delivery-v0" else RandomMDP(**dict(kwargs))
    return env.P


def _tabular(P: np.ndarray) -> Step:
    cum = np.cumsum(P, axis=2)

    def step(obs, action, rng):
        s, a = np.asarray(obs, dtype=np.int64), np.asarray(action, dtype=np.int64)
        u = rng.random(len(s))[:, None]
        nxt = (u < cum[s, a]).argmax(axis=1)  # inverse-CDF draw from P(s, a)
        return nxt.astype(np.int64)

    return step


DYNAMICS: dict[str, Step] = {
    "Pendulum-v1": _pendulum,
    "MountainCarContinuous-v0": _mountain_car_continuous,
    "MountainCar-v0": _mountain_car_discrete,
    "CartPole-v1": _cartpole,
}
"""Batched dynamics by Gymnasium env id (the envs' default constants)."""

TABULAR = ("rewarddesign/Delivery-v0", "rewarddesign/RandomMDP-v0")


def dynamics(task: TaskSpec) -> Step:
    """The batched one-step dynamics of a task's env.

    Raises:
        SpecError: An env whose observation is not its whole state, or one built with
            kwargs that change its constants.

    Example:
        >>> import numpy as np
        >>> from rewarddesign.task.registry import task_spec
        >>> step = dynamics(task_spec("classic/Pendulum-v1"))
        >>> step(np.array([[1.0, 0.0, 0.0]]), np.array([[2.0]]), np.random.default_rng(0))
        array([[0.9998875 , 0.01499944, 0.3       ]], dtype=float32)
    """
    if task.env_id in TABULAR:
        return _tabular(_tabular_P(task.env_id, tuple(sorted(task.env_kwargs.items()))))
    if task.env_id not in DYNAMICS:
        raise SpecError(
            f"task {task.id!r}: DARD needs the env's dynamics as a function of the "
            f"observation, which only envs whose observation is the whole simulator state "
            f"have ({', '.join(sorted([*DYNAMICS, *TABULAR]))}); {task.env_id!r} is not "
            "one. Use distance='epic'."
        )
    if task.env_kwargs or task.action_repeat != 1:
        raise SpecError(
            f"task {task.id!r}: its env {task.env_id!r} is built with kwargs "
            f"{dict(task.env_kwargs)} or an action repeat of {task.action_repeat}; the "
            "batched dynamics here are the env's defaults, one step. Use distance='epic'."
        )
    return DYNAMICS[task.env_id]
