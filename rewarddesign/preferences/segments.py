"""Segments: batches of fixed-length pieces of trajectories, and pairs of them.

A :class:`Segments` batch holds ``n`` segments of ``H`` steps as arrays with leading
axes ``(n, H)``. Segments never cross an episode boundary. An episode shorter than
``H`` gives one segment, padded at the end: ``mask`` is False on padded steps, whose
rewards and factors are 0 (so sums over a segment are unaffected), and ``end_obs`` is
the state after the last *valid* step.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from rewarddesign.common.checks import check_int
from rewarddesign.errors import ParameterError

DEFAULT_H = 50


@dataclass(frozen=True)
class Segments:
    """``n`` segments of ``H`` steps.

    Attributes:
        obs: (n, H, *obs) observations before each step.
        actions: (n, H, *act) actions.
        rewards: (n, H) float64 true rewards (0 on padding).
        factors: (n, H, K) float64 reward factors (0 on padding).
        terminated: (n, H) bool, the step reached a terminal state.
        truncated: (n, H) bool, the episode was cut after the step.
        mask: (n, H) bool, True on real steps, False on padding.
        start_obs: (n, *obs) the state before the first step.
        end_obs: (n, *obs) the state after the last valid step.
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    factors: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    mask: np.ndarray
    start_obs: np.ndarray
    end_obs: np.ndarray

    def __post_init__(self) -> None:
        if self.rewards.ndim != 2:
            raise ParameterError(f"segments: rewards must be (n, H), got {self.rewards.shape}.")
        n, h = self.rewards.shape
        if n == 0 or h == 0:
            raise ParameterError(f"segments: empty batch (n={n}, H={h}); cut at least one.")
        for f in fields(self):
            value = getattr(self, f.name)
            lead = (n,) if f.name in ("start_obs", "end_obs") else (n, h)
            if value.shape[: len(lead)] != lead:
                raise ParameterError(
                    f"segments: {f.name} has shape {value.shape}; expected leading axes {lead}."
                )
        if not (np.isfinite(self.rewards).all() and np.isfinite(self.factors).all()):
            raise ParameterError("segments: rewards and factors must be finite (found NaN/inf).")

    @property
    def n(self) -> int:
        """Number of segments."""
        return self.rewards.shape[0]

    @property
    def H(self) -> int:
        """Steps per segment (including padding)."""
        return self.rewards.shape[1]

    @property
    def lengths(self) -> np.ndarray:
        """Valid steps per segment."""
        return self.mask.sum(axis=1)

    @property
    def ends_terminal(self) -> np.ndarray:
        """True where the segment's last valid step reached a terminal state."""
        last = self.lengths - 1
        return self.terminated[np.arange(self.n), last]

    def take(self, idx: np.ndarray) -> Segments:
        """The segments at ``idx``."""
        return Segments(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Segments]) -> Segments:
        """Segments of several batches, one after another."""
        if not parts:
            raise ParameterError("cannot concatenate an empty list of segment batches.")
        return Segments(
            **{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])
                for f in fields(Segments)
            }
        )


def segment_starts(episode_starts: np.ndarray, H: int) -> np.ndarray:
    """Every start index whose H-step window stays inside one episode, plus the start of
    every episode shorter than H."""
    check_int(H, "segment length H", 1)
    n = len(episode_starts)
    if n == 0:
        raise ParameterError("cannot cut segments from zero transitions.")
    episode = np.cumsum(episode_starts) - 1
    starts = np.flatnonzero(episode_starts)
    ends = np.append(starts[1:], n)  # one past each episode's last transition
    lengths = ends - starts
    full = np.arange(n - H + 1) if n >= H else np.zeros(0, dtype=np.int64)
    full = full[episode[full] == episode[full + H - 1]]
    return np.sort(np.concatenate([full, starts[lengths < H]]))


def cut_segments(
    source: Any, H: int = DEFAULT_H, n: int | None = None, rng: np.random.Generator | None = None
) -> Segments:
    """Cut segments from transition arrays.

    Args:
        source: Anything with the trajectory fields (``obs``, ``next_obs``, ``actions``,
            ``rewards``, ``factors``, ``terminated``, ``truncated``, ``episode_starts``),
            e.g. :class:`~rewarddesign.preferences.Trajectories` or a transition store.
        H: Steps per segment.
        n: Number of segments to draw uniformly (with replacement) from all valid
            windows; None cuts every valid window.
        rng: Generator for the draw (required when ``n`` is given).

    Returns:
        The segments.
    """
    starts = segment_starts(np.asarray(source.episode_starts, dtype=bool), H)
    if n is not None:
        check_int(n, "number of segments", 1)
        if rng is None:
            raise ParameterError("cut_segments: pass rng (a numpy Generator) to draw n segments.")
        starts = starts[rng.integers(len(starts), size=n)]
    return segments_at(source, starts, H)


