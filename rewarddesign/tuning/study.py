"""The study lifecycle: ``tune`` and the worker loop that runs a study's trials.

:func:`tune` checks a request before any study exists, creates or resumes its study and
runs the trials in this process or in spawned local workers (:func:`work`), each with
its own sampler seed (:mod:`~rewarddesign.tuning.sampler`); the pruner is chosen here.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from typing import Any

import optuna
from optuna.storages import fail_stale_trials
from optuna.trial import TrialState

from rewarddesign.agents import resolve_device
from rewarddesign.common.checks import check_int, check_number, check_seed, require_mapping
from rewarddesign.contract.runspec import EvalSpec, RunSpec
from rewarddesign.errors import ParameterError, RewardDesignError, SpecError, unknown
from rewarddesign.experiment.runner import validate
from rewarddesign.task.registry import task_spec
from rewarddesign.tuning.objective import Objective, TuneConfig
from rewarddesign.tuning.progress import PROGRESS_EVERY, StudyProgress
from rewarddesign.tuning.sampler import check_worker_id, default_worker_id, sampler, worker_seed
from rewarddesign.tuning.space import Dimension, search_space, suggest
from rewarddesign.tuning.storage import check_failure_handling, open_storage, redact

PRUNERS = ("median", "halving", "none")


def _pruner(name: str, config: TuneConfig) -> optuna.pruners.BasePruner:
    if config.cost is not None:  # Optuna cannot prune multi-objective studies
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


def _finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def work(study: optuna.Study, config: TuneConfig, trials: int, poll: float = 1.0) -> None:
    """Run trials of ``study`` until it holds ``trials`` finished ones.

    Waiting trials (retries of failed ones) are taken first. While the remaining trials
    run in other workers, this one polls, failing trials whose heartbeat stopped, so
    their retries are not lost with a killed worker.
    """
    objective = Objective(config)
    while _finished(study) < trials:
        failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
        if len(failed) > max(10, trials):
            raise RewardDesignError(
                f"study {study.study_name!r} has {len(failed)} failed trials (non-finite "
                f"returns or dead workers); look at them (optuna-dashboard) before going on."
            )
        open_ = study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING))
        waiting = any(t.state == TrialState.WAITING for t in open_)
        if waiting or _finished(study) + len(open_) < trials:
            study.optimize(objective, n_trials=1)
        else:
            with warnings.catch_warnings():  # "experimental" since Optuna 2.9
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                fail_stale_trials(study)
            time.sleep(poll)


def _worker(
    config: TuneConfig, storage: dict[str, Any], study: str, trials: int, seed: int, pruner: str
) -> None:
    s = optuna.load_study(
        study_name=study,
        storage=open_storage(**storage),
        sampler=sampler(seed),
        pruner=_pruner(pruner, config),
    )
    work(s, config, trials)


def tune(
    task: str,
    method: str = "blend",
    trials: int = 20,
    *,
    agent: str = "sac",
    budget: int = 10_000,
    seeds: int = 1,
    seed_base: int = 1000,
    storage: str | None = None,
    study: str | None = None,
    workers: int = 1,
    pruner: str = "median",
    cost: str | None = None,
    factors: Sequence[str] | None = None,
    ranges: Mapping[str, Sequence[float]] | None = None,
    params: Mapping[str, Sequence[Any]] | None = None,
    method_params: Mapping[str, Any] | None = None,
    agent_preset: str | None = None,
    agent_overrides: Mapping[str, Any] | None = None,
    eval_every: int | None = None,
    eval_episodes: int = 5,
    sampler_seed: int = 0,
    worker_id: str | None = None,
    heartbeat: int = 60,
    grace: int | None = None,
    retries: int = 2,
    device: str = "auto",
    verbose: bool = True,
    progress_every: float = PROGRESS_EVERY,
    on_start: Callable[[optuna.Study], object] | None = None,
) -> optuna.Study:
    """Tune a reward method's weights (and parameters) with Optuna; returns the study.

    Everything is checked before the study is created, so a bad argument leaves no study
    behind; a study of the same name is resumed only if it searches the same space.

    Args:
        task: Task id.
        method: Reward method (``"blend"`` searches factor weights).
        trials: Finished (complete or pruned) trials the study should hold.
        agent: Agent of each trial's runs.
        budget: Env steps per run.
        seeds: Tuning seeds per trial (the objective is the mean over them).
        seed_base: First tuning seed (keep the seeds you report on apart).
        storage: Storage URL or SQLite file (default ``runs/tune.sqlite``).
        study: Study name (default ``TASK:METHOD:HASH``, ``HASH`` naming the search
            settings: the same call resumes its study, another search gets its own).
        workers: Local worker processes (worker indices ``0 .. workers - 1``).
        pruner: ``"median"``, ``"halving"`` or ``"none"`` (single objective only).
        cost: A factor to minimise as a second objective (its final episode sum).
        factors, ranges, params: The search space (:func:`search_space`).
        method_params: Fixed parameters of the method (not ones the space searches).
        agent_preset, agent_overrides, eval_every, eval_episodes: As in :func:`rd.run`.
        sampler_seed: Seed of the TPE samplers. Each worker's own seed derives from it,
            the number of trials the study holds when this call starts, ``worker_id``
            and the worker's index (:func:`~rewarddesign.tuning.sampler.worker_seed`), so
            a resumed study and workers started apart never draw the same trials.
        worker_id: This machine's (or process's) name among the study's workers; the
            default, ``HOST:PID``, differs between runs, so a study is reproducible only
            with a fixed one (and the same storage history).
        heartbeat, grace, retries: Failure handling (:func:`open_storage`).
        device: Torch device of the agents.
        verbose: Show progress: a line every ``progress_every`` seconds when stdout is
            not a terminal (a CI or ``nohup`` log), a live line in a terminal; False
            shows none.
        progress_every: Seconds between two progress lines (default 10).
        on_start: Called with the study once every input is checked and the study is
            open, before the first trial (the command line prints its header there, so
            a refused input prints its error alone).

    Raises:
        ParameterError, UnknownNameError, SpecError, StorageError: On bad input, before
            any study is created.

    Example:
        >>> import rewarddesign as rd, tempfile, os
        >>> db = os.path.join(tempfile.mkdtemp(), "t.sqlite")
        >>> st = rd.tune("classic/Pendulum-v1", trials=2, budget=200, storage=db,
        ...              agent_preset="fast", eval_episodes=1, factors=["theta_sq"],
        ...              verbose=False)
        >>> len(st.trials), sorted(st.best_params)
        (2, ['weight.theta_sq'])
    """
    check_int(trials, "trials", 1)
    for name, value in (("seeds", seeds), ("workers", workers)):
        check_int(value, name, 1)
    # every tuning seed (seed_base .. seed_base + seeds - 1) must be one numpy takes
    check_seed(seed_base, "seed_base", seeds)
    check_int(sampler_seed, "sampler_seed", 0)
    worker_id = default_worker_id() if worker_id is None else check_worker_id(worker_id)
    check_failure_handling(heartbeat, grace, retries)
    if not isinstance(verbose, bool):
        raise ParameterError(f"verbose must be True or False, got {verbose!r}.")
    check_number(progress_every, "progress_every", 0, low_open=True)
    if study is not None and (not isinstance(study, str) or not study.strip()):
        raise ParameterError(f"study must be a non-empty name, got {study!r}.")
    if pruner not in PRUNERS:
        raise unknown("pruner", pruner, PRUNERS)
    spec = task_spec(task)
    if cost is not None and cost not in spec.factor_names:
        raise unknown(f"cost factor of task {task!r}", cost, spec.factor_names)
    space = tuple(search_space(task, method, factors, ranges, params))
    fixed = dict(require_mapping(method_params or {}, "method_params"))
    _check_fixed(fixed, space)
    config = TuneConfig(
        task=task,
        method=method,
        agent=agent,
        budget=budget,
        seeds=tuple(range(seed_base, seed_base + seeds)),
        space=space,
        fixed_params=fixed,
        agent_preset=agent_preset,
        agent_overrides=dict(require_mapping(agent_overrides or {}, "agent_overrides")),
        eval_every=eval_every,
        eval_episodes=eval_episodes,
        cost=cost,
        device=device,
    )
    _validate(config)
    resolve_device(device)  # a device torch cannot use fails here, not in the first trial
    storage_args = {"storage": storage, "heartbeat": heartbeat, "grace": grace, "retries": retries}
    rdb = open_storage(**storage_args)
    attrs = config.study_attrs()
    name = study or default_study_name(task, method, attrs)
    directions = ["maximize", "minimize"] if cost is not None else ["maximize"]
    existing = {s.study_name: s for s in optuna.get_all_study_summaries(rdb)}
    start = existing[name].n_trials if name in existing else 0
    if name in existing:
        stored = existing[name].user_attrs.get("rewarddesign")
        # a worker that started at the same moment may have created the study and not yet
        # stored its settings: give it a few seconds
        for _ in range(20):
            if stored is not None:
                break
            time.sleep(0.5)
            stored = optuna.load_study(study_name=name, storage=rdb).user_attrs.get("rewarddesign")
        if stored != attrs:
            raise SpecError(
                f"study {name!r} already exists in {redact(str(rdb.url))!r} with "
                f"{_diff(stored, attrs)}; pass another --study name, or the study's own "
                f"settings to resume it."
            )
    s = optuna.create_study(
        study_name=name,
        storage=rdb,
        directions=directions,
        sampler=sampler(worker_seed(sampler_seed, start, worker_id, 0)),
        pruner=_pruner(pruner, config),
        load_if_exists=True,
    )
    if name not in existing:
        try:
            s.set_user_attr("rewarddesign", attrs)
        except BaseException:
            optuna.delete_study(study_name=name, storage=rdb)
            raise
    if on_start is not None:
        on_start(s)
    with StudyProgress(s, trials, every=progress_every) if verbose else nullcontext():
        if workers == 1:
            work(s, config, trials)
        else:
            _spawn(
                config, storage_args, name, trials, pruner, sampler_seed, start, worker_id, workers
            )
    return s


def _spawn(
    config: TuneConfig,
    storage: dict[str, Any],
    study: str,
    trials: int,
    pruner: str,
    sampler_seed: int,
    start: int,
    worker_id: str,
    workers: int,
) -> None:
    """Run ``workers`` local worker processes, worker ``i`` with its own sampler seed."""
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(
            target=_worker,
            args=(
                config,
                storage,
                study,
                trials,
                worker_seed(sampler_seed, start, worker_id, i),
                pruner,
            ),
        )
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    if any(p.exitcode != 0 for p in procs):
        raise RewardDesignError(
            f"tuning workers exited with {[p.exitcode for p in procs]}; the study keeps "
            f"every finished trial: rerun the same command to complete it."
        )


def default_study_name(task: str, method: str, attrs: Mapping[str, Any]) -> str:
    """``TASK:METHOD:HASH``, ``HASH`` the first 8 hex digits of the search settings'
    SHA-256: one name per search, the same in every process and on every machine."""
    text = json.dumps(attrs, sort_keys=True, separators=(",", ":"))
    return f"{task}:{method}:{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def _check_fixed(fixed: Mapping[str, Any], space: Sequence[Dimension]) -> None:
    """Refuse a method parameter that is both fixed and searched (the sample would
    silently replace the fixed value)."""
    searched = {"weights" if d.kind == "weight" else d.name for d in space}
    both = sorted(searched & set(fixed))
    if both:
        raise ParameterError(
            f"method parameter {both[0]!r} is both fixed (method_params, --param) and "
            f"searched; drop one of the two."
        )


def _validate(config: TuneConfig) -> None:
    """A run at the space's midpoint, and at its lower and upper ends, must pass the
    runner's checks before any study exists: a range a method refuses fails here, not in
    every trial."""

    def at(pick: Callable[[Dimension], float]) -> dict[str, float]:
        return {d.key: round(pick(d)) if d.integer else pick(d) for d in config.space}

    points = {
        "middle": at(lambda d: math.sqrt(d.low * d.high) if d.log else (d.low + d.high) / 2),
        "lower end": at(lambda d: d.low),
        "upper end": at(lambda d: d.high),
    }
    for where, point in points.items():
        weights, params = suggest(optuna.trial.FixedTrial(point), config.space)
        spec = RunSpec(
            task=config.task,
            method=config.method,
            agent=config.agent,
            # the last tuning seed at the ends: every seed must be one a run takes
            seed=config.seeds[0] if where == "middle" else config.seeds[-1],
            budget=config.budget,
            method_params=Objective(config).method_params(weights, params),
            agent_preset=config.agent_preset,
            agent_overrides=config.agent_overrides,
            eval=EvalSpec(every=config.eval_every, episodes=config.eval_episodes),
        )
        if where == "middle":
            validate(spec)
            continue
        try:
            validate(spec)
        except (ParameterError, SpecError) as exc:
            searched = {d.name: round(d.sign * point[d.key], 6) for d in config.space}
            raise ParameterError(
                f"the search space's {where} {searched} is refused: {exc} Narrow the "
                f"ranges (--range, --search) to values the method takes."
            ) from None


def _diff(stored: dict | None, wanted: dict) -> str:
    if not stored:
        return "no rewarddesign settings (it was not created by rewarddesign tune)"
    names = {"space": "search space", "seeds": "tuning seeds", "cost": "cost objective"}
    keys = [names.get(k, k) for k in wanted if stored.get(k) != wanted[k]]
    return "a different " + ", ".join(keys)


__all__ = ["PRUNERS", "default_study_name", "tune", "work"]
