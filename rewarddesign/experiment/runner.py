"""Execute a :class:`~rewarddesign.contract.RunSpec`: ``rd.run(...)`` and :func:`execute`."""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import platform
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.utils import set_random_seed

from rewarddesign import agents
from rewarddesign.common.checks import check_int
from rewarddesign.common.files import write_atomic
from rewarddesign.common.version import package_version
from rewarddesign.contract.evaluation import Evaluator
from rewarddesign.contract.runspec import EvalSpec, RunResult, RunSpec
from rewarddesign.errors import ParameterError, SpecError, unknown
from rewarddesign.experiment.progress import terminal_progress
from rewarddesign.methods import Method, RunContext, get
from rewarddesign.methods.base import OnEval, Progress
from rewarddesign.task.registry import make, task_spec

_VERSIONED = ("gymnasium", "stable-baselines3", "torch", "numpy", "mujoco")


def versions() -> dict[str, str]:
    """Versions of Python, rewarddesign and the packages a result depends on."""
    # rewarddesign's own from the one place its run keys also take it from
    found = {"python": platform.python_version(), "rewarddesign": package_version()}
    for name in _VERSIONED:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def validate(spec: RunSpec) -> Method:
    """Check every name and parameter of a spec before anything runs.

    Returns:
        The method instance the spec asks for.

    Raises:
        RewardDesignError: A subclass naming the bad value and the valid choices.
    """
    spec.validate()
    task = task_spec(spec.task)
    cls = get(spec.method)
    if spec.agent not in cls.agents:
        raise unknown(f"agent for method {spec.method!r}", spec.agent, cls.agents)
    method = cls(cls.parse_params(spec.method_params))
    method.validate(task, spec.agent)
    least = method.min_budget(spec.agent)
    if least is not None and spec.budget < least:  # a run that would learn nothing
        raise ParameterError(
            f"method {spec.method!r} needs a budget of at least {least} env steps with these "
            f"parameters (a shorter run ends before its schedule starts: for a preference "
            f"loop, its first feedback session, after seed_steps + pretrain_steps and one "
            f"segment); got budget {spec.budget}. Raise the budget or shorten the schedule."
        )
    cfg = agents.config(spec.agent, spec.task, spec.agent_preset, **spec.agent_overrides)
    if cfg is not None:  # an SB3 agent (a method's own learner has no config)
        agents.check_action_space(spec.agent, _action_space(spec.task))
        if cfg.get("tensorboard_log") is not None and not _has_tensorboard():
            raise ParameterError(
                f"tensorboard_log={cfg['tensorboard_log']!r} needs tensorboard, which is not "
                "installed; pip install 'rewarddesign[tensorboard]' (or tensorboard)."
            )
        rollout = int(cfg.get("n_envs", 1)) * int(cfg.get("n_steps", 1))
        if not agents.kind(spec.agent).off_policy and spec.budget < rollout:
            raise ParameterError(
                f"budget {spec.budget} is less than one PPO rollout (n_envs x n_steps = "
                f"{rollout}); raise the budget or override n_steps."
            )
    return method


def _has_tensorboard() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


def check_save_dir(save_dir: str | Path) -> None:
    """Refuse a run folder that cannot be written, before training rather than after it.

    Raises:
        ParameterError: If the folder, or one above it, is an existing file, or the
            ``model`` folder or ``result.json`` inside it is of the other kind.
    """
    folder = Path(save_dir)
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                where = "" if above == folder else f" (in save_dir {str(folder)!r})"
                raise ParameterError(
                    f"{str(above)!r}{where} is an existing file, not a folder; give a new "
                    "or existing folder for the run."
                )
            break
    for inside, is_folder in (("model", True), ("result.json", False)):
        path = folder / inside
        if path.exists() and path.is_dir() != is_folder:
            kind = "a file" if path.is_dir() else "a folder"
            raise ParameterError(
                f"save_dir {str(folder)!r}: {str(path)!r} must be {kind} to save the run "
                "there; remove it or give another folder."
            )


@functools.cache  # a grid validates many runs of few tasks; build each env once
def _action_space(task: str) -> gym.Space:
    env = make(task)
    try:
        return env.action_space
    finally:
        env.close()


