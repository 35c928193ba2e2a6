"""The preference loop's replay buffer: PEBBLE's state-entropy pre-training and QPA's
hybrid experience replay (part of every batch from the most recent episodes)."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from rewarddesign.common.checks import check_int
from rewarddesign.models.entropy import EntropyReplayBuffer


class FeedbackReplayBuffer(EntropyReplayBuffer):
    """An :class:`~rewarddesign.models.entropy.EntropyReplayBuffer` whose batches hold a
    ``recent_fraction`` of transitions from the last ``recent_rows`` buffer rows (QPA's
    hybrid experience replay); ordinary uniform batches while the fraction is 0.

    The loop sets both as it goes (:class:`RecentEpisodes` counts the rows of the most
    recent episodes). Recent rows are drawn with SB3's own generator, as the rest.

    Example:
        >>> import gymnasium as gym
        >>> space = gym.spaces.Box(-1, 1, (1,))
        >>> buf = FeedbackReplayBuffer(100, space, space, device="cpu")
        >>> for i in range(50):
        ...     buf.add(np.array([i]), np.array([i]), np.zeros(1), np.zeros(1),
        ...             np.zeros(1), [{}])
        >>> buf.recent_rows, buf.recent_fraction = 10, 1.0
        >>> bool((buf.sample(64).observations >= 40).all())
        True
    """

    recent_rows: int = 0
    recent_fraction: float = 0.0

    def sample(self, batch_size: int, env: Any = None) -> Any:
        used = self.buffer_size if self.full else self.pos
        rows = min(self.recent_rows, used)
        n_recent = round(self.recent_fraction * batch_size) if rows else 0
        if n_recent == 0 or self.optimize_memory_usage:
            return super().sample(batch_size, env)
        uniform = np.random.randint(0, used, size=batch_size - n_recent)
        # the last `rows` rows written, wrapping around the end of the buffer
        recent = (self.pos - 1 - np.random.randint(0, rows, size=n_recent)) % self.buffer_size
        return self._get_samples(np.concatenate([uniform, recent]), env)


class RecentEpisodes:
    """The buffer rows of the most recent ``episodes`` episodes of the first env (the
    episode in progress counts as one), updated step by step.

    Example:
        >>> recent = RecentEpisodes(2)
        >>> for start in [True, False, True, False, False, True]:
        ...     recent.step(start)
        >>> recent.rows  # the episode of 3 steps and the one just begun
        4
    """

    def __init__(self, episodes: int) -> None:
        self.episodes = check_int(episodes, "recent episodes", 1)
        self._starts: deque[int] = deque(maxlen=episodes)
        self.steps = 0

    def step(self, episode_start: bool) -> None:
        """Count one vector step; ``episode_start``: the first env began an episode."""
        if episode_start:
            self._starts.append(self.steps)
        self.steps += 1

    @property
    def rows(self) -> int:
        """Rows (vector steps) since the oldest of the recent episodes began."""
        return self.steps - self._starts[0] if self._starts else self.steps
