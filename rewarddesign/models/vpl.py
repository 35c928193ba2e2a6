"""VPL's latent-conditioned reward (Poddar et al. 2024): r(s, a, z), with a user's latent
z inferred by an encoder from a set of that user's labelled pairs.

The encoder embeds each labelled pair (the mean input of each segment over its valid
steps, and the label as ``2y - 1``), averages the embeddings over the set (any size, any
order) and outputs a Gaussian ``q(z | set)``. The decoder is an MLP on the step input
and z. Training maximises the ELBO: the Bradley-Terry log-likelihood of the set's labels
under ``r(., z)``, z drawn from q, minus ``kl_weight`` times KL(q || N(0, I)) per label.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rewarddesign.common.checks import check_int, check_number
from rewarddesign.common.files import load_json, load_state_dict, require_dir, write_atomic
from rewarddesign.errors import FileFormatError, ParameterError, SpecError
from rewarddesign.models.ensemble import EnsembleConfig, RewardEnsemble

FORMAT = 1


def _mlp(sizes: list[int]) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


@dataclass(frozen=True)
class LatentRewardConfig:
    """What a VPL reward model is (saved as JSON beside its weights).

    Attributes:
        inputs: The step encoding, as a reward ensemble's (its ``members`` is unused).
        latent_dim: Size of z.
        hidden: Decoder hidden sizes.
        encoder_hidden: Encoder hidden sizes (pair embedding and head).
        kl_weight: Weight of the KL term per label.
    """

    inputs: EnsembleConfig
    latent_dim: int = 4
    hidden: tuple[int, ...] = (128, 128)
    encoder_hidden: tuple[int, ...] = (128, 128)
    kl_weight: float = 0.01

    def __post_init__(self) -> None:
        check_int(self.latent_dim, "VPL latent_dim", 1)
        for name in ("hidden", "encoder_hidden"):
            sizes = getattr(self, name)
            if not sizes or any(not isinstance(h, int) or h < 1 for h in sizes):
                raise ParameterError(f"VPL {name} must be sizes >= 1, got {sizes!r}.")
        check_number(self.kl_weight, "VPL kl_weight", 0)


class _AtLatent:
    """The reward at one fixed latent, with :meth:`predict` like a reward model's."""

    def __init__(self, model: LatentRewardModel, z: np.ndarray) -> None:
        self.model, self.config = model, model.steps.config
        self.z = torch.as_tensor(np.asarray(z, dtype=np.float32), device=model.device)

    @torch.no_grad()
    def predict(self, obs: Any, actions: Any = None, next_obs: Any = None, factors: Any = None):
        x = torch.as_tensor(self.model.steps.inputs(obs, actions, next_obs, factors))
        x = self.model.steps.normalize(x.to(self.model.device))
        r = self.model.reward(x, self.z.expand(x.shape[0], -1))
        out = (r - self.model.out_shift) / self.model.out_scale
        return out.cpu().numpy().astype(np.float64)


