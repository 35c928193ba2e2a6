"""The study lifecycle: ``tune`` and the worker loop that runs a study's trials.

:func:`tune` checks a request before any study exists, creates or resumes its study and
runs the trials in this process or in spawned local workers (:func:`work`); the pruner
and sampler are chosen here.
"""

from __future__ import annotations

import math
import multiprocessing
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from optuna.storages import fail_stale_trials
from optuna.trial import TrialState

from rewarddesign.common.checks import check_int
from rewarddesign.contract.runspec import EvalSpec, RunSpec
from rewarddesign.errors import RewardDesignError, SpecError, unknown
from rewarddesign.experiment.runner import validate
from rewarddesign.task.registry import task_spec
from rewarddesign.tuning.objective import Objective, TuneConfig
from rewarddesign.tuning.space import search_space, suggest
from rewarddesign.tuning.storage import open_storage, redact

PRUNERS = ("median", "halving", "none")


def _pruner(name: str, config: TuneConfig) -> optuna.pruners.BasePruner:
    if config.cost is not None:  # Optuna cannot prune multi-objective studies
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


def _sampler(seed: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(seed=seed)


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
        sampler=_sampler(seed),
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
    heartbeat: int = 60,
    grace: int | None = None,
    retries: int = 2,
    device: str = "auto",
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
        study: Study name (default ``TASK:METHOD``).
        workers: Local worker processes.
        pruner: ``"median"``, ``"halving"`` or ``"none"`` (single objective only).
        cost: A factor to minimise as a second objective (its final episode sum).
        factors, ranges, params: The search space (:func:`search_space`).
        method_params: Fixed parameters of the method.
        agent_preset, agent_overrides, eval_every, eval_episodes: As in :func:`rd.run`.
        sampler_seed: Seed of the TPE sampler (worker ``i`` uses ``sampler_seed + i``).
        heartbeat, grace, retries: Failure handling (:func:`open_storage`).
        device: Torch device of the agents.

    Raises:
        ParameterError, UnknownNameError, SpecError, StorageError: On bad input, before
            any study is created.

    Example:
        >>> import rewarddesign as rd, tempfile, os
        >>> db = os.path.join(tempfile.mkdtemp(), "t.sqlite")
        >>> st = rd.tune("classic/Pendulum-v1", trials=2, budget=200, storage=db,
        ...              agent_preset="fast", eval_episodes=1, factors=["theta_sq"])
        >>> len(st.trials), sorted(st.best_params)
        (2, ['weight.theta_sq'])
    """
    check_int(trials, "trials", 1)
    for name, value in (("seeds", seeds), ("workers", workers)):
        check_int(value, f"{name}", 1)
    if pruner not in PRUNERS:
        raise unknown("pruner", pruner, PRUNERS)
    spec = task_spec(task)
    if cost is not None and cost not in spec.factor_names:
        raise unknown(f"cost factor of task {task!r}", cost, spec.factor_names)
    space = tuple(search_space(task, method, factors, ranges, params))
    config = TuneConfig(
        task=task,
        method=method,
        agent=agent,
        budget=budget,
        seeds=tuple(range(seed_base, seed_base + seeds)),
        space=space,
        fixed_params=dict(method_params or {}),
        agent_preset=agent_preset,
        agent_overrides=dict(agent_overrides or {}),
        eval_every=eval_every,
        eval_episodes=eval_episodes,
        cost=cost,
        device=device,
    )
    # a run with the space's midpoints must pass the runner's checks before any study exists
    mid = {
        d.key: d.low
        if d.low == d.high
        else math.sqrt(d.low * d.high)
        if d.log
        else (d.low + d.high) / 2
        for d in space
    }
    weights, params_ = suggest(optuna.trial.FixedTrial(mid), space)
    validate(
        RunSpec(
            task=task,
            method=method,
            agent=agent,
            seed=config.seeds[0],
            budget=budget,
            method_params=Objective(config).method_params(weights, params_),
            agent_preset=agent_preset,
            agent_overrides=config.agent_overrides,
            eval=EvalSpec(every=eval_every, episodes=eval_episodes),
        )
    )
    storage_args = {"storage": storage, "heartbeat": heartbeat, "grace": grace, "retries": retries}
    rdb = open_storage(**storage_args)
    name = study or f"{task}:{method}"
    directions = ["maximize", "minimize"] if cost is not None else ["maximize"]
    attrs = config.study_attrs()
    existing = {s.study_name: s for s in optuna.get_all_study_summaries(rdb)}
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
        sampler=_sampler(sampler_seed),
        pruner=_pruner(pruner, config),
        load_if_exists=True,
    )
    if name not in existing:
        try:
            s.set_user_attr("rewarddesign", attrs)
        except BaseException:
            optuna.delete_study(study_name=name, storage=rdb)
            raise
    if workers == 1:
        work(s, config, trials)
    else:
        ctx = multiprocessing.get_context("spawn")
        procs = [
            ctx.Process(
                target=_worker, args=(config, storage_args, name, trials, sampler_seed + i, pruner)
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
    return s


def _diff(stored: dict | None, wanted: dict) -> str:
    if not stored:
        return "no rewarddesign settings (it was not created by rewarddesign tune)"
    names = {"space": "search space", "seeds": "tuning seeds", "cost": "cost objective"}
    keys = [names.get(k, k) for k in wanted if stored.get(k) != wanted[k]]
    return "a different " + ", ".join(keys)


__all__ = ["PRUNERS", "tune", "work"]
