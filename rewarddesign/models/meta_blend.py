"""MetaBlend: BARFI's blended reward r_phi = phi1(s) + phi2(s) r_p + phi3(s) r_aux and its
learned discount gamma_phi = sigmoid(psi).

Each ``phi_i`` is a scalar (``features="constant"``) or a linear function of the
observation (``features="linear"``: ``w_i . s + b_i``), all three as one ``(3, d + 1)``
weight matrix, so a batch of steps is one matrix product. Saved as ``meta_blend.npz``
(weights, psi) and ``meta_blend.json`` (what it blends), never a pickle.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rewarddesign.common.files import load_json, load_npz, require_dir, write_atomic
from rewarddesign.errors import FileFormatError, ParameterError

FEATURES = ("constant", "linear")


class MetaBlend(torch.nn.Module):
    """The blend weights phi and the discount parameter psi.

    Args:
        obs_dim: Size of a (flat) observation.
        features: ``"constant"`` or ``"linear"``.
        phi_init: Initial ``(phi1, phi2, phi3)`` (the constant parts).
        gamma_init: Initial discount, in (0, 1).
        task: The task id the blend belongs to (recorded with it).
        aux: The auxiliary reward's name in the task spec.

    Example:
        >>> import numpy as np, torch
        >>> blend = MetaBlend(obs_dim=2, phi_init=(0.0, 1.0, 0.5), gamma_init=0.99)
        >>> blend(torch.zeros(1, 2), torch.tensor([2.0]), torch.tensor([4.0]))
        tensor([4.], grad_fn=<AddBackward0>)
        >>> round(float(blend.gamma), 4)
        0.99
    """

    def __init__(
        self,
        obs_dim: int,
        features: str = "constant",
        phi_init: tuple[float, float, float] = (0.0, 1.0, 1.0),
        gamma_init: float = 0.99,
        task: str = "",
        aux: str = "",
    ) -> None:
        super().__init__()
        if features not in FEATURES:
            raise ParameterError(f"blend features must be one of {FEATURES}, got {features!r}.")
        if len(phi_init) != 3 or not all(math.isfinite(float(v)) for v in phi_init):
            raise ParameterError(f"phi_init needs 3 finite numbers, got {phi_init!r}.")
        if not 0 < gamma_init < 1:
            raise ParameterError(f"gamma_init must be in (0, 1), got {gamma_init!r}.")
        self.obs_dim, self.features, self.task, self.aux = int(obs_dim), features, task, aux
        cols = self.obs_dim + 1 if features == "linear" else 1
        weights = torch.zeros(3, cols)
        weights[:, -1] = torch.tensor([float(v) for v in phi_init])  # the constant column
        self.weights = torch.nn.Parameter(weights)
        self.psi = torch.nn.Parameter(torch.tensor(math.log(gamma_init / (1 - gamma_init))))

    @property
    def gamma(self) -> torch.Tensor:
        """The learned discount ``sigmoid(psi)``."""
        return torch.sigmoid(self.psi)

    def phi(self, obs: torch.Tensor) -> torch.Tensor:
        """``(..., 3)``: phi1, phi2, phi3 at each observation."""
        if self.features == "constant":
            return self.weights[:, 0].expand(*obs.shape[:-1], 3)
        ones = torch.ones(*obs.shape[:-1], 1, dtype=obs.dtype)
        return torch.cat([obs, ones], -1) @ self.weights.T

    def forward(self, obs: torch.Tensor, primary: torch.Tensor, aux: torch.Tensor) -> torch.Tensor:
        """``r_phi`` for observations ``(..., d)`` and rewards ``(...)``."""
        p = self.phi(obs)
        return p[..., 0] + p[..., 1] * primary + p[..., 2] * aux

    def penalty(self) -> torch.Tensor:
        """Squared norm of phi (for the L2 penalty)."""
        return self.weights.pow(2).sum()

    @torch.no_grad()
    def numpy_reward(self, obs: np.ndarray, primary: np.ndarray, aux: np.ndarray) -> np.ndarray:
        """``r_phi`` in float64 numpy, for wrappers."""
        w = self.weights.detach().double().numpy()
        obs = np.asarray(obs, dtype=np.float64).reshape(len(primary), -1)
        if self.features == "constant":
            p = np.broadcast_to(w[:, 0], (len(primary), 3))
        else:
            p = np.concatenate([obs, np.ones((len(obs), 1))], 1) @ w.T
        return p[:, 0] + p[:, 1] * primary + p[:, 2] * aux

    # -- persistence --------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        """Write ``meta_blend.npz`` (weights, psi) and ``meta_blend.json`` atomically."""
        import io

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, weights=self.weights.detach().numpy(), psi=self.psi.detach().numpy())
        write_atomic(folder / "meta_blend.npz", buf.getvalue())
        meta = {
            "obs_dim": self.obs_dim,
            "features": self.features,
            "task": self.task,
            "aux": self.aux,
            "gamma": float(self.gamma.detach()),
        }
        write_atomic(folder / "meta_blend.json", json.dumps(meta, indent=2))

    @classmethod
    def load(cls, folder: str | Path) -> MetaBlend:
        """Read a saved blend (``allow_pickle=False``)."""
        folder = require_dir(folder, "a meta-learned blend (meta_blend.json, meta_blend.npz)")
        meta: dict[str, Any] = load_json(folder / "meta_blend.json", "meta-learned blend config")
        data = load_npz(folder / "meta_blend.npz", "meta-learned blend", ("weights", "psi"))
        weights, psi = data["weights"], data["psi"]
        try:
            blend = cls(meta["obs_dim"], meta["features"], task=meta["task"], aux=meta["aux"])
            if weights.shape != tuple(blend.weights.shape):
                raise ValueError(
                    f"weights of shape {weights.shape}, expected {tuple(blend.weights.shape)}"
                )
            with torch.no_grad():
                blend.weights.copy_(torch.as_tensor(weights))
                blend.psi.copy_(torch.as_tensor(psi))
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise FileFormatError(
                f"cannot load a meta-learned blend from {str(folder)!r}: {exc}"
            ) from exc
        return blend


__all__ = ["FEATURES", "MetaBlend"]
