"""Optuna tuning of blending weights and method parameters: ``rd.tune`` and ``rewarddesign tune``.

The search space is the task's factor weights (for ``blend``: magnitudes on a log
scale, signs from the task spec) and, optionally, scalar method parameters (``beta`` of
``weighted``, ``scale`` of ``shaping``, ...). A trial trains on the sampled reward for
each of ``seeds`` tuning seeds (``seed_base``, ``seed_base + 1``, ...; keep them apart
from the seeds you report on) and scores the mean final true (primary) return. Single-
objective studies report each evaluation to the pruner (the mean over the seeds done so
far and the current one, at step ``k * budget + step`` of seed ``k``); a multi-objective
study (``cost=FACTOR``) also minimises the final evaluation's episode sum of that factor
and gives a Pareto front (Optuna cannot prune multi-objective studies).

Storage is a URL: a file path or ``sqlite:///...`` by default, ``postgresql://...`` for
workers on many machines (the ``distributed`` extra brings the driver). Every worker
records heartbeats; a trial whose worker stops beating for ``grace`` seconds is marked
failed by a surviving worker and retried (``RetryHeartbeatStaleTrialCallback``). Workers stop
when the study holds ``trials`` finished (complete or pruned) trials.
"""

from __future__ import annotations

import dataclasses
import json
import math
import multiprocessing
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import sqlalchemy.exc
import yaml
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback, fail_stale_trials
from optuna.trial import TrialState

from rewarddesign import methods
from rewarddesign.common.files import write_atomic
from rewarddesign.contract.runspec import EvalPoint, EvalSpec, RunSpec
from rewarddesign.errors import (
    ParameterError,
    RewardDesignError,
    SpecError,
    StorageError,
    unknown,
)
from rewarddesign.experiment.runner import run, validate
from rewarddesign.task.registry import task_spec

PRUNERS = ("median", "halving", "none")
DEFAULT_STORAGE = "runs/tune.sqlite"
SPAN = 10.0
"""A default weight ``w`` is searched over ``[|w| / SPAN, |w| * SPAN]`` (log scale)."""


@dataclass(frozen=True)
class Dimension:
    """One searched value: ``sign * x`` with ``x`` in ``[low, high]``.

    Attributes:
        kind: ``"weight"`` (a factor weight of the blend) or ``"param"`` (a method parameter).
        name: The factor or parameter name.
        low: Lower bound of the sampled magnitude.
        high: Upper bound.
        log: Sample on a log scale.
        sign: Sign applied to the sample (the factor's sign in the task spec).
    """

    kind: str
    name: str
    low: float
    high: float
    log: bool = True
    sign: float = 1.0

    @property
    def key(self) -> str:
        """The Optuna parameter name."""
        return f"{self.kind}.{self.name}"


