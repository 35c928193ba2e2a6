"""How close a learned reward is to the true one, on held-out data: per-step Pearson and
Spearman correlations, preference accuracy against a teacher's labels, and the EPIC
distance; and the cheap EPIC the preference loop logs after each feedback session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign.common.checks import check_int
from rewarddesign.diagnostics.epic import Transitions, canonicalize, draw_coverage, pearson_distance
from rewarddesign.diagnostics.rewards import as_reward, needed_factors
from rewarddesign.errors import ParameterError
from rewarddesign.task.spec import TaskSpec


def true_reward_canonicalizable(task: TaskSpec) -> bool:
    """Whether the task's true reward is a function of transitions (every factor it reads
    has a ``fn`` source or a ``transition:``), so EPIC to it can be computed."""
    needs = needed_factors(task.primary or task.reward, task.factor_names)
    return all(task.transition_fn(n) is not None for n in needs)


def _rank(x: np.ndarray) -> np.ndarray:
    """Ranks with ties averaged (Spearman's)."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x), dtype=np.float64)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


@dataclass(frozen=True)
class LearnedVsTrue:
    """A learned reward against the true one on held-out data.

    Attributes:
        pearson: Per-step Pearson correlation of the learned and the true reward.
        spearman: Per-step Spearman (rank) correlation.
        epic: EPIC distance to the true reward (None where the true reward reads an
            ``info`` factor without a transition function).
        preference_accuracy: Share of usable labelled pairs whose preferred segment the
            model's mean return prefers too (equal labels left out); None without labels.
        transitions: Transitions the correlations are over.
    """

    pearson: float
    spearman: float
    epic: float | None
    preference_accuracy: float | None
    transitions: int


def preference_accuracy(model: Any, dataset: Any) -> float:
    """Share of a dataset's usable, decided pairs (label 0 or 1) on which the model's
    ensemble-mean P(first preferred) is on the label's side of 0.5.

    Raises:
        ParameterError: No usable pair with a label of 0 or 1.
    """
    record = dataset.record()
    keep = record.usable & (record.label != 0.5)
    if not keep.any():
        raise ParameterError("the labels hold no usable pair preferring one segment.")
    prob = model.predict_proba(dataset.pairs()).mean(axis=0)
    return float(((prob > 0.5) == (record.label > 0.5))[keep].mean())


def learned_vs_true(
    task: TaskSpec,
    model: Any,
    transitions: Transitions,
    true_rewards: np.ndarray,
    observation_space: gym.Space,
    action_space: gym.Space,
    *,
    labels: Any = None,
    samples: int = 512,
    gamma: float = 0.99,
    seed: int = 0,
) -> LearnedVsTrue:
    """The measures of :class:`LearnedVsTrue` for a reward model on held-out data.

    Args:
        task: The task.
        model: A :class:`~rewarddesign.models.RewardEnsemble` (or anything
            :func:`~rewarddesign.diagnostics.as_reward` takes; preference accuracy needs
            ``predict_proba``).
        transitions: Held-out transitions (a rollout the model did not train on).
        true_rewards: The true reward of each transition (a trajectory file's ``rewards``).
        observation_space: The task's observation space.
        action_space: The task's action space.
        labels: A held-out :class:`~rewarddesign.preferences.PreferenceDataset`, or None.
        samples: EPIC's coverage samples.
        gamma: EPIC's discount.
        seed: Seed of EPIC's coverage draws.
    """
    true_rewards = np.asarray(true_rewards, dtype=np.float64)
    if len(true_rewards) != len(transitions):
        raise ParameterError(
            f"{len(true_rewards)} true rewards for {len(transitions)} transitions; give one each."
        )
    learned = as_reward(task, model, observation_space, action_space, gamma, "learned")
    r = learned(transitions.obs, transitions.actions, transitions.next_obs)
    epic = None
    if true_reward_canonicalizable(task):
        epic = epic_to_true(
            task, learned, transitions, observation_space, action_space, samples, gamma, seed
        )
    accuracy = None if labels is None else preference_accuracy(model, labels)
    return LearnedVsTrue(
        pearson=_corr(r, true_rewards),
        spearman=_corr(_rank(r), _rank(true_rewards)),
        epic=epic,
        preference_accuracy=accuracy,
        transitions=len(transitions),
    )


def epic_to_true(
    task: TaskSpec,
    reward: Any,
    transitions: Transitions,
    observation_space: gym.Space,
    action_space: gym.Space,
    samples: int = 128,
    gamma: float = 0.99,
    seed: int = 0,
) -> float:
    """EPIC distance of ``reward`` to the task's true reward over ``transitions``, with
    coverage drawn from their own states and actions (its own generator: a run that logs
    it draws nothing from the run's)."""
    samples = check_int(samples, "EPIC samples", 1)
    rng = np.random.default_rng(seed)
    learned = as_reward(task, reward, observation_space, action_space, gamma, "learned")
    true = as_reward(task, "true", observation_space, action_space, gamma, "true")
    states = np.concatenate([transitions.obs, transitions.next_obs])
    coverage = draw_coverage(states, transitions.actions, samples, rng)
    a = canonicalize(learned, transitions, coverage, gamma, "learned")
    b = canonicalize(true, transitions, coverage, gamma, "true")
    return pearson_distance(a, b, ("learned", "true"))
