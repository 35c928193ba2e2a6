"""Stable run keys: a hash of the fully resolved run, so a store knows what it has done."""

from __future__ import annotations

import dataclasses
import hashlib
import json

from rewarddesign import agents, methods
from rewarddesign.common.version import package_version
from rewarddesign.contract.runspec import RunSpec
from rewarddesign.methods.base import key_params
from rewarddesign.task.registry import task_spec

# What a stored result means, part of every key: raise it when the same run would now
# report different numbers, so stores rerun their runs instead of mixing old and new.
# 2: the final evaluation is of the policy that is saved, after the agent's last updates
# (it was made before PPO's last rollout update and an off-policy agent's last steps).
RESULTS_VERSION = 2


def _version() -> str:
    # part of every key: an installed package's value is its metadata's, as it always
    # was, so stores keep their keys (an uninstalled tree's was "source")
    return package_version()


def resolved(spec: RunSpec) -> dict:
    """Everything a run's outcome depends on, as plain data.

    The run spec, the task spec's content (not its file name; its personas only for a
    method that reads them), the method's parameters
    with its defaults filled in (a parameter added later only once set; one naming a file
    as its content's hash) and the agent's
    merged hyperparameters (so a changed default or an edited agent YAML gives new
    keys), the package version and
    :data:`RESULTS_VERSION`.
    """
    task = dataclasses.asdict(task_spec(spec.task))
    task.pop("path")
    task.pop("transitions")  # read by diagnostics only, never in a run
    # a section added later: part of the key only of a method that reads it
    if not task["personas"] or not methods.get(spec.method).reads_personas:
        task.pop("personas")
    run = spec.to_dict()
    run["task"] = task["id"]  # a spec file's path is not part of the run: its content is
    agent = agents.config(spec.agent, spec.task, spec.agent_preset, **spec.agent_overrides)
    method = methods.get(spec.method)
    parsed = method.parse_params(spec.method_params)
    content = method.content_keys(parsed)  # a file's content, not its path
    params = key_params(parsed) | content
    run["method_params"] = run["method_params"] | {
        k: v for k, v in content.items() if k in run["method_params"]
    }
    return {
        "spec": run,
        "task": task,
        "method": params,
        "agent": agent,
        "rewarddesign": _version(),
        "results": RESULTS_VERSION,
    }


def run_key(spec: RunSpec) -> str:
    """A 20-hex-digit key of the fully resolved run.

    Example:
        >>> from rewarddesign.contract.runspec import RunSpec
        >>> a = RunSpec(task="classic/Pendulum-v1", method="true", agent="sac", seed=0)
        >>> run_key(a) == run_key(RunSpec.from_json(a.to_json()))
        True
        >>> b = RunSpec(task="classic/Pendulum-v1", method="true", agent="sac", seed=1)
        >>> run_key(a) == run_key(b)
        False
    """
    return digest(resolved(spec))


def digest(resolved_run: dict) -> str:
    """The 20-hex-digit key of a resolved run (as :func:`resolved` gives it)."""
    text = json.dumps(resolved_run, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:20]