def segments_at(source: Any, starts: np.ndarray, H: int) -> Segments:
    """The ``H``-step segments of transition arrays that begin at ``starts`` (each cut
    at its episode's end, the rest masked as padding); ``source`` as for
    :func:`cut_segments`."""
    starts = np.asarray(starts, dtype=np.int64)
    total = len(source.rewards)
    episode = np.cumsum(source.episode_starts) - 1
    idx = starts[:, None] + np.arange(H)[None, :]
    inside = idx < total
    idx = np.minimum(idx, total - 1)
    mask = inside & (episode[idx] == episode[starts][:, None])
    pad = ~mask
    rewards = np.where(mask, np.asarray(source.rewards, dtype=np.float64)[idx], 0.0)
    factors = np.asarray(source.factors, dtype=np.float64)[idx]
    factors[pad] = 0.0
    last = idx[np.arange(len(starts)), mask.sum(axis=1) - 1]
    return Segments(
        obs=np.asarray(source.obs)[idx],
        actions=np.asarray(source.actions)[idx],
        rewards=rewards,
        factors=factors,
        terminated=np.asarray(source.terminated, dtype=bool)[idx] & mask,
        truncated=np.asarray(source.truncated, dtype=bool)[idx] & mask,
        mask=mask,
        start_obs=np.asarray(source.obs)[starts],
        end_obs=np.asarray(source.next_obs)[last],
    )


@dataclass(frozen=True)
class Pairs:
    """``n`` pairs of segments: ``first[i]`` against ``second[i]``."""

    first: Segments
    second: Segments

    def __post_init__(self) -> None:
        if self.first.rewards.shape != self.second.rewards.shape:
            raise ParameterError(
                f"pairs: first and second segments differ in shape "
                f"{self.first.rewards.shape} vs {self.second.rewards.shape}."
            )

    @property
    def n(self) -> int:
        """Number of pairs."""
        return self.first.n

    def take(self, idx: np.ndarray) -> Pairs:
        """The pairs at ``idx``."""
        return Pairs(self.first.take(idx), self.second.take(idx))


def random_pairs(segments: Segments, n: int, rng: np.random.Generator) -> Pairs:
    """``n`` pairs of two different segments drawn uniformly from ``segments``."""
    check_int(n, "number of pairs", 1)
    if segments.n < 2:
        raise ParameterError(f"need at least 2 segments to make pairs, got {segments.n}.")
    i = rng.integers(segments.n, size=n)
    j = (i + rng.integers(1, segments.n, size=n)) % segments.n  # never i itself
    return Pairs(segments.take(i), segments.take(j))


def pairs_from_rewards(first: Any, second: Any, factors: tuple[Any, Any] | None = None) -> Pairs:
    """Pairs of segments given only their rewards (and optionally factors): for hand-built
    examples and tests. Observations and actions are zeros; no step is terminal.

    Args:
        first: (n, H) rewards of the first segments.
        second: (n, H) rewards of the second segments.
        factors: Optional ((n, H, K), (n, H, K)) factors of both.
    """

    def build(rewards: Any, facts: Any) -> Segments:
        rewards = np.asarray(rewards, dtype=np.float64)
        if rewards.ndim != 2:
            raise ParameterError(f"rewards must be (n, H), got shape {rewards.shape}.")
        n, h = rewards.shape
        facts = np.zeros((n, h, 1)) if facts is None else np.asarray(facts, dtype=np.float64)
        zeros = np.zeros((n, h, 1))
        return Segments(
            obs=zeros,
            actions=zeros,
            rewards=rewards,
            factors=facts,
            terminated=np.zeros((n, h), bool),
            truncated=np.zeros((n, h), bool),
            mask=np.ones((n, h), bool),
            start_obs=np.zeros((n, 1)),
            end_obs=np.zeros((n, 1)),
        )

    f1, f2 = (None, None) if factors is None else factors
    return Pairs(build(first, f1), build(second, f2))