class LatentRewardModel(torch.nn.Module):
    """VPL's encoder q(z | labelled pairs) and reward r(s, a, z).

    Args:
        config: The architecture.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Example:
        >>> import numpy as np
        >>> steps = EnsembleConfig((2,), (1,), members=1)
        >>> model = LatentRewardModel(LatentRewardConfig(steps, latent_dim=2, hidden=(8,),
        ...                                              encoder_hidden=(8,)), "cpu")
        >>> model.at(np.zeros(2)).predict(np.zeros((3, 2)), np.zeros((3, 1))).shape
        (3,)
    """

    def __init__(self, config: LatentRewardConfig, device: str = "auto") -> None:
        super().__init__()
        from rewarddesign.agents import resolve_device

        self.config = config
        torch.manual_seed(config.inputs.seed)  # the layers' initial weights
        # the step encoding and its normaliser (its networks are not used)
        self.steps = RewardEnsemble(replace(config.inputs, members=1, hidden=(1,)), "cpu")
        d, z, eh = config.inputs.in_dim, config.latent_dim, list(config.encoder_hidden)
        self.embed = _mlp([2 * d + 1, *eh])
        self.head = torch.nn.Linear(eh[-1], 2 * z)
        self.decoder = _mlp([d + z, *config.hidden, 1])
        self.register_buffer("out_shift", torch.zeros(()))
        self.register_buffer("out_scale", torch.ones(()))
        self.to(resolve_device(device))

    @property
    def device(self) -> torch.device:
        """Where the weights live."""
        return self.head.weight.device

    def reward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Rewards of normalised step inputs ``(..., in)`` at latents ``(..., latent)``."""
        return self.decoder(torch.cat([x, z], dim=-1)).squeeze(-1)

    def encode(self, feats: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``q(z | set)``'s mean and log-variance for sets of pair features ``(S, P, f)``
        with weights ``(S, P)`` (0: not in the set)."""
        h = torch.relu(self.embed(feats))
        pooled = (h * weights.unsqueeze(-1)).sum(1) / weights.sum(1, keepdim=True).clamp_min(1)
        mean, logvar = self.head(pooled).chunk(2, dim=-1)
        return mean, logvar.clamp(-10, 10)

    # -- data ---------------------------------------------------------------------------
    def tensors(self, pairs: Any, record: Any) -> dict[str, torch.Tensor]:
        """Normalised step inputs, masks, labels and pair features on the device."""
        out: dict[str, torch.Tensor] = {}
        for side in ("first", "second"):
            seg = getattr(pairs, side)
            x = torch.as_tensor(self.steps.inputs(seg.obs, seg.actions, None, seg.factors))
            out[side] = self.steps.normalize(x).to(self.device)
            out[side + "_mask"] = torch.as_tensor(seg.mask, dtype=torch.float32).to(self.device)
        y = torch.as_tensor(np.asarray(record.label), dtype=torch.float32, device=self.device)
        out["y"] = y
        out["usable"] = torch.as_tensor(np.asarray(record.usable), device=self.device).float()
        means = [
            (out[s] * out[s + "_mask"].unsqueeze(-1)).sum(1)
            / out[s + "_mask"].sum(1, keepdim=True).clamp_min(1)
            for s in ("first", "second")
        ]
        out["feats"] = torch.cat([*means, (2 * y - 1).unsqueeze(-1)], dim=-1)
        return out

    def _nll(self, t: dict, rows: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``(S, P)`` Bradley-Terry NLL of pairs ``rows (S, P)`` at latents ``z (S, latent)``."""
        ret = []
        for side in ("first", "second"):
            x = t[side][rows]  # (S, P, H, in)
            zz = z[:, None, None, :].expand(*x.shape[:3], -1)
            ret.append((self.reward(x, zz) * t[side + "_mask"][rows]).sum(-1))
        return F.binary_cross_entropy_with_logits(ret[0] - ret[1], t["y"][rows], reduction="none")

    # -- inference ----------------------------------------------------------------------
    @torch.no_grad()
    def infer(self, pairs: Any, record: Any) -> np.ndarray:
        """The mean latent of one user from their labelled pairs (usable ones count)."""
        t = self.tensors(pairs, record)
        if not bool(t["usable"].any()):
            raise ParameterError("VPL infer: the user gave no usable label.")
        mean, _ = self.encode(t["feats"][None], t["usable"][None])
        return mean[0].cpu().numpy().astype(np.float64)

    def at(self, z: Any) -> _AtLatent:
        """The reward at latent ``z`` (for :class:`~rewarddesign.wrappers.LearnedReward`)."""
        z = np.asarray(z, dtype=np.float64)
        if z.shape != (self.config.latent_dim,) or not np.isfinite(z).all():
            raise ParameterError(
                f"VPL latent must be {self.config.latent_dim} finite numbers, got shape "
                f"{z.shape}; infer one with LatentRewardModel.infer."
            )
        return _AtLatent(self, z)

    # -- persistence --------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        """``vpl_model.pt`` (a state dict) and ``vpl_model.json`` (the config, a format)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        torch.save({k: v.cpu() for k, v in self.state_dict().items()}, buf)
        write_atomic(folder / "vpl_model.pt", buf.getvalue())
        doc = {"format": FORMAT, **asdict(self.config)}
        write_atomic(folder / "vpl_model.json", json.dumps(doc, indent=2))

    @classmethod
    def load(cls, folder: str | Path, device: str = "auto") -> LatentRewardModel:
        """Read a model written by :meth:`save` (``weights_only=True``)."""
        folder = require_dir(folder, "a VPL reward model (vpl_model.json and vpl_model.pt)")
        doc = load_json(folder / "vpl_model.json", "VPL reward model config")
        try:
            if doc.pop("format") != FORMAT:
                raise ValueError("unknown format")
            steps = doc.pop("inputs")
            for key in ("hidden", "obs_shape", "act_shape"):
                steps[key] = tuple(steps[key])
            for key in ("hidden", "encoder_hidden"):
                doc[key] = tuple(doc[key])
            model = cls(LatentRewardConfig(EnsembleConfig(**steps), **doc), device=device)
        except (KeyError, TypeError, ValueError, ParameterError, SpecError) as exc:
            raise FileFormatError(
                f"{str(folder / 'vpl_model.json')!r} is not a VPL reward model config: {exc}"
            ) from exc
        state = load_state_dict(folder / "vpl_model.pt", "VPL reward model", model.device)
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise FileFormatError(
                f"{str(folder / 'vpl_model.pt')!r} does not fit its config; save it again."
            ) from exc
        return model


__all__ = ["LatentRewardConfig", "LatentRewardModel"]