def search_space(
    task: str,
    method: str = "blend",
    factors: Sequence[str] | None = None,
    ranges: Mapping[str, Sequence[float]] | None = None,
    params: Mapping[str, Sequence[Any]] | None = None,
) -> list[Dimension]:
    """The dimensions a study searches.

    Args:
        task: Task id.
        method: ``"blend"`` searches factor weights; any method searches ``params``.
        factors: Factors whose weights are searched (``blend``; default: those with a
            non-zero weight in the task's reward).
        ranges: ``{factor: [low, high]}`` magnitude ranges replacing the default
            ``[|w| / 10, |w| * 10]`` (needed for a factor the reward does not weight).
        params: ``{method parameter: [low, high]}`` or ``[low, high, "log"]``.

    Raises:
        UnknownNameError: A factor or parameter the task or method does not have.
        ParameterError: A bad range, or nothing to search.

    Example:
        >>> for d in search_space("classic/Pendulum-v1"):
        ...     print(d.name, d.low, d.high, d.sign)
        theta_sq 0.1 10.0 -1.0
        theta_dot_sq 0.01 1.0 -1.0
        u_sq 0.0001 0.01 -1.0
    """
    spec = task_spec(task)
    cls = methods.get(method)
    ranges, params = dict(ranges or {}), dict(params or {})
    dims = []
    if method == "blend":
        defaults = spec.default_weights or {}
        names = list(factors) if factors is not None else [n for n, w in defaults.items() if w]
        for name in [*names, *ranges]:
            if name not in spec.factor_names:
                raise unknown(f"factor of task {task!r}", name, spec.factor_names)
        sign = dict(zip(spec.factor_names, (f.sign for f in spec.factors), strict=True))
        for name in dict.fromkeys([*names, *ranges]):
            if name in ranges:
                low, high = _range(ranges[name], f"range of {name!r}")
            elif defaults.get(name):
                w = abs(defaults[name])
                low, high = w / SPAN, w * SPAN
            else:
                raise ParameterError(
                    f"factor {name!r} has no weight in the reward of task {task!r}; give its "
                    f"range, e.g. ranges={{{name!r}: [0.001, 1.0]}} (CLI: --range {name}=0.001:1)."
                )
            dims.append(Dimension("weight", name, low, high, True, float(sign[name])))
    elif factors or ranges:
        raise ParameterError(
            f"factor weights are searched for method 'blend' only, not {method!r}; "
            f"search its parameters with params={{name: [low, high]}}."
        )
    fields = {f.name: f for f in dataclasses.fields(cls.Params)}
    for name, bounds in params.items():
        if name not in fields:
            raise unknown(f"parameter of method {method!r}", name, fields)
        # numbers, or numbers that default to None (annotations are strings here)
        numeric = str(fields[name].type).replace(" | None", "") in ("float", "int")
        if not numeric:
            raise ParameterError(
                f"parameter {name!r} of method {method!r} is not a scalar; only numeric "
                f"parameters can be searched."
            )
        log = len(bounds) == 3 and bounds[2] == "log"
        if len(bounds) == 3 and not log:
            raise ParameterError(f"range of {name!r}: the third entry may only be 'log'.")
        low, high = _range(bounds[:2], f"range of {name!r}", positive=log)
        dims.append(Dimension("param", name, low, high, log))
    if not dims:
        raise ParameterError(
            f"nothing to search for method {method!r} on task {task!r}: name factors "
            f"(blend) or method parameters (params={{name: [low, high]}})."
        )
    return dims


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _range(bounds: Sequence[Any], where: str, positive: bool = True) -> tuple[float, float]:
    if len(bounds) != 2 or not all(_is_number(b) and math.isfinite(b) for b in bounds):
        raise ParameterError(f"{where} must be [low, high] numbers, got {list(bounds)!r}.")
    low, high = float(bounds[0]), float(bounds[1])
    if not low < high or (positive and low <= 0):
        raise ParameterError(
            f"{where} must have {'0 < ' if positive else ''}low < high, got [{low}, {high}]."
        )
    return low, high


@dataclass(frozen=True)
class TuneConfig:
    """What a worker needs to run trials (plain data, so it can go to another process)."""

    task: str
    method: str
    agent: str
    budget: int
    seeds: tuple[int, ...]
    space: tuple[Dimension, ...]
    fixed_params: dict[str, Any] = field(default_factory=dict)
    agent_preset: str | None = None
    agent_overrides: dict[str, Any] = field(default_factory=dict)
    eval_every: int | None = None
    eval_episodes: int = 5
    cost: str | None = None
    device: str = "auto"

    def study_attrs(self) -> dict[str, Any]:
        """What makes two studies the same search (stored with the study)."""
        attrs = asdict(self)
        attrs.pop("device")
        attrs["space"] = [asdict(d) for d in self.space]
        return json.loads(json.dumps(attrs))  # tuples -> lists, as stored


def suggest(trial: optuna.Trial, space: Sequence[Dimension]) -> tuple[dict, dict]:
    """Sample ``(weights, params)`` for a trial."""
    weights, params = {}, {}
    for d in space:
        x = d.sign * trial.suggest_float(d.key, d.low, d.high, log=d.log)
        (weights if d.kind == "weight" else params)[d.name] = x
    return weights, params


class Objective:
    """The study's objective: mean final true return over the tuning seeds (and, with a
    cost factor, its mean final episode sum)."""

    def __init__(self, config: TuneConfig) -> None:
        self.config = config

    def method_params(self, weights: dict, params: dict) -> dict[str, Any]:
        out = {**self.config.fixed_params, **params}
        if weights:
            out["weights"] = weights
        return out

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        c = self.config
        weights, params = suggest(trial, c.space)
        method_params = self.method_params(weights, params)
        finals, costs = [], []
        for k, seed in enumerate(c.seeds):

            def on_eval(point: EvalPoint, k: int = k, seed: int = seed) -> None:
                if c.cost is not None:
                    return
                trial.report((sum(finals) + point.mean_return) / (k + 1), k * c.budget + point.step)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at seed {seed}, step {point.step}")

            result = run(
                c.task,
                c.method,
                c.agent,
                seed,
                c.budget,
                agent_preset=c.agent_preset,
                agent_overrides=c.agent_overrides,
                eval_every=c.eval_every,
                eval_episodes=c.eval_episodes,
                device=c.device,
                on_eval=on_eval,
                method_params=method_params,
            )
            finals.append(result.final_return)
            if c.cost is not None:
                costs.append(result.curve[-1].factors[c.cost])
        trial.set_user_attr("final_returns", finals)
        if c.cost is not None:
            return float(np.mean(finals)), float(np.mean(costs))
        return float(np.mean(finals))


