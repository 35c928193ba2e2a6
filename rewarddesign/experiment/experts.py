"""Expert agents: SAC (SB3's, or an SBX agent of SAC's family) trained on a task's true
reward, saved for regret labels.

An expert is a folder ``ROOT/<suite>_<task>/`` holding the agent (``model/``: its weights
and config, no pickles), the run's ``result.json`` and ``expert.json`` (task,
steps, seed, measured true return, wall time, device). :class:`CriticOracle` reads its
critic for the regret teacher.

SAC's cost is one gradient step per env step (256x256 networks, batch 256): on this
project's CPU machine that is the bulk of a run's time (wall time per 100k steps in
benchmarks/RESULTS.md, "SAC on the true reward on dm-control and MetaWorld"); a GPU makes
the gradient steps cheap, so ``device="auto"`` uses one when the agent's framework sees
it. SBX's SAC (``agent="sbx-sac"``, the ``jax`` extra) takes about two thirds of the time
on a CPU (benchmarks/RESULTS.md, "Fast agents").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rewarddesign import agents
from rewarddesign.common.checks import check_int
from rewarddesign.common.files import load_json, write_atomic
from rewarddesign.errors import unknown
from rewarddesign.experiment.runner import run
from rewarddesign.task.registry import task_ref, task_spec

DEFAULT_ROOT = Path("experts")


def expert_dir(task: str, root: str | Path = DEFAULT_ROOT) -> Path:
    """Where the expert of ``task`` lives under ``root``."""
    return Path(root) / task.replace("/", "_")


def train_expert(
    task: str,
    steps: int = 100_000,
    seed: int = 0,
    device: str = "auto",
    root: str | Path = DEFAULT_ROOT,
    preset: str | None = None,
    eval_episodes: int = 10,
    progress: Any = None,
    agent: str = "sac",
) -> dict[str, Any]:
    """Train SAC on ``task``'s true reward and save it as the task's expert.

    Args:
        task: A registered task id or the path of a task-spec file of your own.
        steps: Env steps of training (> 0).
        seed: Run seed.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        root: Folder of experts.
        preset: Agent preset (None: the task's SAC settings).
        eval_episodes: Episodes of the final evaluation on the true reward.
        progress: Optional progress hook of :func:`rewarddesign.run`.
        agent: An agent of SAC's family, whose critic and squashed-Gaussian actor the
            regret teacher reads: ``"sac"``, ``"sbx-sac"``, ``"sbx-tqc"``, ``"sbx-crossq"``.

    Returns:
        The expert's record (also written to ``expert.json``).

    Raises:
        UnknownNameError: An unknown task, or an agent not of SAC's family.
    """
    if agent not in agents.EXPERT_AGENTS:
        family = agents.EXPERT_AGENTS
        raise unknown("expert agent (SAC's family: a critic and a Gaussian actor)", agent, family)
    spec = task_spec(task)  # unknown ids fail here, listing the registered ones
    check_int(steps, "expert steps", 1)
    folder = expert_dir(spec.id, root)
    result = run(
        task_ref(spec),  # a spec file of your own by its path: the run reloads it
        "true",
        agent,
        seed=seed,
        budget=steps,
        agent_preset=preset,
        eval_episodes=eval_episodes,
        device=device,
        save_dir=folder,
        progress=progress,
    )
    record = {
        "task": spec.id,
        "task_ref": task_ref(spec),
        "algo": agent,
        "steps": steps,
        "seed": seed,
        "preset": preset,
        "true_return": result.final_return,
        "success": result.final_success,
        "wall_time": result.wall_time,
        "device": result.device,
        "eval_episodes": eval_episodes,
    }
    write_atomic(folder / "expert.json", json.dumps(record, indent=2))
    return record


def list_experts(root: str | Path = DEFAULT_ROOT) -> list[dict[str, Any]]:
    """The records of the experts under ``root``, by task id (none if it does not exist)."""
    found = []
    for path in sorted(Path(root).glob("*/expert.json")):
        found.append({**load_json(path, "expert record"), "path": str(path.parent)})
    return found


__all__ = ["DEFAULT_ROOT", "expert_dir", "list_experts", "train_expert"]
