"""RewardEnsemble: n reward networks evaluated in one batched call.

Members share an architecture; their weights are stacked, ``(members, in, out)`` per
layer, so one ``torch.baddbmm`` per layer evaluates every member on a batch, or each
member on its own batch (per-member shuffles in training). Inputs are the observation
and action (optionally the next observation or the task's factors), flattened,
concatenated and normalised with a fixed mean and std fitted on data.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rewarddesign.common.checks import check_int, check_seed, is_int
from rewarddesign.common.files import load_json, load_state_dict, require_dir, write_atomic
from rewarddesign.errors import FileFormatError, ParameterError, SpaceMismatchError, SpecError

INPUTS = ("obs_action", "obs_action_next_obs", "obs_factors", "obs")


@dataclass(frozen=True)
class EnsembleConfig:
    """What a reward ensemble is (saved as JSON next to its weights).

    Attributes:
        obs_shape: Shape of one observation (``()`` for a discrete one).
        act_shape: Shape of one action (``()`` for a discrete one).
        n_states: For discrete observations: their number (one-hot encoded).
        n_actions: For discrete actions: their number (one-hot encoded).
        members: Number of networks.
        hidden: Hidden layer sizes.
        inputs: ``"obs_action"``, ``"obs_action_next_obs"``, ``"obs_factors"`` or
            ``"obs"`` (a reward of the state alone: where labels say little about each
            action, a model of actions fits noise the agent then exploits).
        factor_dim: Number of factors (``inputs="obs_factors"``).
        bounded: tanh on the output, as B-Pref (rewards in [-1, 1]).
        seed: Seed of the initial weights.
    """

    obs_shape: tuple[int, ...]
    act_shape: tuple[int, ...] = ()
    n_states: int = 0
    n_actions: int = 0
    members: int = 3
    hidden: tuple[int, ...] = (256, 256)
    inputs: str = "obs_action"
    factor_dim: int = 0
    bounded: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.inputs not in INPUTS:
            raise SpecError(f"ensemble inputs must be one of {INPUTS}, got {self.inputs!r}.")
        check_int(self.members, "ensemble members", 1)
        if not isinstance(self.hidden, tuple | list) or any(
            not is_int(h) or h < 1 for h in self.hidden
        ):
            raise ParameterError(f"ensemble hidden sizes must be integers >= 1, got {self.hidden}.")
        for name in ("n_states", "n_actions", "factor_dim"):
            check_int(getattr(self, name), f"ensemble {name}", 0)
        for name in ("obs_shape", "act_shape"):
            shape = getattr(self, name)
            if not isinstance(shape, tuple | list) or any(not is_int(d) or d < 1 for d in shape):
                raise ParameterError(
                    f"ensemble {name} must be a tuple of sizes >= 1, got {shape!r}."
                )
        if not isinstance(self.bounded, bool):
            raise ParameterError(f"ensemble bounded must be true or false, got {self.bounded!r}.")
        check_seed(self.seed, "ensemble seed")
        if self.inputs == "obs_factors" and self.factor_dim < 1:
            raise ParameterError("inputs='obs_factors' needs factor_dim >= 1.")
        if self.obs_dim < 1:
            raise ParameterError(f"ensemble observations are empty (shape {self.obs_shape}).")

    @classmethod
    def for_spaces(cls, observation_space: Any, action_space: Any, **kwargs: Any) -> EnsembleConfig:
        """The config for a Gymnasium env's spaces (Box or Discrete)."""
        import gymnasium as gym

        def shape(space: Any, what: str) -> tuple[tuple[int, ...], int]:
            if isinstance(space, gym.spaces.Discrete):
                return (), int(space.n)
            if isinstance(space, gym.spaces.Box):
                return tuple(int(d) for d in space.shape), 0
            raise SpaceMismatchError(f"reward models take Box or Discrete {what}, got {space}.")

        obs_shape, n_states = shape(observation_space, "observations")
        act_shape, n_actions = shape(action_space, "actions")
        return cls(
            obs_shape=obs_shape,
            act_shape=act_shape,
            n_states=n_states,
            n_actions=n_actions,
            **kwargs,
        )

    @property
    def obs_dim(self) -> int:
        """Encoded observation size."""
        return self.n_states or int(np.prod(self.obs_shape, dtype=np.int64))

    @property
    def act_dim(self) -> int:
        """Encoded action size."""
        return self.n_actions or int(np.prod(self.act_shape, dtype=np.int64))

    @property
    def in_dim(self) -> int:
        """Input size of the networks."""
        extra = {
            "obs_action": self.act_dim,
            "obs_action_next_obs": self.act_dim + self.obs_dim,
            "obs_factors": self.factor_dim,
            "obs": 0,
        }[self.inputs]
        return self.obs_dim + extra