def execute(
    spec: RunSpec,
    *,
    device: str = "auto",
    progress: Progress | None = None,
    on_eval: OnEval | None = None,
    save_dir: str | Path | None = None,
    torch_threads: int | None = 1,
) -> RunResult:
    """Run one spec to its end.

    Args:
        spec: What to run.
        device: Device of the agent (torch's, or JAX's for SBX) and the reward model:
            ``"auto"``, ``"cpu"`` or ``"cuda"``.
        progress: Optional hook ``(steps_done, budget, last_true_return)``.
        on_eval: Optional hook called with each :class:`EvalPoint` as it is made; an
            exception it raises ends the run (a tuner's pruning).
        save_dir: If given, the trained policy (state dict + config), what the method
            learned besides it (a learned reward model in ``reward_model/``; a preference
            loop's labels and model after every feedback session in ``sessions/NNN/``,
            as it goes) and ``result.json`` are written there (atomically).
        torch_threads: Torch CPU threads for this process (one is fastest for the small
            networks of control tasks and lets runs share cores); None leaves it. One
            also makes XLA single-threaded if JAX is not yet imported in this process.

    Returns:
        The result, with the evaluation curve on the true reward.
    """
    method = validate(spec)
    if save_dir is not None:
        check_save_dir(save_dir)
    threads = torch.get_num_threads()
    if torch_threads is not None:
        torch.set_num_threads(torch_threads)
    if torch_threads == 1:  # SBX agents too: N workers use N cores
        agents.single_threaded_xla()
    set_random_seed(spec.seed)
    task = task_spec(spec.task)
    evaluator = Evaluator(task, spec.eval.episodes, spec.eval.seed)
    ctx = RunContext(
        spec=spec,
        task=task,
        device=agents.resolve_device(device),
        rng=np.random.default_rng(spec.seed),
        evaluator=evaluator,
        progress=progress,
        on_eval=on_eval,
        save_dir=None if save_dir is None else Path(save_dir),
    )
    start = time.perf_counter()
    try:
        method.train(ctx)
    finally:
        evaluator.close()
        torch.set_num_threads(threads)
    last = ctx.curve[-1]
    result = RunResult(
        spec=spec,
        curve=ctx.curve,
        final_return=last.mean_return,
        final_success=last.success_rate,
        series=ctx.series,
        env_steps=ctx.env_steps,
        labels_used=ctx.labels_used,
        wall_time=time.perf_counter() - start,
        device=ctx.device,
        versions=versions(),
    )
    if save_dir is not None:
        save_dir = Path(save_dir)
        if ctx.model is not None:
            agents.save(
                ctx.model,
                save_dir / "model",
                {
                    "algo": spec.agent,
                    "task": spec.task,
                    "preset": spec.agent_preset,
                    "overrides": spec.agent_overrides,
                },
            )
        method.save(save_dir)
        write_atomic(save_dir / "result.json", result.to_json(indent=2))
    return result


def run(
    task: str,
    method: str = "true",
    agent: str = "sac",
    seed: int = 0,
    budget: int = 20_000,
    *,
    agent_preset: str | None = None,
    agent_overrides: dict[str, Any] | None = None,
    eval_every: int | None = None,
    eval_episodes: int = 5,
    device: str = "auto",
    progress: Progress | None = None,
    on_eval: OnEval | None = None,
    save_dir: str | Path | None = None,
    verbose: int = 1,
    method_params: dict[str, Any] | None = None,
    **params: Any,
) -> RunResult:
    """Train an agent on a task with a reward method and evaluate it on the true reward.

    Args:
        task: Task id, e.g. ``"classic/Pendulum-v1"``.
        method: Reward method, e.g. ``"true"`` or ``"blend"``.
        agent: An agent of ``rd.agents.AGENTS`` (``"sac"``, ``"td3"``, ``"ppo"``, the SBX
            ``"sbx-sac"``, ...), or a method's own agent.
        seed: Random seed.
        budget: Training budget in env steps.
        agent_preset: Agent preset, e.g. ``"fast"``.
        agent_overrides: Agent hyperparameters overriding the spec.
        eval_every: Evaluate every this many env steps (default budget // 10).
        eval_episodes: Deterministic episodes per evaluation.
        device: ``"auto"`` (cuda when available), ``"cpu"`` or ``"cuda"``.
        progress: Optional progress hook (it replaces the progress bar).
        on_eval: Optional hook called with each evaluation as it is made.
        save_dir: Folder to save the policy and ``result.json`` to.
        verbose: 1 (default; or True) shows a progress bar on stderr when it is a
            terminal; 0 (or False) shows nothing.
        method_params: The method's parameters as a dict (for names that clash with
            this function's own arguments).
        **params: The method's parameters (e.g. ``weights=...`` for ``blend``).

    Returns:
        The :class:`~rewarddesign.contract.runspec.RunResult`.

    Example:
        >>> import rewarddesign as rd
        >>> result = rd.run("classic/Pendulum-v1", "true", "sac", seed=0, budget=400,
        ...                 agent_preset="fast", eval_episodes=1)
        >>> [p.step for p in result.curve]
        [40, 80, 120, 160, 200, 240, 280, 320, 360, 400]
    """
    spec = RunSpec(
        task=task,
        method=method,
        agent=agent,
        seed=seed,
        budget=budget,
        method_params=_merge_params(method_params, params),
        agent_preset=agent_preset,
        agent_overrides=dict(agent_overrides or {}),
        eval=EvalSpec(every=eval_every, episodes=eval_episodes),
    )
    check_int(int(verbose) if isinstance(verbose, bool) else verbose, "verbose", 0)
    if progress is not None or not verbose:
        return execute(spec, device=device, progress=progress, on_eval=on_eval, save_dir=save_dir)
    with terminal_progress(f"{task} {method} {agent} seed {seed}", budget) as bar:
        return execute(spec, device=device, progress=bar, on_eval=on_eval, save_dir=save_dir)


def _merge_params(given: dict[str, Any] | None, keywords: dict[str, Any]) -> dict[str, Any]:
    both = set(given or {}) & set(keywords)
    if both:
        raise SpecError(f"method parameter(s) {sorted(both)} given twice; give each once.")
    return {**(given or {}), **keywords}
