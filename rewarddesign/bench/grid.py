"""Benchmark grids: a YAML file of tasks x methods x seeds, expanded into RunSpecs.

Schema (every key but ``tasks`` and ``methods`` optional; unknown keys are errors)::

    name: quick                  # defaults to the file name
    description: what the grid shows
    seeds: [0, 1, 2]             # a list, or an integer n meaning 0..n-1
    budget: 8000                 # env steps per run
    agent: sac                   # default agent
    agent_preset: fast           # default agent preset (or null)
    agent_overrides: {}          # default agent hyperparameters
    eval: {every: 1000, episodes: 5}
    tasks:                       # a task id, or a mapping overriding the defaults above
      - classic/Pendulum-v1
      - {task: classic/CartPole-v1, agent: ppo, budget: 20000, agent_preset: null}
      - {task: classic/MountainCarContinuous-sparse-v0, methods: ["true", shaping]}
      - {task: barfi/MountainCar-sparse, seeds: 5}
    methods:                     # a method name, or a mapping with params and a label
      - "true"                   # quote it: bare true is a YAML boolean
      - {method: blend, label: blend-ctrl, params: {weights: {theta_sq: -1.0}}}

A task entry's ``methods`` lists the method labels run on it (default: all of them),
its ``seeds`` replace the grid's for that task.
A method entry may also override ``agent``, ``agent_preset``, ``agent_overrides`` and
``budget`` (a method entry wins over a task entry). Two more optional keys::

    cells:                       # per-cell overrides, matched by task and method label
      - {task: classic/Pendulum-v1, method: blend-ctrl, budget: 12000}
      - {task: barfi/GridWorld, method: barfi, params: {lr: 0.003}}   # merged into its params
    presets:                     # named variants of the grid's top-level keys
      smoke: {seeds: 1, budget: 600}   # rewarddesign bench GRID --preset smoke

A cell wins over its method and task entries. ``load_grid``'s ``seeds`` and ``budget``
(``bench --seeds N --budget B``) override everything after the preset. A seed listed
twice is an error. Packaged grids live in ``benchmarks/grids/`` and are addressed by
name; any other file by its path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewarddesign.common.checks import (
    check_int,
    check_keys,
    is_int,
    require_list,
    require_mapping,
)
from rewarddesign.common.files import data_dir, load_yaml
from rewarddesign.contract.runspec import EvalSpec, RunSpec
from rewarddesign.errors import ParameterError, RewardDesignError, SpecError, unknown
from rewarddesign.task.registry import resolve_task_ref, task_ref

_TOP = {
    "name",
    "description",
    "seeds",
    "budget",
    "agent",
    "agent_preset",
    "agent_overrides",
    "eval",
    "tasks",
    "methods",
    "cells",
    "presets",
}
_OVERRIDABLE = {"agent", "agent_preset", "agent_overrides", "budget"}


@dataclass(frozen=True)
class GridRun:
    """One run of a grid: its spec and the row label its method has in tables."""

    spec: RunSpec
    method_label: str


@dataclass(frozen=True)
class Grid:
    """An expanded grid."""

    name: str
    description: str
    runs: tuple[GridRun, ...]


def grids() -> list[str]:
    """Names of the packaged grids."""
    return sorted(p.stem for p in data_dir("grids").glob("*.yaml"))


def grid_path(grid: str | Path) -> Path:
    """Resolve a packaged grid name or a file path."""
    path = Path(grid)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise SpecError(f"grid file {str(path)!r} does not exist.")
        return path
    packaged = data_dir("grids") / f"{grid}.yaml"
    if not packaged.is_file():
        raise unknown("grid", str(grid), grids(), "Or pass the path of a grid YAML file.")
    return packaged


def _entry(raw: Any, key: str, where: str, extra: set[str]) -> dict[str, Any]:
    if isinstance(raw, bool):
        raise SpecError(f'{where} entry {raw!r} is a YAML boolean; quote the name, e.g. "true".')
    if isinstance(raw, str):
        return {key: raw}
    raw = require_mapping(raw, f"{where} entry")
    check_keys(raw, f"{where} entry {raw.get(key)!r}", {key} | extra, {key})
    return raw


def _seeds(seeds: Any, where: str) -> list[int]:
    if is_int(seeds) and seeds > 0:
        seeds = list(range(seeds))
    if not isinstance(seeds, list) or not seeds or not all(is_int(s) for s in seeds):
        raise SpecError(
            f"{where} seeds must be a non-empty list or a positive integer, got {seeds!r}."
        )
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:  # two identical runs would be merged into one, silently
        raise SpecError(
            f"{where} seeds {seeds!r} list seed {repeated[0]!r} more than once; "
            "list each seed once."
        )
    return seeds


def _first_seeds(seeds: list[int], n: int) -> list[int]:
    """``--seeds n``: the first ``n`` seeds, continued after the largest if ``n`` is more."""
    extra = range(max(seeds) + 1, max(seeds) + 1 + n - len(seeds))
    return [*seeds[:n], *extra]


def load_grid(
    grid: str | Path,
    preset: str | None = None,
    *,
    seeds: int | None = None,
    budget: int | None = None,
) -> Grid:
    """Load and expand a grid (packaged name or file path) into runs.

    Runs are ordered task-major, then method, then seed.

    Args:
        grid: A packaged grid name or a grid YAML path.
        preset: A name under the grid's ``presets``; its keys replace the grid's
            top-level keys (e.g. ``{seeds: 1, budget: 500}`` for a smoke test).
        seeds: Run only the first ``seeds`` seeds of every task (after the preset); a
            task with fewer continues after its largest (``[0, 1, 2]`` and 5: 0..4). The
            runs kept are the full grid's, so their results count for it later.
        budget: Replace every run's budget, task, method and cell ones included (after
            the preset). Schedules are not rescaled: a run whose evaluation interval,
            agent warm-up or PPO rollout the budget cannot hold is refused, and the
            message names the grid's ``smoke`` preset, sized to work.

    Raises:
        SpecError: On a malformed grid; the message names the bad key or value.
        ParameterError: On a bad ``seeds`` or ``budget``, or a run ``budget`` makes
            impossible.

    Example:
        >>> grid = load_grid("pbrl_pendulum", seeds=2, budget=3000)
        >>> sorted({(r.spec.seed, r.spec.budget) for r in grid.runs})
        [(0, 3000), (1, 3000)]
    """
    if seeds is not None:
        check_int(seeds, "--seeds", 1)
    if budget is not None:
        check_int(budget, "--budget", 1)
    path = grid_path(grid)
    where = f"grid {str(path)!r}"
    doc = require_mapping(load_yaml(path), where)
    check_keys(doc, where, _TOP, {"tasks", "methods"})
    presets = require_mapping(doc.get("presets") or {}, f"{where} presets")
    if preset is not None:
        if preset not in presets:
            raise unknown(f"preset of {where}", preset, presets)
        chosen = require_mapping(presets[preset], f"{where} preset {preset!r}")
        check_keys(chosen, f"{where} preset {preset!r}", _TOP - {"presets", "name"})
        doc = {**doc, **chosen}
    grid_seeds = _seeds(doc.get("seeds", [0]), where)
    defaults = {
        "agent": doc.get("agent", "sac"),
        "agent_preset": doc.get("agent_preset"),
        "agent_overrides": doc.get("agent_overrides") or {},
        "budget": doc.get("budget", 20_000),
    }
    eval_doc = doc.get("eval") or {}
    for key in ("tasks", "methods"):
        if not isinstance(doc[key], list) or not doc[key]:
            raise SpecError(f"{where} {key} must be a non-empty list.")
    tasks = [
        _entry(t, "task", f"{where} tasks", _OVERRIDABLE | {"eval", "methods", "seeds"})
        for t in doc["tasks"]
    ]
    # an own spec file may sit beside the grid; runs name it by its absolute path (a
    # packaged task by its id), so a report from another folder finds it; a task that
    # cannot load is refused now
    tasks = [{**t, "task": task_ref(resolve_task_ref(str(t["task"]), path))} for t in tasks]
    methods = [
        _entry(m, "method", f"{where} methods", _OVERRIDABLE | {"label", "params"})
        for m in doc["methods"]
    ]
    task_ids = [t["task"] for t in tasks]
    if len(set(task_ids)) != len(task_ids):
        raise SpecError(f"{where} lists a task twice: {task_ids}; use cells for per-cell changes.")
    labels = [str(m.get("label", m["method"])) for m in methods]
    for label in labels:
        if not label or any(c in label for c in "|:\n"):
            raise SpecError(
                f"{where} method label {label!r} must be non-empty, without | : or newlines."
            )
    if len(set(labels)) != len(labels):
        raise SpecError(f"{where} has duplicate method labels {labels}; give each a 'label'.")

    for t in tasks:
        chosen = require_list(t.get("methods", labels), f"{where} task {t['task']!r} methods")
        bad = [label for label in chosen if label not in labels]
        if bad or not chosen:
            raise SpecError(
                f"{where} task {t['task']!r} methods {chosen!r} must be a non-empty list of "
                f"the grid's method labels {labels}."
            )

    cells = {}
    for raw in require_list(doc.get("cells") or [], f"{where} cells"):
        cell = require_mapping(raw, f"{where} cell")
        check_keys(
            cell, f"{where} cell", {"task", "method", "params"} | _OVERRIDABLE, {"task", "method"}
        )
        cell = {**cell, "task": task_ref(resolve_task_ref(str(cell["task"]), path))}
        if cell["task"] not in {t["task"] for t in tasks} or cell["method"] not in labels:
            raise SpecError(
                f"{where} cell ({cell['task']!r}, {cell['method']!r}) matches no task x method "
                f"label; tasks {[t['task'] for t in tasks]}, method labels {labels}."
            )
        cells[cell["task"], cell["method"]] = {
            k: cell[k] for k in cell if k in _OVERRIDABLE | {"params"}
        }

    runs = []
    for t in tasks:
        for m, label in zip(methods, labels, strict=True):
            if label not in t.get("methods", labels):
                continue
            cfg = {**defaults, **{k: t[k] for k in t if k in _OVERRIDABLE}}
            cfg.update({k: m[k] for k in m if k in _OVERRIDABLE})
            cell = cells.get((t["task"], label), {})
            cfg.update({k: v for k, v in cell.items() if k != "params"})
            if budget is not None:
                cfg["budget"] = budget
            run_where = f"{where} run {t['task']!r} x {label!r}"
            overrides = require_mapping(cfg["agent_overrides"], f"{run_where} agent_overrides")
            # a cell's params refine its method's, key by key
            params = {
                **require_mapping(m.get("params") or {}, f"{run_where} params"),
                **require_mapping(cell.get("params") or {}, f"{run_where} cell params"),
            }
            # a task's eval settings refine the grid's, key by key
            evaluation = EvalSpec.from_dict(
                {
                    **require_mapping(eval_doc, f"{where} eval"),
                    **require_mapping(t.get("eval") or {}, f"{run_where} eval"),
                }
            )
            task_seeds = (
                _seeds(t["seeds"], f"{where} task {t['task']!r}") if "seeds" in t else grid_seeds
            )
            if seeds is not None:
                task_seeds = _first_seeds(task_seeds, seeds)
            for seed in task_seeds:
                spec = RunSpec(
                    task=t["task"],
                    method=m["method"],
                    agent=cfg["agent"],
                    seed=seed,
                    budget=cfg["budget"],
                    method_params=dict(params),
                    agent_preset=cfg["agent_preset"],
                    agent_overrides=dict(overrides),
                    eval=evaluation,
                )
                spec.validate()
                if budget is not None:
                    check_budget(spec, f"{run_where} seed {seed}", _budget_fix(presets, preset))
                runs.append(GridRun(spec=spec, method_label=label))
    return Grid(
        name=str(doc.get("name", path.stem)),
        description=str(doc.get("description", "")),
        runs=tuple(runs),
    )


def _budget_fix(presets: dict[str, Any], preset: str | None) -> str:
    if preset == "smoke":
        return "the smoke preset's own budgets fit: drop --budget"
    if "smoke" in presets:
        return "the grid's smoke preset is sized for short runs: --preset smoke"
    return "this grid has no smoke preset; raise --budget"


def check_budget(spec: RunSpec, where: str, fix: str) -> None:
    """Refuse a run that ``--budget`` (``spec.budget``) makes impossible.

    Impossible: no evaluation before the end of the budget (``eval.every`` longer), an
    off-policy agent that never learns (``learning_starts`` as long), whatever the run's
    own check refuses (:func:`rewarddesign.experiment.runner.validate`: a PPO rollout
    longer than the budget, a budget under the method's ``min_budget``, e.g. a preference
    loop's first feedback session).

    Args:
        spec: The run, with the budget ``--budget`` gave it.
        where: The run, for the message.
        fix: What to do instead (the grid's ``smoke`` preset, where it has one).

    Raises:
        ParameterError: Naming the run, what does not fit, the smallest budget it needs
            where known, and ``fix``.
    """
    from rewarddesign import agents
    from rewarddesign.experiment.runner import validate  # the runs' whole stack: lazily

    need, why = None, None
    cfg = agents.config(spec.agent, spec.task, spec.agent_preset, **spec.agent_overrides)
    starts = (cfg or {}).get("learning_starts")
    if spec.eval.every is not None and spec.eval.every > spec.budget:
        need, why = spec.eval.every, f"is shorter than its evaluation interval {spec.eval.every}"
    elif is_int(starts) and starts >= spec.budget:
        need, why = starts + 1, f"ends before its agent learns (learning_starts {starts})"
    else:
        try:
            validate(spec)
        except RewardDesignError as exc:
            why = f"is refused: {str(exc).rstrip('.')}"
    if why is None:
        return
    if need is not None:
        why += f"; it needs a budget of at least {need}"
    raise ParameterError(
        f"{where}: --budget {spec.budget} {why}. Schedules are not rescaled by --budget; {fix}."
    )
