"""Executors: RunSpecs (pure data) in, outcomes out, as runs finish.

An executor never touches the store; the driver alone writes. A Ray executor slots in
by implementing the same :class:`Executor` protocol over the same worker function,
:func:`run_spec_json`, which takes and returns JSON-safe data.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from rewarddesign.runspec import RunResult, RunSpec


@dataclass(frozen=True)
class Outcome:
    """What one run gave: a result, or the error and traceback it raised."""

    key: str
    result: RunResult | None = None
    error: str | None = None
    traceback: str | None = None


def run_spec_json(key: str, spec_json: str, device: str) -> dict:
    """Worker entry point: run one spec, never raise; all in and out is JSON-safe data."""
    from rewarddesign.runner import execute  # imported in the worker process

    try:
        result = execute(RunSpec.from_json(spec_json), device=device)
        return {"key": key, "result": result.to_json()}
    except Exception as exc:  # a failing run is recorded and the grid goes on
        return {"key": key, "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc()}  # fmt: skip


def _outcome(data: dict) -> Outcome:
    if "result" in data:
        return Outcome(data["key"], result=RunResult.from_json(data["result"]))
    return Outcome(data["key"], error=data["error"], traceback=data["traceback"])


class Executor(Protocol):
    """Runs ``(key, spec)`` pairs and yields an :class:`Outcome` for each as it finishes."""

    workers: int

    def run(self, jobs: Sequence[tuple[str, RunSpec]]) -> Iterator[Outcome]: ...


class SequentialExecutor:
    """Runs in this process, one after another (debugging, and the baseline of speed-ups)."""

    workers = 1

    def __init__(self, device: str = "auto") -> None:
        self.device = device

    def run(self, jobs: Sequence[tuple[str, RunSpec]]) -> Iterator[Outcome]:
        for key, spec in jobs:
            yield _outcome(run_spec_json(key, spec.to_json(), self.device))


def _ignore_sigint() -> None:
    # Ctrl-C goes to the whole process group; the driver alone decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalProcessExecutor:
    """A pool of worker processes (default: one per available core), one torch thread each.

    Args:
        workers: Number of processes; None means the cores this process may use.
        device: Torch device for the agents.
    """

    def __init__(self, workers: int | None = None, device: str = "auto") -> None:
        self.workers = workers or len(os.sched_getaffinity(0))
        self.device = device

    def run(self, jobs: Sequence[tuple[str, RunSpec]]) -> Iterator[Outcome]:
        context = multiprocessing.get_context("spawn")  # no forked torch or file state
        pool = cf.ProcessPoolExecutor(self.workers, mp_context=context, initializer=_ignore_sigint)
        try:
            futures = [pool.submit(run_spec_json, key, spec.to_json(), self.device)
                       for key, spec in jobs]  # fmt: skip
            for future in cf.as_completed(futures):
                yield _outcome(future.result())
        finally:
            # On Ctrl-C or a consumer that stops early: drop queued runs, stop workers now.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
