"""What the agent of a preference loop is rewarded with: the learned reward, or it plus
RUNE's exploration bonus (the ensemble's disagreement, decaying with env steps)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rewarddesign.methods.pbrl.options import RuneOption
from rewarddesign.models import RewardEnsemble


class BonusReward:
    """RUNE (Liang et al. 2022): the members' mean reward plus ``beta_t`` times their
    std, ``beta_t = beta0 * (1 - rho) ** step``; ``step`` is set by the loop as it goes.
    Members are standardised as :meth:`RewardEnsemble.predict` does, so the bonus has the
    scale of the reward it is added to.

    Args:
        model: The reward ensemble.
        rune: RUNE's ``beta0`` and ``rho``.

    Example:
        >>> import numpy as np
        >>> from rewarddesign.models import EnsembleConfig
        >>> model = RewardEnsemble(EnsembleConfig((2,), (1,), members=3, hidden=(8,)), "cpu")
        >>> bonus = BonusReward(model, RuneOption(beta0=0.5, rho=0.0))
        >>> obs, act = np.ones((4, 2)), np.zeros((4, 1))
        >>> members = model.rewards(model.inputs(obs, act)).detach().numpy()
        >>> expected = members.mean(0) + 0.5 * members.std(0)
        >>> bool(np.allclose(bonus.predict(obs, act), expected, atol=1e-6))
        True
    """

    def __init__(self, model: RewardEnsemble, rune: RuneOption) -> None:
        self.model, self.rune, self.step = model, rune, 0

    @property
    def config(self) -> Any:
        """The ensemble's config (what :class:`~rewarddesign.wrappers.LearnedReward`
        checks the env's spaces against)."""
        return self.model.config

    @property
    def beta(self) -> float:
        """The bonus weight at the current step."""
        return self.rune.beta(self.step)

    @torch.no_grad()
    def predict(
        self, obs: Any, actions: Any = None, next_obs: Any = None, factors: Any = None
    ) -> np.ndarray:
        """Mean plus ``beta`` times std over members, one per step (float64)."""
        m = self.model
        r = (m.rewards(m.inputs(obs, actions, next_obs, factors)) - m.out_shift) / m.out_scale
        out = r.mean(dim=0) + self.beta * r.std(dim=0, correction=0)
        return out.cpu().numpy().astype(np.float64)
