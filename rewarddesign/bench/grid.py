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

A cell wins over its method and task entries. Packaged grids live in
``benchmarks/grids/`` and are addressed by name; any other file by its path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewarddesign.common.checks import check_keys, is_int, require_list, require_mapping
from rewarddesign.common.files import data_dir, load_yaml
from rewarddesign.contract.runspec import EvalSpec, RunSpec
from rewarddesign.errors import SpecError, unknown

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
    return seeds


def load_grid(grid: str | Path, preset: str | None = None) -> Grid:
    """Load and expand a grid (packaged name or file path) into runs.

    Runs are ordered task-major, then method, then seed.

    Args:
        grid: A packaged grid name or a grid YAML path.
        preset: A name under the grid's ``presets``; its keys replace the grid's
            top-level keys (e.g. ``{seeds: 1, budget: 500}`` for a smoke test).

    Raises:
        SpecError: On a malformed grid; the message names the bad key or value.
    """
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
    seeds = _seeds(doc.get("seeds", [0]), where)
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
                _seeds(t["seeds"], f"{where} task {t['task']!r}") if "seeds" in t else seeds
            )
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
                runs.append(GridRun(spec=spec, method_label=label))
    return Grid(
        name=str(doc.get("name", path.stem)),
        description=str(doc.get("description", "")),
        runs=tuple(runs),
    )
