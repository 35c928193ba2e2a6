"""An EM mixture of K reward models over users (MaxMin-RLHF, Chakraborty et al. 2024).

The K models are the members of one :class:`RewardEnsemble` (evaluated in one batched
call). The E-step assigns each user, by labeller id, to the member whose Bradley-Terry
likelihood of that user's labels is highest; the M-step refits each member on its users'
pairs only. A new user is assigned the same way from a few labels (:meth:`assign`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rewarddesign.common.checks import check_int, check_number
from rewarddesign.common.files import load_json, write_atomic
from rewarddesign.errors import FileFormatError, ParameterError
from rewarddesign.models.ensemble import EnsembleConfig, RewardEnsemble
from rewarddesign.models.training import bradley_terry_loss

FORMAT = 1


@dataclass(frozen=True)
class MixtureFit:
    """Outcome of :meth:`RewardMixture.fit`.

    Attributes:
        assignments: ``(U,)`` each labeller's cluster (-1: gave no usable label).
        log_likelihood: Mean log-likelihood per usable label of the chosen restart.
        iterations: EM iterations of that restart.
    """

    assignments: np.ndarray
    log_likelihood: float
    iterations: int


class _Cluster:
    """One cluster's reward, with :meth:`predict` like a reward model's."""

    def __init__(self, mixture: RewardMixture, k: int) -> None:
        self.mixture, self.k, self.config = mixture, k, mixture.ensemble.config

    def predict(self, obs: Any, actions: Any = None, next_obs: Any = None, factors: Any = None):
        m = self.mixture.ensemble
        with torch.no_grad():
            r = m.rewards(m.inputs(obs, actions, next_obs, factors))[self.k]
        r = r.cpu().numpy().astype(np.float64)
        return (r - self.mixture.shift[self.k]) / self.mixture.scale[self.k]


class RewardMixture:
    """K reward models, one per group of users.

    Args:
        config: The models' architecture; ``members`` is K.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Example:
        >>> import numpy as np
        >>> mixture = RewardMixture(EnsembleConfig((2,), (1,), members=2, hidden=(8,)), "cpu")
        >>> mixture.at(1).predict(np.zeros((3, 2)), np.zeros((3, 1))).shape
        (3,)
    """

    def __init__(self, config: EnsembleConfig, device: str = "auto") -> None:
        self.ensemble = RewardEnsemble(config, device=device)
        self.k = config.members
        self.shift, self.scale = np.zeros(self.k), np.ones(self.k)
        self.assignments = np.zeros(0, dtype=np.int64)

    @classmethod
    def for_spaces(
        cls,
        observation_space: Any,
        action_space: Any,
        clusters: int,
        device: str = "auto",
        **config: Any,
    ) -> RewardMixture:
        """A mixture of ``clusters`` models for a Gymnasium env's spaces (``config``: the
        other :class:`EnsembleConfig` fields, e.g. ``hidden``, ``seed``)."""
        check_int(clusters, "reward mixture: clusters K", 1)
        cfg = EnsembleConfig.for_spaces(observation_space, action_space, members=clusters, **config)
        return cls(cfg, device=device)

    def at(self, cluster: int) -> _Cluster:
        """Cluster ``cluster``'s reward (for :class:`~rewarddesign.wrappers.LearnedReward`)."""
        check_int(cluster, "mixture cluster", 0)
        if cluster >= self.k:
            raise ParameterError(f"mixture cluster {cluster} out of range: K = {self.k}.")
        return _Cluster(self, cluster)

    # -- fitting ------------------------------------------------------------------------
    def _data(self, pairs: Any, record: Any) -> dict[str, torch.Tensor]:
        m, dev = self.ensemble, self.ensemble.device
        usable = np.asarray(record.usable, dtype=bool)
        out = {}
        for side in ("first", "second"):
            seg = getattr(pairs, side)
            x = torch.as_tensor(m.inputs(seg.obs, seg.actions, None, seg.factors), device=dev)
            out[side] = m.normalize(x)
            out[side + "_mask"] = torch.as_tensor(seg.mask, device=dev, dtype=torch.float32)
        out["y"] = torch.as_tensor(record.label, device=dev, dtype=torch.float32)
        out["usable"] = torch.as_tensor(usable, device=dev, dtype=torch.float32)
        return out

    def _returns(self, ensemble: RewardEnsemble, d: dict, rows: torch.Tensor) -> tuple:
        """``(K, B)`` returns of both sides of the pairs ``rows``."""
        out = []
        for side in ("first", "second"):
            x = d[side][rows]
            B, H, D = x.shape
            r = ensemble(x.reshape(B * H, D), normalized=True).reshape(-1, B, H)
            out.append((r * d[side + "_mask"][rows]).sum(-1))
        return tuple(out)

    @torch.no_grad()
    def _pair_nll(self, ensemble: RewardEnsemble, d: dict) -> torch.Tensor:
        """``(K, n)`` negative log-likelihood of every label under every member."""
        n = d["y"].shape[0]
        parts = []
        for start in range(0, n, 4096):
            rows = torch.arange(start, min(n, start + 4096), device=d["y"].device)
            r1, r2 = self._returns(ensemble, d, rows)
            y = d["y"][rows].expand_as(r1)
            parts.append(F.binary_cross_entropy_with_logits(r1 - r2, y, reduction="none"))
        return torch.cat(parts, dim=1) * d["usable"]

    def _m_step(self, ensemble, d, assign, users, steps, batch, lr, rng) -> None:
        weights = (assign[users][None, :] == torch.arange(self.k)[:, None]).float()
        weights = weights.to(d["y"].device) * d["usable"]
        opt = torch.optim.Adam(ensemble.parameters(), lr=lr)
        n = d["y"].shape[0]
        for _ in range(steps):
            rows = torch.as_tensor(rng.integers(0, n, min(batch, n)), device=d["y"].device)
            r1, r2 = self._returns(ensemble, d, rows)
            loss = bradley_terry_loss(r1, r2, d["y"][rows], weights[:, rows])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    def _user_nll(self, nll: torch.Tensor, users: torch.Tensor, n_users: int, d: dict):
        """``(K, U)`` mean NLL per usable label of each user under each member."""
        total = torch.zeros(self.k, n_users).index_add_(1, users, nll.cpu())
        count = torch.zeros(n_users).index_add_(0, users, d["usable"].cpu())
        return total / count.clamp_min(1.0), count

    def fit(
        self,
        dataset: Any,
        iterations: int = 10,
        steps: int = 200,
        batch_size: int = 256,
        lr: float = 1e-3,
        restarts: int = 3,
        seed: int = 0,
    ) -> MixtureFit:
        """Hard EM over the dataset's labellers; the best of ``restarts`` by likelihood.

        Restart 0 starts from a split: everyone in cluster 0, then the users the current
        clusters explain worst seed each next cluster; later restarts from random
        assignments. Each M-step is ``steps`` Adam steps on batches of ``batch_size``
        pairs; EM stops when no user changes cluster.

        Returns:
            The assignments (also kept in :attr:`assignments`) and the likelihood.
        """
        for name, value in (("iterations", iterations), ("steps", steps)):
            check_int(value, f"RewardMixture.fit: {name}", 1)
        check_int(batch_size, "RewardMixture.fit: batch_size", 1)
        check_int(restarts, "RewardMixture.fit: restarts", 1)
        check_number(lr, "RewardMixture.fit: lr", 0, low_open=True)
        pairs, record = dataset.pairs(), dataset.record()
        n_users = len(dataset.labellers)
        if not record.usable.any():
            raise ParameterError("RewardMixture.fit: the dataset has no usable label.")
        self.ensemble.fit_normalizer(
            self.ensemble.inputs(pairs.first.obs, pairs.first.actions, None, pairs.first.factors)
        )
        d = self._data(pairs, record)
        users = torch.as_tensor(record.labeller)
        best = None
        for r in range(restarts):
            rng = np.random.default_rng([seed, r])
            config = replace(self.ensemble.config, seed=self.ensemble.config.seed + r)
            ens = RewardEnsemble(config, device=str(self.ensemble.device))
            ens.mean.copy_(self.ensemble.mean)
            ens.std.copy_(self.ensemble.std)
            if r == 0:
                assign = torch.zeros(n_users, dtype=torch.long)
                for k in range(1, self.k):  # seed cluster k with the worst-explained users
                    self._m_step(ens, d, assign, users, steps, batch_size, lr, rng)
                    per_user, count = self._user_nll(self._pair_nll(ens, d), users, n_users, d)
                    own = per_user[assign, torch.arange(n_users)]
                    own[count == 0] = -1.0
                    worst = torch.argsort(own, descending=True)[: max(1, n_users // (k + 1))]
                    assign[worst] = k
            else:
                assign = torch.as_tensor(rng.integers(0, self.k, n_users))
            for it in range(1, iterations + 1):  # noqa: B007 - reported
                self._m_step(ens, d, assign, users, steps, batch_size, lr, rng)
                per_user, count = self._user_nll(self._pair_nll(ens, d), users, n_users, d)
                new = torch.where(count > 0, per_user.argmin(0), assign)
                if torch.equal(new, assign):
                    break
                assign = new
            per_user, count = self._user_nll(self._pair_nll(ens, d), users, n_users, d)
            ll = -float((per_user[assign, torch.arange(n_users)] * count).sum() / count.sum())
            if best is None or ll > best[0]:
                best = (ll, it, assign.clone(), {k: v.clone() for k, v in ens.state_dict().items()})
        ll, it, assign, state = best
        self.ensemble.load_state_dict(state)
        labelled = self._user_nll(self._pair_nll(self.ensemble, d), users, n_users, d)[1] > 0
        self.assignments = np.where(labelled.numpy(), assign.numpy(), -1).astype(np.int64)
        self._standardize(pairs)
        return MixtureFit(self.assignments.copy(), ll, it)

    def _standardize(self, pairs: Any) -> None:
        """Per cluster: zero-mean, unit-std rewards on the dataset's steps."""
        m = self.ensemble
        x = m.inputs(pairs.first.obs, pairs.first.actions, None, pairs.first.factors)
        with torch.no_grad():
            r = m.rewards(x.reshape(-1, x.shape[-1])).cpu().numpy()
        self.shift = r.mean(axis=1).astype(np.float64)
        std = r.std(axis=1)
        self.scale = np.where(std > 1e-8, std, 1.0).astype(np.float64)

    def assign(self, pairs: Any, record: Any) -> int:
        """The cluster that explains one user's labelled pairs best (the E-step)."""
        usable = np.asarray(record.usable, dtype=bool)
        if not usable.any():
            raise ParameterError("RewardMixture.assign: the user gave no usable label.")
        nll = self._pair_nll(self.ensemble, self._data(pairs, record))
        return int(nll.sum(dim=1).argmin())

    # -- persistence --------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        """The ensemble's files plus ``mixture.json`` (per-cluster scale, assignments)."""
        folder = Path(folder)
        self.ensemble.save(folder)
        doc = {
            "format": FORMAT,
            "kind": "em-mixture",
            "shift": self.shift.tolist(),
            "scale": self.scale.tolist(),
            "assignments": self.assignments.tolist(),
        }
        write_atomic(folder / "mixture.json", json.dumps(doc, indent=2))

    @classmethod
    def load(cls, folder: str | Path, device: str = "auto") -> RewardMixture:
        """Read a mixture written by :meth:`save` (no pickle)."""
        ensemble = RewardEnsemble.load(folder, device=device)
        doc = load_json(Path(folder) / "mixture.json", "reward mixture")
        k = ensemble.config.members
        try:
            if doc["format"] != FORMAT or doc["kind"] != "em-mixture":
                raise ValueError(f"format {doc['format']!r}, kind {doc['kind']!r}")
            shift, scale = np.asarray(doc["shift"], float), np.asarray(doc["scale"], float)
            assignments = np.asarray(doc["assignments"], dtype=np.int64)
            if shift.shape != (k,) or scale.shape != (k,):
                raise ValueError(f"{k} clusters but {shift.shape} shifts")
        except (KeyError, TypeError, ValueError) as exc:
            raise FileFormatError(
                f"{str(Path(folder) / 'mixture.json')!r} is not a reward mixture: {exc}"
            ) from exc
        out = cls.__new__(cls)
        out.ensemble, out.k, out.shift, out.scale = ensemble, k, shift, scale
        out.assignments = assignments
        return out


__all__ = ["MixtureFit", "RewardMixture"]
