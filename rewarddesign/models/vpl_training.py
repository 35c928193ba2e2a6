"""Training VPL's latent-conditioned reward on a population's labels (the ELBO)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rewarddesign.common.checks import check_int, check_number, check_seed
from rewarddesign.errors import ParameterError
from rewarddesign.models.vpl import LatentRewardModel


@dataclass(frozen=True)
class VPLFit:
    """Outcome of :func:`fit_vpl`.

    Attributes:
        latents: ``(U, latent_dim)`` each labeller's mean latent from all their usable
            labels (NaN rows for labellers without one).
        loss: Mean ELBO loss (NLL + weighted KL) of the last 50 steps.
        accuracy: Fraction of decided usable labels whose order the reward at their
            user's latent predicts.
    """

    latents: np.ndarray
    loss: float
    accuracy: float


def fit_vpl(
    model: LatentRewardModel,
    dataset: Any,
    steps: int = 2000,
    set_size: int = 8,
    sets_per_batch: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
) -> VPLFit:
    """Train ``model`` in place on every labeller's sets of ``set_size`` pairs.

    Each step draws ``sets_per_batch`` users (uniformly, with replacement) and for each
    a set of their usable pairs; the encoder infers z from the set and the decoder
    predicts the same set's labels at a sample of z (VPL's training, Poddar et al.
    2024). Afterwards the reward's output is standardised over the dataset's steps at
    the users' latents, as a reward ensemble's is.

    Raises:
        ParameterError: A bad setting, or a dataset without usable labels.
    """
    for name, value in (("steps", steps), ("set_size", set_size), ("sets", sets_per_batch)):
        check_int(value, f"fit_vpl: {name}", 1)
    check_number(lr, "fit_vpl: lr", 0, low_open=True)
    check_seed(seed, "fit_vpl: seed")
    pairs, record = dataset.pairs(), dataset.record()
    users = record.labeller
    usable = np.asarray(record.usable, dtype=bool)
    per_user = [np.flatnonzero(usable & (users == u)) for u in range(len(dataset.labellers))]
    active = [u for u, rows in enumerate(per_user) if rows.size]
    if not active:
        raise ParameterError("fit_vpl: the dataset has no usable label.")
    first = pairs.first
    model.steps.fit_normalizer(model.steps.inputs(first.obs, first.actions, None, first.factors))
    t = model.tensors(pairs, record)
    rng = np.random.default_rng(seed)
    gen = torch.Generator(device=model.device).manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    ones = torch.ones(sets_per_batch, set_size, device=model.device)
    losses = []
    for _ in range(steps):
        picked = rng.choice(active, size=sets_per_batch)
        rows = np.stack(
            [
                rng.choice(per_user[u], size=set_size, replace=per_user[u].size < set_size)
                for u in picked
            ]
        )
        rows = torch.as_tensor(rows, device=model.device)
        mean, logvar = model.encode(t["feats"][rows], ones)
        noise = torch.randn(mean.shape, generator=gen, device=model.device)
        z = mean + noise * (0.5 * logvar).exp()
        nll = model._nll(t, rows, z).mean()
        kl = 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).sum(-1).mean() / set_size
        loss = nll + model.config.kl_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    latents = np.full((len(dataset.labellers), model.config.latent_dim), np.nan)
    right = decided = 0
    with torch.no_grad():
        for u in active:
            rows = torch.as_tensor(per_user[u], device=model.device)
            mean, _ = model.encode(t["feats"][rows][None], torch.ones(1, rows.numel()))
            latents[u] = mean[0].cpu().numpy()
            nll_rows = rows[None]
            r = []
            for side in ("first", "second"):
                x = t[side][nll_rows]
                zz = mean[:, None, None, :].expand(*x.shape[:3], -1)
                r.append((model.reward(x, zz) * t[side + "_mask"][nll_rows]).sum(-1)[0])
            y = t["y"][rows]
            keep = y != 0.5
            right += int(((r[0] > r[1]) == (y > 0.5))[keep].sum())
            decided += int(keep.sum())
        _standardize(model, t, per_user, latents, active)
    return VPLFit(latents, float(np.mean(losses[-50:])), right / decided if decided else np.nan)


def _standardize(model, t, per_user, latents, active) -> None:
    """Zero-mean, unit-std predictions over the dataset's first segments' steps, each
    user's steps at its own latent."""
    values = []
    for u in active:
        rows = torch.as_tensor(per_user[u], device=model.device)
        x = t["first"][rows]
        z = torch.as_tensor(latents[u], dtype=torch.float32, device=model.device)
        r = model.reward(x, z.expand(*x.shape[:2], -1))
        values.append(r[t["first_mask"][rows] > 0])
    r = torch.cat(values)
    model.out_shift.fill_(float(r.mean()))
    std = float(r.std(correction=0))
    model.out_scale.fill_(std if std > 1e-8 else 1.0)


__all__ = ["VPLFit", "fit_vpl"]
