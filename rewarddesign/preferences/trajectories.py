"""Trajectory files: the transitions an agent (or a random policy) produced on a task.

A trajectory file is an ``.npz`` archive (no pickle) holding N transitions in order:

========================  ===================  ==========================================
key                       dtype, shape         meaning
========================  ===================  ==========================================
``obs``                   float32 (N, *obs)    observation before the step (int64 (N,)
                                               for a discrete observation space)
``next_obs``              as ``obs``           observation after the step (the final one
                                               when the episode ended there)
``actions``               float32 (N, *act)    action taken (int64 (N,) if discrete)
``rewards``               float64 (N,)         the task's true reward
``factors``               float64 (N, K)       the task's reward factors, declared order
``terminated``            bool (N,)            the step reached a terminal state
``truncated``             bool (N,)            the episode was cut there (a time limit)
``episode_starts``        bool (N,)            the step is the first of an episode
``task``                  str ()               where the task came from: its id, or
                                               the path of a spec file of your own
``factor_names``          str (K,)             factor names
========================  ===================  ==========================================
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rewarddesign.common.checks import check_int, check_seed
from rewarddesign.common.files import load_npz, register_npz_kind, write_atomic
from rewarddesign.errors import FileFormatError, ParameterError
from rewarddesign.task.registry import task_ref

ARRAY_KEYS = (
    "obs",
    "next_obs",
    "actions",
    "rewards",
    "factors",
    "terminated",
    "truncated",
    "episode_starts",
)
register_npz_kind("trajectory file", ARRAY_KEYS, "`rewarddesign rollout`")


@dataclass(frozen=True)
class Trajectories:
    """N transitions of one task, in order (see the module docs for the fields)."""

    obs: np.ndarray
    next_obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    factors: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    episode_starts: np.ndarray
    task: str = ""
    factor_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.rewards)
        for key in ARRAY_KEYS:
            value = getattr(self, key)
            if not isinstance(value, np.ndarray) or len(value) != n:
                raise ParameterError(
                    f"trajectories: {key} has {len(value)} rows but rewards has {n}; every "
                    "array needs one row per transition."
                )
        if n == 0:
            raise ParameterError("trajectories are empty: record at least one transition.")
        if self.factors.ndim != 2:
            raise ParameterError(f"trajectories: factors must be (N, K), got {self.factors.shape}.")
        if not (np.isfinite(self.rewards).all() and np.isfinite(self.factors).all()):
            raise ParameterError(
                "trajectories: rewards and factors must be finite (found NaN/inf)."
            )
        if not self.episode_starts[0]:
            raise ParameterError("trajectories: the first transition must start an episode.")

    def __len__(self) -> int:
        return len(self.rewards)

    def episode_ids(self) -> np.ndarray:
        """Episode index of every transition (0, 0, ..., 1, 1, ...)."""
        return np.cumsum(self.episode_starts) - 1

    def save(self, path: str | Path) -> None:
        """Write an ``.npz`` file atomically."""
        import io

        buf = io.BytesIO()
        arrays = {k: getattr(self, k) for k in ARRAY_KEYS}
        np.savez_compressed(
            buf,
            **arrays,
            task=np.array(self.task),
            factor_names=np.array(self.factor_names, dtype=str),
        )
        write_atomic(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> Trajectories:
        """Read a trajectory file (``allow_pickle=False``)."""
        data = load_npz(path, "trajectory file")
        names = tuple(str(n) for n in data.get("factor_names", ()))
        arrays = {k: data[k] for k in ARRAY_KEYS}
        try:
            return cls(**arrays, task=str(data.get("task", "")), factor_names=names)
        except ParameterError as exc:
            raise FileFormatError(f"{str(path)!r} is not a valid trajectory file: {exc}") from exc


def rollout(env: Any, policy: Any, steps: int, seed: int) -> Trajectories:
    """Record ``steps`` transitions of ``policy`` on an env built by ``rd.make``.

    Args:
        env: A task env (factors and true reward in ``info``).
        policy: ``policy(obs) -> action`` for one observation, or None for uniform
            random actions (the action space seeded with ``seed``).
        steps: Number of transitions (>= 1).
        seed: Seed of the first reset (later resets continue the env's generator).

    Returns:
        The recorded transitions.
    """
    check_int(steps, "rollout steps", 1)
    check_seed(seed)
    task = env.get_wrapper_attr("task")
    env.action_space.seed(seed)
    cols: dict[str, list] = {k: [] for k in ARRAY_KEYS}
    obs, _ = env.reset(seed=seed)
    start = True
    for _ in range(steps):
        action = env.action_space.sample() if policy is None else policy(obs)
        next_obs, _, terminated, truncated, info = env.step(action)
        for key, value in (
            ("obs", obs),
            ("next_obs", next_obs),
            ("actions", action),
            ("rewards", info["true_reward"]),
            ("factors", info["factors"]),
            ("terminated", terminated),
            ("truncated", truncated),
            ("episode_starts", start),
        ):
            cols[key].append(value)
        start = terminated or truncated
        obs = env.reset()[0] if start else next_obs
    dtypes = {
        "rewards": np.float64,
        "factors": np.float64,
        "terminated": bool,
        "truncated": bool,
        "episode_starts": bool,
    }
    arrays = {k: np.asarray(v, dtype=dtypes.get(k)) for k, v in cols.items()}
    for key in ("obs", "next_obs", "actions"):
        if arrays[key].dtype.kind == "f":
            arrays[key] = arrays[key].astype(np.float32)
        elif arrays[key].dtype.kind in "iu":
            arrays[key] = arrays[key].astype(np.int64)
    # the task by a reference another process resolves: a spec file of your own by its path
    return Trajectories(**arrays, task=task_ref(task), factor_names=task.factor_names)


__all__ = ["ARRAY_KEYS", "Trajectories", "rollout"]
