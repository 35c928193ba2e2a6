"""The rewards of ``plural``: one per condition a policy is trained on, and how each
held-out user is recognised (its condition, from a few of its labels)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rewarddesign.models import EnsembleConfig, RewardEnsemble, RewardTrainer
from rewarddesign.models.mixture import RewardMixture
from rewarddesign.models.vpl import LatentRewardConfig, LatentRewardModel
from rewarddesign.models.vpl_training import fit_vpl
from rewarddesign.preferences.dataset import PreferenceDataset


@dataclass(frozen=True)
class RewardSettings:
    """What the fits share: the spaces, the models' sizes, where they run.

    Attributes:
        spaces: The task's ``(observation_space, action_space)``.
        hidden: Hidden layers of the reward models (and VPL's encoder).
        clusters: K of the EM mixture, and of the groups of VPL's latents.
        latent_dim: VPL's latent size.
        vpl_steps: VPL's gradient steps.
        device: Torch device of the models.
        inputs: What the models read (:data:`~rewarddesign.models.INPUTS`, not next
            observations: offline segments have none per step).
        factor_dim: Number of the task's factors (``inputs="obs_factors"``).
        vpl_condition: What conditions VPL's policy: ``latent`` (each user's own) or
            ``centre`` (the centre of the user's learned group).
    """

    spaces: tuple[Any, Any]
    hidden: tuple[int, ...]
    clusters: int
    latent_dim: int
    vpl_steps: int
    device: str = "cpu"
    inputs: str = "obs_action"
    factor_dim: int = 0
    vpl_condition: str = "latent"


@dataclass
class FittedRewards:
    """What the policy trains on and how new users are conditioned.

    Attributes:
        latents: ``(C, d)`` the training conditions (None: an unconditioned policy).
        rewards: One reward model per condition (one, unconditioned).
        groups: For MaxMin: one reward per learned group.
        user_conditions: Each held-out user's condition row (None: unconditioned).
        user_groups: Each held-out user's learned group (None: no groups).
        train_groups: Each training user's learned group (None: no groups).
        condition_groups: Each training condition's learned group (None: no groups).
    """

    latents: np.ndarray | None
    rewards: list[Any]
    groups: list[Any] = field(default_factory=list)
    user_conditions: list[np.ndarray | None] = field(default_factory=list)
    user_groups: list[int] | None = None
    train_groups: np.ndarray | None = None
    condition_groups: np.ndarray | None = None


def _config(s: RewardSettings, seed: int, members: int) -> EnsembleConfig:
    return EnsembleConfig.for_spaces(
        *s.spaces,
        members=members,
        hidden=s.hidden,
        seed=seed,
        inputs=s.inputs,
        factor_dim=s.factor_dim if s.inputs == "obs_factors" else 0,
    )


def fit_single(
    data: PreferenceDataset, held: PreferenceDataset, s: RewardSettings, seed: int
) -> FittedRewards:
    """Today's reward: one Bradley-Terry ensemble on everyone's labels."""
    model = RewardEnsemble(_config(s, seed, 3), device=s.device)
    pairs, record = data.pairs(), data.record()
    x = model.inputs(pairs.first.obs, pairs.first.actions, None, pairs.first.factors)
    model.fit_normalizer(x)
    RewardTrainer(model, lr=1e-3, max_epochs=200, seed=seed).fit(pairs, record)
    model.standardize_output(x)
    return FittedRewards(None, [model], user_conditions=[None] * len(held.labellers))


def fit_em(
    data: PreferenceDataset, held: PreferenceDataset, s: RewardSettings, seed: int
) -> FittedRewards:
    """An EM mixture of K models; a condition is a cluster's one-hot."""
    mixture = RewardMixture(_config(s, seed, s.clusters), device=s.device)
    fit = mixture.fit(data, seed=seed)
    k = mixture.k
    assigned = [mixture.assign(*held.of_labeller(u)) for u in range(len(held.labellers))]
    return FittedRewards(
        np.eye(k),
        [mixture.at(c) for c in range(k)],
        groups=[mixture.at(c) for c in range(k)],
        user_conditions=[np.eye(k)[c] for c in assigned],
        user_groups=assigned,
        train_groups=fit.assignments,
    )


def fit_vpl_rewards(
    data: PreferenceDataset, held: PreferenceDataset, s: RewardSettings, seed: int
) -> FittedRewards:
    """VPL: a user's group (for MaxMin, the assignment measure and ``centre``
    conditions) is the nearest centre of the learned clusters, the training users'
    latents grouped by K-means (K = ``clusters``). With ``vpl_condition="latent"`` the
    policy trains on the training users' latents and a held-out user is conditioned on
    the latent inferred from its labels; with ``"centre"`` it trains on the centres and
    a user is conditioned on its group's."""
    cfg = LatentRewardConfig(
        _config(s, seed, 1), latent_dim=s.latent_dim, hidden=s.hidden, encoder_hidden=s.hidden
    )
    model = LatentRewardModel(cfg, device=s.device)
    fit = fit_vpl(model, data, steps=s.vpl_steps, seed=seed)
    centres, train_groups = _kmeans(fit.latents, s.clusters, np.random.default_rng(seed))
    inferred = [model.infer(*held.of_labeller(u)) for u in range(len(held.labellers))]
    nearest = [int(((centres - z) ** 2).sum(1).argmin()) for z in inferred]
    if s.vpl_condition == "centre":  # a user is served its group's centre
        conditions, condition_groups = centres, np.arange(len(centres))
        inferred = [centres[g] for g in nearest]
    else:
        conditions, condition_groups = fit.latents, train_groups
    return FittedRewards(
        conditions,
        [model.at(z) for z in conditions],
        groups=[model.at(c) for c in centres],
        user_conditions=inferred,
        user_groups=nearest,
        train_groups=train_groups,
        condition_groups=condition_groups,
    )


def draw_weights(f: FittedRewards, draw: str) -> np.ndarray | None:
    """Each training condition's probability of conditioning an episode: ``users``,
    in proportion to the training users it stands for (None: one each, uniform);
    ``groups``, each learned group equally (:func:`group_balanced`)."""
    if f.condition_groups is None or f.train_groups is None:
        return None
    if draw == "groups":
        return group_balanced(f.condition_groups)
    users = np.bincount(f.train_groups, minlength=len(f.condition_groups))
    rows = np.bincount(f.condition_groups, minlength=len(users))
    per_row = users[f.condition_groups] / rows[f.condition_groups]
    return None if np.all(per_row == per_row[0]) else per_row


def group_balanced(groups: np.ndarray) -> np.ndarray:
    """Each user's probability when a group is drawn uniformly, then one of its users:
    ``1 / (G * size of the user's group)``, G the number of groups with users.

    Example:
        >>> group_balanced(np.array([0, 0, 0, 1])).tolist()
        [0.16666666666666666, 0.16666666666666666, 0.16666666666666666, 0.5]
    """
    _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    return 1.0 / (len(counts) * counts[inverse])


def _kmeans(x: np.ndarray, k: int, rng: np.random.Generator, rounds: int = 50):
    """Lloyd's K-means with k-means++ seeding: ``(centres (k, d), labels (n,))``."""
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d2 = np.min([((x - c) ** 2).sum(1) for c in centres], axis=0)
        centres.append(x[rng.choice(len(x), p=d2 / d2.sum())] if d2.sum() else x[0])
    centres = np.array(centres)
    for _ in range(rounds):
        labels = ((x[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        new = np.array(
            [x[labels == j].mean(0) if (labels == j).any() else centres[j] for j in range(k)]
        )
        if np.allclose(new, centres):
            break
        centres = new
    return centres, labels


FITS = {"single": fit_single, "em": fit_em, "vpl": fit_vpl_rewards}
