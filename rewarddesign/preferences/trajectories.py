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
``frames`` (optional)     uint8 (N, h, w, 3)   the rendered state before each step
                                               (``rewarddesign rollout --render``)
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
    frames: np.ndarray | None = None

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
        f = self.frames
        if f is not None and (
            not isinstance(f, np.ndarray)
            or f.dtype != np.uint8
            or f.ndim != 4
            or f.shape[-1] != 3
            or len(f) != n
        ):
            what = f"{f.dtype} {f.shape}" if isinstance(f, np.ndarray) else type(f).__name__
            raise ParameterError(
                f"trajectories: frames must be uint8 (N, h, w, 3) with N = {n}, got {what}."
            )

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
        if self.frames is not None:
            arrays["frames"] = self.frames
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
            return cls(
                **arrays,
                task=str(data.get("task", "")),
                factor_names=names,
                frames=data.get("frames"),
            )
        except ParameterError as exc:
            raise FileFormatError(f"{str(path)!r} is not a valid trajectory file: {exc}") from exc


def square_frame(frame: np.ndarray, size: int) -> np.ndarray:
    """An RGB frame letterboxed onto a black ``size`` x ``size`` square (aspect kept)."""
    from PIL import Image

    h, w = frame.shape[:2]
    scale = size / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    small = np.asarray(Image.fromarray(frame[..., :3]).resize((new_w, new_h), Image.BILINEAR))
    out = np.zeros((size, size, 3), dtype=np.uint8)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    out[top : top + new_h, left : left + new_w] = small
    return out


def rollout(
    env: Any, policy: Any, steps: int, seed: int, frame_size: int | None = None
) -> Trajectories:
    """Record ``steps`` transitions of ``policy`` on an env built by ``rd.make``.

    Args:
        env: A task env (factors and true reward in ``info``).
        policy: ``policy(obs) -> action`` for one observation, or None for uniform
            random actions (the action space seeded with ``seed``).
        steps: Number of transitions (>= 1).
        seed: Seed of the first reset (later resets continue the env's generator).
        frame_size: Also record each state before a step as a ``frame_size`` square
            uint8 frame (the env must be made with ``render_mode="rgb_array"``); None:
            no frames.

    Returns:
        The recorded transitions.
    """
    check_int(steps, "rollout steps", 1)
    check_seed(seed)
    if frame_size is not None:
        check_int(frame_size, "frame size", 16, 1024)
        if env.render_mode != "rgb_array":
            raise ParameterError(
                f"rollout with frames needs an env made with render_mode='rgb_array', got "
                f"render_mode={env.render_mode!r}: rd.make(task, render_mode='rgb_array')."
            )
    task = env.get_wrapper_attr("task")
    env.action_space.seed(seed)
    cols: dict[str, list] = {k: [] for k in ARRAY_KEYS}
    frames: list[np.ndarray] = []
    obs, _ = env.reset(seed=seed)
    start = True
    for _ in range(steps):
        if frame_size is not None:
            frames.append(square_frame(np.asarray(env.render()), frame_size))
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
    return Trajectories(
        **arrays,
        task=task_ref(task),
        factor_names=task.factor_names,
        frames=np.stack(frames) if frame_size is not None else None,
    )


__all__ = ["ARRAY_KEYS", "Trajectories", "rollout", "square_frame"]