def _encode(arr: Any, shape: tuple[int, ...], n: int, what: str) -> np.ndarray:
    """``(..., *shape)`` -> ``(..., dim)``: flattened, or one-hot for discrete values."""
    a = np.asarray(arr)
    if a.shape[a.ndim - len(shape) :] != shape:
        raise SpaceMismatchError(
            f"the reward model expects {what} of shape {shape} per step, got an array of "
            f"shape {a.shape}; build it for this task's spaces."
        )
    lead = a.shape[: a.ndim - len(shape)]
    if n:
        idx = a.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise SpaceMismatchError(f"{what} must be in 0..{n - 1}, got {idx.min()}..{idx.max()}.")
        out = np.zeros((*lead, n), dtype=np.float32)
        np.put_along_axis(out, idx[..., None], 1.0, axis=-1)
        return out
    return a.astype(np.float32, copy=False).reshape(*lead, -1)


class RewardEnsemble(torch.nn.Module):
    """``members`` MLP reward models evaluated together.

    Args:
        config: The architecture.
        device: ``"auto"`` (cuda when available), ``"cpu"`` or ``"cuda"``.

    Example:
        >>> import numpy as np
        >>> model = RewardEnsemble(EnsembleConfig(obs_shape=(3,), act_shape=(1,), members=2,
        ...                                       hidden=(8,)), device="cpu")
        >>> model.predict(np.zeros((5, 3)), np.zeros((5, 1))).shape  # mean over members
        (5,)
    """

    def __init__(self, config: EnsembleConfig, device: str = "auto") -> None:
        super().__init__()
        from rewarddesign.agents import resolve_device

        self.config = config
        gen = torch.Generator().manual_seed(config.seed)
        sizes = [config.in_dim, *config.hidden, 1]
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for fan_in, fan_out in itertools.pairwise(sizes):
            bound = 1.0 / math.sqrt(fan_in)  # nn.Linear's default initialisation
            w = (torch.rand(config.members, fan_in, fan_out, generator=gen) * 2 - 1) * bound
            b = (torch.rand(config.members, 1, fan_out, generator=gen) * 2 - 1) * bound
            self.weights.append(torch.nn.Parameter(w))
            self.biases.append(torch.nn.Parameter(b))
        self.register_buffer("mean", torch.zeros(config.in_dim))
        self.register_buffer("std", torch.ones(config.in_dim))
        # predict() returns (mean reward - out_shift) / out_scale; training sees raw rewards
        self.register_buffer("out_shift", torch.zeros(()))
        self.register_buffer("out_scale", torch.ones(()))
        self.to(resolve_device(device))

    @property
    def device(self) -> torch.device:
        """Where the weights live."""
        return self.weights[0].device

    # -- inputs -------------------------------------------------------------------------
    def inputs(
        self, obs: Any, actions: Any = None, next_obs: Any = None, factors: Any = None
    ) -> np.ndarray:
        """Network inputs ``(..., in_dim)`` from arrays with the same leading shape."""
        cfg = self.config
        cols = [_encode(obs, cfg.obs_shape, cfg.n_states, "observations")]
        if cfg.inputs == "obs_factors":
            if factors is None:
                raise ParameterError("the reward model needs factors (inputs='obs_factors').")
            cols.append(_encode(factors, (cfg.factor_dim,), 0, "factors"))
        elif cfg.inputs != "obs":
            if actions is None:
                raise ParameterError(f"the reward model needs actions (inputs={cfg.inputs!r}).")
            cols.append(_encode(actions, cfg.act_shape, cfg.n_actions, "actions"))
            if cfg.inputs == "obs_action_next_obs":
                if next_obs is None:
                    raise ParameterError("the reward model needs next observations.")
                cols.append(_encode(next_obs, cfg.obs_shape, cfg.n_states, "next observations"))
        x = np.concatenate(cols, axis=-1)
        if not np.isfinite(x).all():
            raise ParameterError("reward model inputs contain NaN or inf.")
        return x

    def fit_normalizer(self, x: np.ndarray) -> None:
        """Set the input mean and std from example inputs ``(..., in_dim)``."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.config.in_dim)
        if len(x) == 0 or not np.isfinite(x).all():
            raise ParameterError("fit_normalizer needs a non-empty, finite batch of inputs.")
        std = x.std(axis=0)
        self.mean.copy_(torch.as_tensor(x.mean(axis=0), dtype=torch.float32))
        self.std.copy_(torch.as_tensor(np.where(std > 1e-6, std, 1.0), dtype=torch.float32))

    def standardize_output(self, x: np.ndarray) -> tuple[float, float]:
        """Make :meth:`predict` zero-mean, unit-std on example inputs ``(..., in_dim)``.

        Preferences fix a reward only up to shift and scale; this pins both, so an agent
        sees rewards of a steady size as the model is refitted. Returns (shift, scale).
        """
        with torch.no_grad():
            r = self.rewards(np.asarray(x).reshape(-1, self.config.in_dim)).mean(dim=0)
        if r.numel() == 0:
            raise ParameterError("standardize_output needs a non-empty batch of inputs.")
        shift, scale = float(r.mean()), float(r.std(correction=0))
        self.out_shift.fill_(shift)
        self.out_scale.fill_(scale if scale > 1e-8 else 1.0)
        return shift, float(self.out_scale)

    # -- forward ------------------------------------------------------------------------
    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Inputs as the networks see them (the normaliser applied)."""
        return (x - self.mean) / self.std

    def forward(self, x: torch.Tensor, normalized: bool = False) -> torch.Tensor:
        """Rewards of every member.

        Args:
            x: ``(B, in)`` (all members see the same batch) or ``(members, B, in)``.
            normalized: True if ``x`` went through :meth:`normalize` already (training
                normalises its whole dataset once).

        Returns:
            ``(members, B)``.
        """
        h = x if normalized else self.normalize(x)
        if h.dim() == 2:
            h = h.unsqueeze(0).expand(self.config.members, -1, -1)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = torch.relu(h)
        out = h.squeeze(-1)
        return torch.tanh(out) if self.config.bounded else out

    def rewards(self, x: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Member rewards ``(members, ...)`` for inputs ``(..., in_dim)``."""
        t = torch.as_tensor(x, dtype=torch.float32, device=self.device)
        lead = t.shape[:-1]
        return self.forward(t.reshape(-1, t.shape[-1])).reshape(self.config.members, *lead)

    def segment_returns(self, seg: Any, member_inputs: torch.Tensor | None = None) -> torch.Tensor:
        """``(members, n)`` predicted returns of segments (masked steps count 0)."""
        if member_inputs is None:
            member_inputs = self.inputs(seg.obs, seg.actions, None, seg.factors)
        r = self.rewards(member_inputs)
        mask = torch.as_tensor(seg.mask, device=self.device, dtype=r.dtype)
        return (r * mask).sum(dim=-1)

    @torch.no_grad()
    def predict_proba(self, pairs: Any) -> np.ndarray:
        """``(members, n)`` P(first preferred) per member (Bradley-Terry on returns)."""
        diff = self.segment_returns(pairs.first) - self.segment_returns(pairs.second)
        return torch.sigmoid(diff).cpu().numpy().astype(np.float64)

    @torch.no_grad()
    def predict(
        self, obs: Any, actions: Any = None, next_obs: Any = None, factors: Any = None
    ) -> np.ndarray:
        """Mean reward over members, one per step (float64), standardised if
        :meth:`standardize_output` was called."""
        r = self.rewards(self.inputs(obs, actions, next_obs, factors)).mean(dim=0)
        return ((r - self.out_shift) / self.out_scale).cpu().numpy().astype(np.float64)

    @torch.no_grad()
    def mean_over_pairs(
        self, obs: Any, actions: Any, next_obs: Any = None, chunk: int = 4096
    ) -> np.ndarray:
        """``(n,)``: for each observation ``obs[i]``, the mean of :meth:`predict` over the
        ``m`` pairs ``(actions[j], next_obs[j])``, without building the ``n * m`` inputs:
        the first layer's observation part and pair part are computed once each and
        summed per pair (what EPIC's expectations need, ``n * m`` evaluations). ``chunk``
        rows at a time: a few MB, which stay in the CPU's cache between layers.

        Raises:
            ParameterError: A model that reads factors (``inputs="obs_factors"``): its
                pairs' factors depend on the observation; use :meth:`predict`.
        """
        cfg = self.config
        if cfg.inputs == "obs_factors":
            raise ParameterError(
                "mean_over_pairs needs a model of observations and actions; this one reads "
                "factors (inputs='obs_factors'): evaluate it with predict."
            )
        x_obs = self.normalize_part(_encode(obs, cfg.obs_shape, cfg.n_states, "observations"), 0)
        pair = [_encode(actions, cfg.act_shape, cfg.n_actions, "actions")]
        if cfg.inputs == "obs_action_next_obs":
            pair.append(_encode(next_obs, cfg.obs_shape, cfg.n_states, "next observations"))
        x_pair = self.normalize_part(np.concatenate(pair, axis=-1), cfg.obs_dim)
        w, b = self.weights[0], self.biases[0]
        u = torch.bmm(x_obs.expand(cfg.members, -1, -1), w[:, : cfg.obs_dim])  # (k, n, h)
        v = torch.baddbmm(b, x_pair.expand(cfg.members, -1, -1), w[:, cfg.obs_dim :])
        m, last = len(x_pair), len(self.weights) - 1
        per = max(1, chunk // m)
        out = torch.empty(len(x_obs), device=self.device)
        for start in range(0, len(x_obs), per):
            h = u[:, start : start + per, None, :] + v[:, None, :, :]  # (k, rows, m, h)
            rows = h.shape[1]
            h = h.reshape(cfg.members, rows * m, -1)
            for i, (wi, bi) in enumerate(zip(self.weights, self.biases, strict=True)):
                if i > 0:
                    h = torch.baddbmm(bi, h, wi)
                if i < last:
                    h = torch.relu_(h)
            r = h.squeeze(-1)
            r = torch.tanh(r) if cfg.bounded else r
            out[start : start + rows] = r.reshape(cfg.members, rows, m).mean(dim=(0, 2))
        return ((out - self.out_shift) / self.out_scale).cpu().numpy().astype(np.float64)

    def normalize_part(self, x: np.ndarray, offset: int) -> torch.Tensor:
        """Inputs' columns ``offset:offset + width`` normalised, as a tensor on the device."""
        t = torch.as_tensor(x, dtype=torch.float32, device=self.device)
        if not torch.isfinite(t).all():
            raise ParameterError("reward model inputs contain NaN or inf.")
        cols = slice(offset, offset + t.shape[-1])
        return (t - self.mean[cols]) / self.std[cols]

    # -- persistence --------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        """Write ``reward_model.pt`` (a state dict) and ``reward_model.json`` (the config)."""
        import io

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        torch.save({k: v.cpu() for k, v in self.state_dict().items()}, buf)
        write_atomic(folder / "reward_model.pt", buf.getvalue())
        write_atomic(folder / "reward_model.json", json.dumps(asdict(self.config), indent=2))

    @classmethod
    def load(cls, folder: str | Path, device: str = "auto") -> RewardEnsemble:
        """Read a saved ensemble (``weights_only=True``: no code is unpickled).

        Raises:
            FileFormatError: The folder is missing or a file, or its ``reward_model.json``
                or ``reward_model.pt`` is missing, corrupt or does not fit the other.
        """
        what = "a reward model (reward_model.json and reward_model.pt, as a pbrl run saves)"
        folder = require_dir(folder, what)
        doc = load_json(folder / "reward_model.json", "reward model config")
        try:
            for key in ("hidden", "obs_shape", "act_shape"):
                doc[key] = tuple(doc[key])
            model = cls(EnsembleConfig(**doc), device=device)
        except (KeyError, TypeError, ParameterError, SpecError) as exc:
            raise FileFormatError(
                f"{str(folder / 'reward_model.json')!r} is not a reward model config: {exc}"
            ) from exc
        state = load_state_dict(folder / "reward_model.pt", "reward model", model.device)
        for key in ("out_shift", "out_scale"):  # models saved before standardisation
            state.setdefault(key, getattr(model, key))
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise FileFormatError(
                f"{str(folder / 'reward_model.pt')!r} does not fit its config "
                f"{str(folder / 'reward_model.json')!r} (other layers or shapes); save the "
                "model again with RewardEnsemble.save."
            ) from exc
        return model


__all__ = ["INPUTS", "EnsembleConfig", "RewardEnsemble"]