def open_storage(
    storage: str | None = None, heartbeat: int = 60, grace: int | None = None, retries: int = 2
) -> RDBStorage:
    """An Optuna RDB storage with heartbeats and retries of stale trials.

    Args:
        storage: A file path (SQLite), ``sqlite:///...`` or ``postgresql://...``; None
            is ``runs/tune.sqlite``.
        heartbeat: Seconds between a running trial's heartbeats.
        grace: Seconds without a heartbeat before a trial is failed (default 2 x heartbeat).
        retries: Times a failed (stale) trial is retried.

    Raises:
        StorageError: The URL is malformed, its driver is missing or the server cannot be
            reached.
    """
    url = storage_url(storage)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if heartbeat < 1 or (grace is not None and grace <= heartbeat) or retries < 0:
        raise ParameterError(
            f"need heartbeat >= 1 s, grace > heartbeat and retries >= 0; got heartbeat "
            f"{heartbeat}, grace {grace}, retries {retries}."
        )
    engine: dict[str, Any] = {}
    if url.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401  (SQLAlchemy 2.1's driver for postgresql://)
        except ImportError:
            raise StorageError(
                "a postgresql:// storage needs the PostgreSQL driver: "
                'pip install "rewarddesign[distributed]".'
            ) from None
        engine = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    for attempt in range(1, 4):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.8
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(
                    url,
                    engine_kwargs=engine,
                    heartbeat_interval=heartbeat,
                    grace_period=grace or 2 * heartbeat,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                        max_retry=retries
                    ),
                )
        except Exception as exc:  # SQLAlchemy's errors differ by driver: all "cannot open"
            # workers that start together on an empty database race to create its
            # tables; the losers find them on their next try
            racing = isinstance(
                exc, sqlalchemy.exc.IntegrityError | sqlalchemy.exc.ProgrammingError
            )
            if racing and attempt < 3:
                time.sleep(attempt)
                continue
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StorageError(
                f"cannot open the Optuna storage {redact(url)!r}: {first}. Check the URL, "
                f"that the server runs and is reachable from here, and the credentials."
            ) from None
    raise StorageError(f"cannot open the Optuna storage {redact(url)!r}.")  # not reached


def storage_url(storage: str | None = None) -> str:
    """The storage's URL: a file path becomes ``sqlite:///ABSOLUTE_PATH`` (None:
    ``runs/tune.sqlite``); the form ``optuna-dashboard URL`` takes."""
    url = storage or DEFAULT_STORAGE
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def redact(url: str) -> str:
    """The URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


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
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ParameterError(f"trials must be an integer >= 1, got {trials!r}.")
    for name, value in (("seeds", seeds), ("workers", workers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ParameterError(f"{name} must be an integer >= 1, got {value!r}.")
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


def best_weights(study: optuna.Study) -> dict[str, Any]:
    """The best trial's method parameters as a YAML-ready document.

    Single objective: the best trial. Multi-objective: the Pareto front (``pareto``),
    with the front's highest-return trial at the top level.
    """
    attrs = study.user_attrs.get("rewarddesign")
    if not attrs:
        raise SpecError(f"study {study.study_name!r} was not created by rewarddesign tune.")
    config = TuneConfig(
        **{
            **attrs,
            "space": tuple(Dimension(**d) for d in attrs["space"]),
            "seeds": tuple(attrs["seeds"]),
        }
    )
    objective = Objective(config)
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    if not done:
        raise SpecError(f"study {study.study_name!r} has no complete trial yet.")

    def entry(t: optuna.trial.FrozenTrial) -> dict[str, Any]:
        weights, params = suggest(optuna.trial.FixedTrial(t.params), config.space)
        return {
            "trial": t.number,
            "values": [float(v) for v in t.values],
            "params": objective.method_params(weights, params),
        }

    front = [entry(t) for t in study.best_trials]
    top = max(front, key=lambda e: e["values"][0])
    doc = {
        "task": config.task,
        "method": config.method,
        "study": study.study_name,
        "objectives": ["final true return"]
        + ([f"{config.cost} episode sum"] if config.cost else []),
        **top,
    }
    if config.cost is not None:
        doc["pareto"] = front
    return doc


def write_best(study: optuna.Study, path: str | Path) -> dict[str, Any]:
    """Write :func:`best_weights` as YAML (atomically); ``rd.run(task, method, **doc["params"])``
    and a grid's ``params: {weights: PATH}`` take it."""
    doc = best_weights(study)
    write_atomic(path, yaml.safe_dump(doc, sort_keys=False))
    return doc


__all__ = [
    "Dimension",
    "Objective",
    "TuneConfig",
    "best_weights",
    "open_storage",
    "redact",
    "search_space",
    "storage_url",
    "tune",
    "work",
    "write_best",
]
