"""Executors: RunSpecs (pure data) in, outcomes out, as runs finish.

An executor never touches the store; the driver alone writes. Every executor runs the
same worker function, :func:`run_spec_json`, which takes and returns JSON-safe data:
in this process, in local worker processes, or as Ray tasks on a cluster
(:class:`RayExecutor`, the ``distributed`` extra).

Executors hand a worker a run only when it has a free one (no run waits in a queue of
theirs) and yield :class:`Started` as they do, so the driver records as running only
runs that are: a driver killed mid-grid leaves the runs it had not started as they were.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import ctypes
import multiprocessing
import os
import signal
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from rewarddesign.contract.runspec import RunResult, RunSpec
from rewarddesign.errors import RewardDesignError

DISTRIBUTED_EXTRA = 'pip install "rewarddesign[distributed]"'


@dataclass(frozen=True)
class Outcome:
    """What one run gave: a result, or the error and traceback it raised."""

    key: str
    result: RunResult | None = None
    error: str | None = None
    traceback: str | None = None


@dataclass(frozen=True)
class Started:
    """A run was handed to a free worker (its :class:`Outcome` comes later)."""

    key: str


def run_spec_json(key: str, spec_json: str, device: str, save_runs: str | None = None) -> dict:
    """Worker entry point: run one spec, never raise; all in and out is JSON-safe data.

    With ``save_runs``, the run's folder (policy, what the method learned, its feedback
    sessions) is ``save_runs/KEY`` on the worker's machine.
    """
    from rewarddesign.experiment.runner import execute  # imported in the worker process

    try:
        save_dir = None if save_runs is None else os.path.join(save_runs, key)
        result = execute(RunSpec.from_json(spec_json), device=device, save_dir=save_dir)
        return {"key": key, "result": result.to_json()}
    except Exception as exc:  # a failing run is recorded and the grid goes on
        return {
            "key": key,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }


def _outcome(data: dict) -> Outcome:
    if "result" in data:
        return Outcome(data["key"], result=RunResult.from_json(data["result"]))
    return Outcome(data["key"], error=data["error"], traceback=data["traceback"])


class Executor(Protocol):
    """Runs ``(key, spec)`` pairs: yields :class:`Started` for each as a worker takes it,
    then its :class:`Outcome` as it finishes."""

    workers: int

    def run(self, jobs: Sequence[tuple[str, RunSpec]]) -> Iterator[Started | Outcome]: ...


class SequentialExecutor:
    """Runs in this process, one after another (debugging, and the baseline of speed-ups)."""

    workers = 1

    def __init__(self, device: str = "auto", save_runs: str | None = None) -> None:
        self.device, self.save_runs = device, save_runs

    def run(self, jobs: Sequence[tuple[str, RunSpec]]) -> Iterator[Started | Outcome]:
        for key, spec in jobs:
            yield Started(key)
            yield _outcome(run_spec_json(key, spec.to_json(), self.device, self.save_runs))


def _worker_init() -> None:
    # Ctrl-C goes to the whole process group; the driver alone decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Linux: die with the driver (kill -9 of the driver must not leave workers training).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the driver died before prctl took effect
            os._exit(1)


_PR_SET_PDEATHSIG = 1


def available_cores() -> int:
    """Cores this process may use (its CPU affinity where the OS reports it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class LocalProcessExecutor:
    """A pool of worker processes (default: one per available core), one torch thread each.

    Args:
        workers: Number of processes; None means the cores this process may use.
        device: Torch device for the agents.
        save_runs: Folder of the runs' folders (``save_runs/KEY``); None: none saved.
    """

    def __init__(
        self, workers: int | None = None, device: str = "auto", save_runs: str | None = None
    ) -> None:
        self.workers = workers or available_cores()
        self.device, self.save_runs = device, save_runs

    def run(self, jobs: Sequence[tuple[str, RunSpec]]) -> Iterator[Started | Outcome]:
        context = multiprocessing.get_context("spawn")  # no forked torch or file state
        queued = collections.deque(jobs)
        running: dict[cf.Future, str] = {}
        pool: cf.ProcessPoolExecutor | None = None
        pools: list[cf.ProcessPoolExecutor] = []
        processes: dict[int, multiprocessing.process.BaseProcess] = {}
        try:
            while queued or running:
                while queued and len(running) < self.workers:
                    if pool is None:
                        pool = cf.ProcessPoolExecutor(
                            self.workers, mp_context=context, initializer=_worker_init
                        )
                        pools.append(pool)
                    key, spec = queued[0]
                    try:
                        future = pool.submit(
                            run_spec_json, key, spec.to_json(), self.device, self.save_runs
                        )
                    except cf.process.BrokenProcessPool:  # a worker died: the rest go on
                        pool = None  # in a fresh pool
                        continue
                    queued.popleft()
                    running[future] = key
                    processes.update(getattr(pool, "_processes", None) or {})
                    yield Started(key)
                done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    key = running.pop(future)
                    try:
                        yield _outcome(future.result())
                    except Exception as exc:  # a worker died (segfault, out of memory)
                        error = f"{type(exc).__name__}: {exc}"
                        yield Outcome(key, error=error, traceback=traceback.format_exc())
        finally:
            # On Ctrl-C or a consumer that stops early: drop queued runs, stop workers now.
            for old in pools:
                old.shutdown(wait=False, cancel_futures=True)
            for process in processes.values():
                process.terminate()


class RayExecutor:
    """Runs each spec as a Ray task (one CPU each) on a Ray cluster, as many at once as
    the cluster has CPUs (counted again as runs finish, so nodes that join are used).

    Workers get a RunSpec as JSON and send the result back as JSON; the driver alone
    writes to the store, so results are the same as the local executors'.

    Args:
        address: ``None`` starts a local cluster in this process (``num_cpus`` CPUs),
            ``"auto"`` joins the cluster this machine belongs to (``ray start``),
            ``"ray://host:port"`` connects a client to a remote one.
        device: Torch device for the agents.
        num_cpus: CPUs of a local cluster (default: all).
        save_runs: Folder of the runs' folders, on each worker's machine; None: none.

    Raises:
        RewardDesignError: If Ray is not installed (it is an optional extra).
    """

    def __init__(
        self,
        address: str | None = None,
        device: str = "auto",
        num_cpus: int | None = None,
        save_runs: str | None = None,
    ) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise RewardDesignError(
                f"--executor ray needs Ray, an optional extra: {DISTRIBUTED_EXTRA}."
            ) from None
        self.address, self.device, self.num_cpus = address, device, num_cpus
        self.save_runs = save_runs
        self.workers = num_cpus or available_cores()

    def run(self, jobs: Sequence[tuple[str, RunSpec]]) -> Iterator[Started | Outcome]:
        import ray

        started = not ray.is_initialized()
        if started:
            ray.init(
                address=self.address,
                num_cpus=self.num_cpus if self.address is None else None,
                include_dashboard=False,
                log_to_driver=False,
            )
        task = ray.remote(num_cpus=1, max_retries=0)(run_spec_json)
        queued = collections.deque(jobs)
        refs: dict = {}
        try:
            while queued or refs:
                # one task per CPU the cluster has now (nodes that join count at once)
                self.workers = int(ray.cluster_resources().get("CPU", 1))
                while queued and len(refs) < self.workers:
                    key, spec = queued.popleft()
                    refs[task.remote(key, spec.to_json(), self.device, self.save_runs)] = key
                    yield Started(key)
                done, _ = ray.wait(list(refs), num_returns=1)
                for ref in done:
                    key = refs.pop(ref)
                    try:
                        yield _outcome(ray.get(ref))
                    except Exception as exc:  # the worker died (node lost, out of memory)
                        error = f"{type(exc).__name__}: {exc}"
                        yield Outcome(key, error=error, traceback=traceback.format_exc())
        finally:
            for ref in refs:  # Ctrl-C or a consumer that stops early
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()
