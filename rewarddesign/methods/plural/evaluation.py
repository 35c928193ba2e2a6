"""How ``plural`` grades a policy: each user group's true return under its own persona,
and the normalised scores ``(R - R_random) / (R_oracle - R_random)`` of a grid's runs.

A run logs, at its last step, ``group_return/<persona>`` (the mean over that persona's
held-out users, each served with its own condition) and ``group_random/<persona>`` (a
uniform random policy, same episodes). ``R_oracle`` is the agent trained on the
persona's true reward: the grid's ``plural`` runs with ``reward: oracle``.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rewarddesign.common.files import load_npz, register_npz_kind, write_atomic
from rewarddesign.contract.evaluation import Evaluator, Predict
from rewarddesign.contract.runspec import RunResult
from rewarddesign.errors import ParameterError
from rewarddesign.methods.plural.policies import PersonaReward
from rewarddesign.task.spec import TaskSpec

RETURN, RANDOM = "group_return/", "group_random/"
USERS_FILE = "users.npz"
register_npz_kind("plural users file", ("personas", "conditions"), "a `plural` run's save_dir")


def save_users(
    folder: str | Path, personas: Sequence[str], conditions: Sequence[np.ndarray | None]
) -> None:
    """Write the held-out users a run serves: ``folder/users.npz`` (no pickle), each
    user's persona and its condition row (width 0: an unconditioned policy)."""
    rows = [np.zeros(0) if c is None else np.asarray(c, dtype=np.float64) for c in conditions]
    buf = io.BytesIO()
    np.savez(buf, personas=np.array(personas, dtype=str), conditions=np.stack(rows))
    write_atomic(Path(folder) / USERS_FILE, buf.getvalue())


def load_users(folder: str | Path) -> tuple[list[str], list[np.ndarray | None]]:
    """``(personas, conditions)`` of a run's held-out users, from :func:`save_users`."""
    arrays = load_npz(Path(folder) / USERS_FILE, "plural users file")
    rows = arrays["conditions"]
    conditions = [None if rows.shape[1] == 0 else row for row in rows]
    return [str(p) for p in arrays["personas"]], conditions


def conditioned(predict: Predict, conditions: Sequence[np.ndarray | None]) -> Predict:
    """A policy for batches whose row ``i`` serves ``conditions[i % len]``: the condition
    is appended to that row's observation (None: the observation as it is)."""
    if all(c is None for c in conditions):
        return predict
    rows = np.stack([np.asarray(c, dtype=np.float32) for c in conditions])

    def act(obs: np.ndarray) -> np.ndarray:
        z = rows[np.arange(len(obs)) % len(rows)]
        return predict(np.concatenate([obs.astype(np.float32), z], axis=1))

    return act


def evaluate_groups(
    task: TaskSpec,
    policy: Callable[[Sequence[np.ndarray | None]], Predict],
    users: dict[str, list[np.ndarray | None]],
    episodes: int,
    seed: int,
    rng: np.random.Generator,
) -> dict[str, tuple[float, float]]:
    """``{persona: (mean return of its users, of a random policy)}`` on the persona's
    reward; each user ``episodes`` episodes with its condition.

    Args:
        task: The task (its personas).
        policy: ``policy(conditions)``, a batched policy whose row ``i`` serves
            ``conditions[i % len]`` (see :func:`conditioned`).
        users: Each persona's held-out users' conditions.
        episodes: Episodes per user.
        seed: Episode ``i`` starts from ``reset(seed=seed + i)``.
        rng: Draws the random policy's actions.
    """
    out = {}
    for name, conditions in users.items():
        persona = task.personas[name]
        evaluator = Evaluator(
            task,
            episodes * len(conditions),
            seed,
            wrap=lambda env, p=persona: PersonaReward(env, p, task.factor_names),
        )
        try:
            # episode i serves user i // episodes: repeat each condition `episodes` times
            each = [c for c in conditions for _ in range(episodes)]
            served = evaluator(policy(each)).returns.mean()
            random = evaluator(_uniform(evaluator.envs[0].action_space, rng)).returns.mean()
            out[name] = (float(served), float(random))
        finally:
            evaluator.close()
    return out


def _uniform(space: Any, rng: np.random.Generator) -> Predict:
    """A batched policy of uniform random actions in a Box."""
    return lambda obs: rng.uniform(space.low, space.high, (len(obs), *space.shape)).astype(
        space.dtype
    )


def oracle_returns(results: Sequence[RunResult]) -> dict[tuple[str, str], float]:
    """``{(task, persona): R_oracle}``: the mean over seeds of the final
    ``group_return`` of the ``oracle`` runs trained on that persona."""
    found: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in results:
        params = r.spec.method_params
        if r.spec.method == "plural" and params.get("reward") == "oracle":
            persona = params.get("persona")
            series = r.series.get(RETURN + str(persona))
            if series:
                found[(r.spec.task, persona)].append(series[-1][1])
    return {k: float(np.mean(v)) for k, v in found.items()}


def normalised_groups(
    results: Sequence[tuple[str, RunResult]],
) -> dict[str, dict[str, list[float]]]:
    """``{label: {persona: [score per run]}}`` of every ``plural`` run, each score
    ``(R - R_random) / (R_oracle - R_random)`` of its final group returns.

    Raises:
        ParameterError: a persona has no oracle run among ``results``, or its oracle
            is no better than random (nothing to normalise by).
    """
    oracles = oracle_returns([r for _, r in results])
    out: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for label, r in results:
        for name, series in r.series.items():
            if not name.startswith(RETURN):
                continue
            persona = name[len(RETURN) :]
            key = (r.spec.task, persona)
            if key not in oracles:
                raise ParameterError(
                    f"no oracle run for persona {persona!r} of task {r.spec.task!r}; add "
                    f"`{{method: plural, params: {{reward: oracle, persona: {persona}}}}}` "
                    "to the grid."
                )
            random = r.series[RANDOM + persona][-1][1]
            scale = oracles[key] - random
            if scale <= 0:
                raise ParameterError(
                    f"the oracle of persona {persona!r} ({oracles[key]:.2f}) is no better than "
                    f"random ({random:.2f}) on {r.spec.task!r}: give it a longer budget."
                )
            out[label][persona].append((series[-1][1] - random) / scale)
    return {label: dict(v) for label, v in out.items()}


def worst_and_mean(scores: dict[str, list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Per run (in order), the worst group's and the mean group's normalised return."""
    table = np.array(list(scores.values()))  # (personas, runs)
    return table.min(axis=0), table.mean(axis=0)


__all__ = [
    "conditioned",
    "evaluate_groups",
    "load_users",
    "normalised_groups",
    "oracle_returns",
    "save_users",
    "worst_and_mean",
]
