"""Training reward ensembles on preference labels (Bradley-Terry on segment returns)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rewarddesign.common.checks import check_int, check_number, check_seed
from rewarddesign.errors import ParameterError
from rewarddesign.models.augment import crop_masks, pseudo_label_loss
from rewarddesign.models.ensemble import RewardEnsemble


def bradley_terry_loss(
    r1: torch.Tensor, r2: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Sum over members of the weighted mean cross-entropy of ``P(first) = sigmoid(R1-R2)``
    against soft ``labels`` (1, 0 or 0.5); ``weights`` 0 drops a pair (masked labels).

    Shapes: returns ``(members, B)``; labels and weights ``(B,)`` or ``(members, B)``.
    """
    losses = F.binary_cross_entropy_with_logits(r1 - r2, labels.expand_as(r1), reduction="none")
    w = weights.expand_as(r1)
    return ((losses * w).sum(dim=1) / w.sum(dim=1).clamp_min(1.0)).sum()


def decided_accuracy(r1: torch.Tensor, r2: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per member: fraction of pairs with label 0 or 1 whose predicted order matches."""
    decided = labels != 0.5
    if not bool(decided.any()):
        return torch.full((r1.shape[0],), float("nan"), device=r1.device)
    right = ((r1 > r2) == (labels > 0.5)) & decided
    return right.float().sum(dim=1) / decided.sum()


@dataclass(frozen=True)
class TrainStats:
    """Outcome of :meth:`RewardTrainer.fit`.

    Attributes:
        epochs: Epochs run.
        train_accuracy: Mean over members of the accuracy on training pairs (decided
            labels only).
        val_accuracy: The same on the held-out pairs, or None without a validation split.
        loss: Mean Bradley-Terry loss of the last epoch (per member).
        pairs: Usable pairs trained on.
        pseudo_accepted: With unlabelled pairs: pseudo-labels accepted at the last
            epoch, per member (mean over members).
        pseudo_agreement: Fraction of those agreeing with the order of the pairs' true
            returns (what a noiseless partial-return teacher would say; None if none).
    """

    epochs: int
    train_accuracy: float
    val_accuracy: float | None
    loss: float
    pairs: int
    pseudo_accepted: float | None = None
    pseudo_agreement: float | None = None


class RewardTrainer:
    """Adam on the Bradley-Terry loss; each member sees its own shuffle (or bootstrap).

    Args:
        model: The ensemble to train (in place).
        lr: Adam learning rate.
        batch_size: Pairs per gradient step (per member).
        max_epochs: Upper bound on epochs per :meth:`fit`.
        target_accuracy: Stop once the training accuracy reaches it (B-Pref stops at 0.97;
            above 1: never stop early).
        val_fraction: Fraction of usable pairs held out for validation accuracy.
        bootstrap: Resample each member's training pairs with replacement (else each
            member sees every pair, in its own order).
        grad_penalty: Weight of the one-sided penalty ``relu(|grad_x r| - lipschitz)^2`` on
            the input gradient (Blonde et al. 2022); 0 disables it.
        lipschitz: The gradient norm above which the penalty applies.
        weight_decay: Adam's L2 weight decay.
        seed: Seed of shuffles, bootstrap, the split and crops.
        crop: ``(min, max, copies)``: each pair is also trained on as ``copies`` crops
            (:func:`~rewarddesign.models.augment.crop_masks`); None: whole segments.
        pseudo_tau: With unlabelled pairs given to :meth:`fit`: the confidence above
            which a member pseudo-labels one (SURF); None: unlabelled pairs are refused.
        pseudo_weight: Weight of the pseudo-labelled loss.

    Example:
        >>> import numpy as np
        >>> from rewarddesign.models import EnsembleConfig, RewardEnsemble
        >>> from rewarddesign.preferences import PartialReturnTeacher, Pairs, Segments
        >>> rng = np.random.default_rng(0)
        >>> def segs(n):  # 1-step segments, reward = first observation entry
        ...     obs = rng.normal(size=(n, 1, 2))
        ...     return Segments(obs, np.zeros((n, 1, 1)), obs[..., 0], np.zeros((n, 1, 1)),
        ...                     np.zeros((n, 1), bool), np.zeros((n, 1), bool),
        ...                     np.ones((n, 1), bool), obs[:, 0], obs[:, 0])
        >>> pairs = Pairs(segs(300), segs(300))
        >>> record = PartialReturnTeacher().label(pairs, rng)
        >>> model = RewardEnsemble(EnsembleConfig((2,), (1,), members=2, hidden=(16,)), "cpu")
        >>> stats = RewardTrainer(model, lr=1e-2, max_epochs=50).fit(pairs, record)
        >>> stats.train_accuracy > 0.95
        True
    """

    def __init__(
        self,
        model: RewardEnsemble,
        lr: float = 3e-4,
        batch_size: int = 128,
        max_epochs: int = 200,
        target_accuracy: float = 0.97,
        val_fraction: float = 0.0,
        bootstrap: bool = False,
        grad_penalty: float = 0.0,
        lipschitz: float = 1.0,
        weight_decay: float = 0.0,
        seed: int = 0,
        crop: tuple[int, int, int] | None = None,
        pseudo_tau: float | None = None,
        pseudo_weight: float = 1.0,
    ) -> None:
        for name, value in (("lr", lr), ("lipschitz", lipschitz)):
            check_number(value, f"RewardTrainer: {name}", 0, low_open=True)
        for name, value in (("batch_size", batch_size), ("max_epochs", max_epochs)):
            check_int(value, f"RewardTrainer: {name}", 1)
        check_number(val_fraction, "RewardTrainer: val_fraction", 0, 1, high_open=True)
        check_number(target_accuracy, "RewardTrainer: target_accuracy", 0)  # > 1: never stops
        for name, value in (("grad_penalty", grad_penalty), ("weight_decay", weight_decay)):
            check_number(value, f"RewardTrainer: {name}", 0)
        if not isinstance(bootstrap, bool):
            raise ParameterError(
                f"RewardTrainer: bootstrap must be true or false, got {bootstrap!r}."
            )
        check_seed(seed, "RewardTrainer: seed")
        if crop is not None:
            low, high, copies = crop
            for name, value in (("min", low), ("max", high), ("copies", copies)):
                check_int(value, f"RewardTrainer: crop {name}", 1)
            if low > high:
                raise ParameterError(f"RewardTrainer: crop min {low} > max {high}.")
        if pseudo_tau is not None:
            check_number(
                pseudo_tau, "RewardTrainer: pseudo_tau", 0.5, 1, low_open=True, high_open=True
            )
        check_number(pseudo_weight, "RewardTrainer: pseudo_weight", 0)
        self.crop, self.pseudo_tau, self.pseudo_weight = crop, pseudo_tau, pseudo_weight
        self.model, self.batch_size, self.max_epochs = model, batch_size, max_epochs
        self.target_accuracy, self.val_fraction = target_accuracy, val_fraction
        self.bootstrap, self.grad_penalty, self.lipschitz = bootstrap, grad_penalty, lipschitz
        self.optimizer = torch.optim.Adam(
            model.parameters(), lr=lr, weight_decay=weight_decay, foreach=True
        )  # one kernel per step, not per tensor
        self.rng = np.random.default_rng(seed)

    def _tensors(self, pairs: Any, labels: np.ndarray) -> tuple[torch.Tensor, ...]:
        m, dev = self.model, self.model.device
        with torch.no_grad():  # the normaliser is fixed while training: apply it once
            x1 = m.normalize(
                torch.as_tensor(
                    m.inputs(pairs.first.obs, pairs.first.actions, None, pairs.first.factors),
                    device=dev,
                )
            )
            x2 = m.normalize(
                torch.as_tensor(
                    m.inputs(pairs.second.obs, pairs.second.actions, None, pairs.second.factors),
                    device=dev,
                )
            )
        k1 = torch.as_tensor(pairs.first.mask, device=dev, dtype=torch.float32)
        k2 = torch.as_tensor(pairs.second.mask, device=dev, dtype=torch.float32)
        y = torch.as_tensor(labels, device=dev, dtype=torch.float32)
        return x1, x2, k1, k2, y

    def _step_rewards(self, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Member rewards of every step on member-specific pair indices ``idx``
        (members, B, H)."""
        xb = x[idx]  # (M, B, H, in)
        M, B, H, D = xb.shape
        return self.model(xb.reshape(M, B * H, D), normalized=True).reshape(M, B, H)

    def _returns(self, x: torch.Tensor, k: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Member returns on member-specific pair indices ``idx`` (members, B)."""
        r = self._step_rewards(x, idx)
        return (r if self._full else r * k[idx]).sum(dim=-1)

    @torch.no_grad()
    def _accuracy(self, t: tuple[torch.Tensor, ...], rows: np.ndarray) -> float:
        x1, x2, k1, k2, y = t
        idx = torch.as_tensor(rows, device=x1.device)
        shared = idx.unsqueeze(0).expand(self.model.config.members, -1)
        acc = decided_accuracy(self._returns(x1, k1, shared), self._returns(x2, k2, shared), y[idx])
        return float(acc.mean())

    def fit(self, pairs: Any, record: Any, unlabelled: Any = None) -> TrainStats:
        """Train on the usable pairs of a labelled batch (or a whole dataset's pairs).

        Args:
            pairs: :class:`~rewarddesign.preferences.Pairs`.
            record: Their :class:`~rewarddesign.preferences.LabelRecord`.
            unlabelled: Pairs without labels, pseudo-labelled where a member is
                confident (needs ``pseudo_tau``).

        Raises:
            ParameterError: No usable pair, NaN labels, or inputs that do not fit the model.
        """
        if unlabelled is not None and self.pseudo_tau is None:
            raise ParameterError(
                "RewardTrainer.fit: unlabelled pairs need pseudo_tau (SURF's confidence "
                "threshold) set on the trainer."
            )
        labels = np.asarray(record.label, dtype=np.float64)
        if len(labels) != pairs.n:
            raise ParameterError(f"{len(labels)} labels for {pairs.n} pairs.")
        if not np.isfinite(labels).all():
            raise ParameterError("preference labels contain NaN or inf; label with a teacher.")
        usable = np.flatnonzero(np.asarray(record.usable, dtype=bool))
        if usable.size == 0:
            raise ParameterError("no usable preference labels to train on (empty dataset).")
        t = self._tensors(pairs.take(usable), labels[usable])
        self._full = bool(t[2].all() and t[3].all())  # no padded steps: skip the mask
        n = usable.size
        order = self.rng.permutation(n)
        n_val = int(self.val_fraction * n)
        val, train = order[:n_val], order[n_val:]
        if train.size == 0:
            raise ParameterError(f"val_fraction {self.val_fraction} leaves no training pairs.")
        M = self.model.config.members
        x1, x2, k1, k2, y = t
        ones = torch.ones(1, device=x1.device)
        self._valid = (t[2].sum(-1).long().cpu().numpy(), t[3].sum(-1).long().cpu().numpy())
        u = None if unlabelled is None else self._unlabelled(unlabelled)
        steps = -(-train.size // self.batch_size)
        epochs, loss_value, acc = 0, float("nan"), 0.0
        for epochs in range(1, self.max_epochs + 1):  # noqa: B007 - reported below
            if self.bootstrap:
                member_rows = train[self.rng.integers(train.size, size=(M, train.size))]
            else:
                member_rows = np.stack([train[self.rng.permutation(train.size)] for _ in range(M)])
            rows = torch.as_tensor(member_rows, device=x1.device)
            if u is not None:  # each member sees every unlabelled pair once an epoch
                u_rows = np.stack([self.rng.permutation(u["n"]) for _ in range(M)])
                u_rows = torch.as_tensor(u_rows, device=x1.device)
                u_step, u["accepted"], u["agree"] = -(-u["n"] // steps), 0, 0
            total = 0.0
            for i, start in enumerate(range(0, train.size, self.batch_size)):
                idx = rows[:, start : start + self.batch_size]
                loss = self._step_loss(x1, x2, k1, k2, y, idx, ones)
                if u is not None:
                    u_idx = u_rows[:, i * u_step : (i + 1) * u_step]
                    if u_idx.shape[1]:
                        loss = loss + self.pseudo_weight * self._pseudo_loss(u, u_idx)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                total += float(loss.detach()) * idx.shape[1]
            loss_value = total / train.size / M
            acc = self._accuracy(t, train)
            if acc >= self.target_accuracy:
                break
        val_acc = self._accuracy(t, val) if n_val else None
        accepted = agreement = None
        if u is not None:
            accepted = u["accepted"] / M
            agreement = u["agree"] / u["accepted"] if u["accepted"] else None
        return TrainStats(
            epochs=epochs,
            train_accuracy=acc,
            val_accuracy=val_acc,
            loss=loss_value,
            pairs=int(n),
            pseudo_accepted=accepted,
            pseudo_agreement=agreement,
        )

    def _unlabelled(self, pairs: Any) -> dict[str, Any]:
        """Unlabelled pairs as tensors, with the order of their true returns."""
        x1, x2, k1, k2, _ = self._tensors(pairs, np.zeros(pairs.n))
        truth = pairs.first.rewards.sum(axis=1) > pairs.second.rewards.sum(axis=1)
        truth = torch.as_tensor(truth, device=x1.device, dtype=torch.float32)
        return {"x1": x1, "x2": x2, "k1": k1, "k2": k2, "truth": truth, "n": pairs.n}

    def _pseudo_loss(self, u: dict[str, Any], idx: torch.Tensor) -> torch.Tensor:
        r1 = (self._step_rewards(u["x1"], idx) * u["k1"][idx]).sum(-1)
        r2 = (self._step_rewards(u["x2"], idx) * u["k2"][idx]).sum(-1)
        loss, mask, label = pseudo_label_loss(r1 - r2, float(self.pseudo_tau))
        u["accepted"] += int(mask.sum())
        u["agree"] += int(((label == u["truth"][idx]) & mask).sum())
        return loss

    def _step_loss(self, x1, x2, k1, k2, y, idx, ones) -> torch.Tensor:
        if self.grad_penalty:
            x1, x2 = x1.detach().requires_grad_(True), x2.detach().requires_grad_(True)
        if self.crop is None:
            r1, r2 = self._returns(x1, k1, idx), self._returns(x2, k2, idx)
            loss = bradley_terry_loss(r1, r2, y[idx], ones)
        else:
            r1, r2 = self._cropped_returns(x1, x2, k1, k2, idx)
            labels = y[idx].repeat(1, r1.shape[1] // idx.shape[1])
            loss = bradley_terry_loss(r1, r2, labels, ones)
        if self.grad_penalty:
            grads = torch.autograd.grad((r1.sum() + r2.sum()), (x1, x2), create_graph=True)
            norms = torch.cat([g.norm(dim=-1).reshape(-1) for g in grads])
            # one-sided: only slopes steeper than the Lipschitz bound are penalised
            loss = loss + self.grad_penalty * F.relu(norms - self.lipschitz).pow(2).mean()
        return loss

    def _cropped_returns(self, x1, x2, k1, k2, idx) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns of the whole pairs and of ``copies`` crops of each, per member:
        ``(members, (1 + copies) * B)`` for both sides."""
        low, high, copies = self.crop
        s1, s2 = self._step_rewards(x1, idx), self._step_rewards(x2, idx)
        rows = idx.cpu().numpy()
        m1, m2 = crop_masks(
            self._valid[0][rows], self._valid[1][rows], s1.shape[-1], low, high, copies, self.rng
        )  # (copies, M, B, H): each member its own crops
        m1 = torch.as_tensor(m1, device=s1.device, dtype=s1.dtype)
        m2 = torch.as_tensor(m2, device=s1.device, dtype=s1.dtype)
        whole1, whole2 = (s1 * k1[idx]).sum(-1), (s2 * k2[idx]).sum(-1)
        crop1 = (s1.unsqueeze(0) * m1).sum(-1).permute(1, 0, 2).reshape(s1.shape[0], -1)
        crop2 = (s2.unsqueeze(0) * m2).sum(-1).permute(1, 0, 2).reshape(s1.shape[0], -1)
        return torch.cat([whole1, crop1], dim=1), torch.cat([whole2, crop2], dim=1)

    @torch.no_grad()
    def accuracy(self, pairs: Any, record: Any) -> np.ndarray:
        """Per-member accuracy on the decided, usable labels of a labelled batch."""
        usable = np.flatnonzero(np.asarray(record.usable, dtype=bool))
        if usable.size == 0:
            raise ParameterError("no usable labels to measure accuracy on.")
        sub = pairs.take(usable)
        r1, r2 = self.model.segment_returns(sub.first), self.model.segment_returns(sub.second)
        y = torch.as_tensor(np.asarray(record.label)[usable], device=r1.device, dtype=torch.float32)
        return decided_accuracy(r1, r2, y).cpu().numpy()
