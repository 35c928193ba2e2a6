"""The sampler of a worker, and the seed that keeps workers and resumed studies apart.

A TPE sampler seeded with the same number in every worker draws the same parameters in
every worker, and again in a study resumed with the same command. So each worker's seed
is derived from the sampler seed, the number of trials the study holds when the worker
starts, the worker's identity (``worker_id``: one per machine, or per hand-started
process) and its local index (``--workers W`` gives indices ``0 .. W-1``).
"""

from __future__ import annotations

import hashlib
import os
import socket

import numpy as np
import optuna

from rewarddesign.common.checks import check_int
from rewarddesign.errors import ParameterError


def default_worker_id() -> str:
    """``HOST:PID``: distinct for workers started by hand, but not reproducible."""
    return f"{socket.gethostname()}:{os.getpid()}"


def check_worker_id(worker_id: str) -> str:
    """Return ``worker_id`` if it is a non-empty string.

    Raises:
        ParameterError: Otherwise.
    """
    if not isinstance(worker_id, str) or not worker_id.strip():
        raise ParameterError(
            f"worker_id must be a non-empty string (e.g. the machine's name), got {worker_id!r}."
        )
    return worker_id


def worker_seed(sampler_seed: int, start: int, worker_id: str, index: int = 0) -> int:
    """The sampler seed of one worker: a function of all four arguments, nothing else.

    Args:
        sampler_seed: The study's sampler seed (``--sampler-seed``).
        start: Trials the study held when the worker started (any state: a trial of a
            killed worker counts too, so resuming after it draws new parameters).
        worker_id: The worker's identity (``--worker-id``).
        index: The local worker's index (``--workers W``: ``0 .. W-1``).

    Returns:
        A seed in ``[0, 2**32)``.

    Example:
        >>> worker_seed(0, 0, "a") == worker_seed(0, 0, "a")
        True
        >>> len({worker_seed(0, 0, "a"), worker_seed(0, 3, "a"), worker_seed(0, 0, "b"),
        ...      worker_seed(0, 0, "a", 1), worker_seed(1, 0, "a")})
        5
    """
    check_int(sampler_seed, "sampler_seed", 0)
    check_int(start, "start", 0)
    check_int(index, "worker index", 0)
    # a stable hash (Python's hash() of a str changes between processes)
    digest = hashlib.sha256(check_worker_id(worker_id).encode()).digest()
    words = np.frombuffer(digest, dtype=np.uint32).tolist()
    entropy = [int(sampler_seed), int(start), int(index), *words]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint32)[0])


def sampler(seed: int) -> optuna.samplers.BaseSampler:
    """The study's sampler: TPE with a worker's seed."""
    return optuna.samplers.TPESampler(seed=seed)


__all__ = ["check_worker_id", "default_worker_id", "sampler", "worker_seed"]
