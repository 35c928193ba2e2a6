"""Training reward ensembles on preference labels (Bradley-Terry on segment returns)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rewarddesign.common.checks import check_int, check_number, check_seed
from rewarddesign.errors import ParameterError
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
    """

    epochs: int
    train_accuracy: float
    val_accuracy: float | None
    loss: float
    pairs: int


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
        seed: Seed of shuffles, bootstrap and the split.

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

    def _returns(self, x: torch.Tensor, k: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Member returns on member-specific pair indices ``idx`` (members, B)."""
        xb = x[idx]  # (M, B, H, in)
        M, B, H, D = xb.shape
        r = self.model(xb.reshape(M, B * H, D), normalized=True).reshape(M, B, H)
        return (r if self._full else r * k[idx]).sum(dim=-1)

    @torch.no_grad()
    def _accuracy(self, t: tuple[torch.Tensor, ...], rows: np.ndarray) -> float:
        x1, x2, k1, k2, y = t
        idx = torch.as_tensor(rows, device=x1.device)
        shared = idx.unsqueeze(0).expand(self.model.config.members, -1)
        acc = decided_accuracy(self._returns(x1, k1, shared), self._returns(x2, k2, shared), y[idx])
        return float(acc.mean())

    def fit(self, pairs: Any, record: Any) -> TrainStats:
        """Train on the usable pairs of a labelled batch (or a whole dataset's pairs).

        Args:
            pairs: :class:`~rewarddesign.preferences.Pairs`.
            record: Their :class:`~rewarddesign.preferences.LabelRecord`.

        Raises:
            ParameterError: No usable pair, NaN labels, or inputs that do not fit the model.
        """
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
        epochs, loss_value, acc = 0, float("nan"), 0.0
        for epochs in range(1, self.max_epochs + 1):  # noqa: B007 - reported below
            if self.bootstrap:
                member_rows = train[self.rng.integers(train.size, size=(M, train.size))]
            else:
                member_rows = np.stack([train[self.rng.permutation(train.size)] for _ in range(M)])
            rows = torch.as_tensor(member_rows, device=x1.device)
            total = 0.0
            for start in range(0, train.size, self.batch_size):
                idx = rows[:, start : start + self.batch_size]
                loss = self._step_loss(x1, x2, k1, k2, y, idx, ones)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                total += float(loss.detach()) * idx.shape[1]
            loss_value = total / train.size / M
            acc = self._accuracy(t, train)
            if acc >= self.target_accuracy:
                break
        val_acc = self._accuracy(t, val) if n_val else None
        return TrainStats(
            epochs=epochs, train_accuracy=acc, val_accuracy=val_acc, loss=loss_value, pairs=int(n)
        )

    def _step_loss(self, x1, x2, k1, k2, y, idx, ones) -> torch.Tensor:
        if self.grad_penalty:
            x1, x2 = x1.detach().requires_grad_(True), x2.detach().requires_grad_(True)
        r1, r2 = self._returns(x1, k1, idx), self._returns(x2, k2, idx)
        loss = bradley_terry_loss(r1, r2, y[idx], ones)
        if self.grad_penalty:
            grads = torch.autograd.grad((r1.sum() + r2.sum()), (x1, x2), create_graph=True)
            norms = torch.cat([g.norm(dim=-1).reshape(-1) for g in grads])
            # one-sided: only slopes steeper than the Lipschitz bound are penalised
            loss = loss + self.grad_penalty * F.relu(norms - self.lipschitz).pow(2).mean()
        return loss

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
