"""What methods read from a trained agent, whatever its family: one adapter per family.

:func:`view` gives an SB3 (torch) agent a :class:`TorchAgent` and an SBX (JAX) agent a
:class:`~rewarddesign.agents.sbx.JaxAgent`; both take and return numpy arrays, so a
method, an oracle or a potential reads ``Q(s, a)``, ``V(s)`` and the actor's Gaussian
with no branch on the agent, and the factory saves and loads both through it.

Example:
    >>> import numpy as np, rewarddesign as rd
    >>> env = rd.make("classic/Pendulum-v1")
    >>> agent = view(rd.agents.make("sac", env, seed=0, preset="fast"))
    >>> agent.q(np.zeros((2, 3), np.float32), np.zeros((2, 1), np.float32)).shape
    (2,)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from rewarddesign.agents.kinds import AGENTS, AgentKind
from rewarddesign.common.files import load_state_dict
from rewarddesign.errors import FileFormatError, SpaceMismatchError

WEIGHTS_FILE = "policy.pt"
"""An SB3 agent's policy state dict in a saved agent's folder (beside ``agent.json``)."""


class AgentView(Protocol):
    """The adapter's interface (numpy in, numpy out; actions scaled to [-1, 1])."""

    model: Any

    @property
    def device(self) -> str: ...

    def q(self, obs: np.ndarray, scaled_actions: np.ndarray) -> np.ndarray: ...

    def gaussian(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def value(self, obs: np.ndarray) -> np.ndarray: ...

    def save(self, folder: Path) -> None: ...

    def load(self, folder: Path, cfg: dict[str, Any]) -> None: ...


def is_jax(model: Any) -> bool:
    """Whether ``model`` is an SBX (JAX) agent."""
    return type(model).__module__.startswith("sbx.")


def kind_of(model: Any) -> AgentKind | None:
    """The :class:`~rewarddesign.agents.kinds.AgentKind` of a model (of a subclass too),
    or None for a model the factory does not build."""
    family = "sbx" if is_jax(model) else "sb3"
    names = {c.__name__ for c in type(model).__mro__}
    found = [k for k in AGENTS.values() if k.family == family and k.cls_name in names]
    return found[0] if found else None


def view(model: Any) -> AgentView:
    """The adapter of a trained SB3 or SBX agent."""
    if is_jax(model):
        from rewarddesign.agents.sbx import JaxAgent

        return JaxAgent(model)
    return TorchAgent(model)


class TorchAgent:
    """What methods read from a trained SB3 agent, with numpy arrays in and out.

    Args:
        model: An SB3 model (``SAC``, ``TD3`` or ``PPO``).
    """

    def __init__(self, model: Any) -> None:
        self.model, self.policy = model, model.policy

    @property
    def device(self) -> str:
        """The torch device of the agent's networks (``"cpu"``, ``"cuda:0"``)."""
        return str(self.model.device)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(array, dtype=np.float32), device=self.model.device)

    def q(self, obs: np.ndarray, scaled_actions: np.ndarray) -> np.ndarray:
        """``Q(s, a)`` for actions scaled to [-1, 1], shape ``(B,)``: the smaller of the
        twin critics (the value SAC and TD3 bootstrap from)."""
        with torch.no_grad():
            qs = self.policy.critic(self._tensor(obs), self._tensor(scaled_actions))
            q = torch.min(torch.cat(qs, dim=1), dim=1).values
        return q.cpu().numpy().astype(np.float64)

    def gaussian(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The mean and log-std of SAC's squashed Gaussian (before tanh)."""
        with torch.no_grad():
            mean, log_std, _ = self.policy.actor.get_action_dist_params(self._tensor(obs))
        return mean.cpu().numpy(), log_std.cpu().numpy()

    def value(self, obs: np.ndarray) -> np.ndarray:
        """``V(s)``, shape ``(B,)``: the value head (PPO), else ``Q(s, pi(s))`` with the
        actor's deterministic action."""
        with torch.no_grad():
            tensor = self.policy.obs_to_tensor(obs)[0]
            if hasattr(self.policy, "predict_values"):
                v = self.policy.predict_values(tensor).squeeze(-1)
                return v.cpu().numpy().astype(np.float64)
            action = self.policy._predict(tensor, deterministic=True)  # the critic's scale
        return self.q(obs, action.cpu().numpy())

    def save(self, folder: Path) -> None:
        """Write the policy's state dict to ``folder / policy.pt``."""
        torch.save(self.policy.state_dict(), Path(folder) / WEIGHTS_FILE)

    def load(self, folder: Path, cfg: dict[str, Any]) -> None:
        """Load ``folder / policy.pt`` written by :meth:`save` (``weights_only=True``).

        Raises:
            FileFormatError: The file is missing, corrupt or of another agent.
            SpaceMismatchError: It was saved for other spaces (another task).
        """
        path = Path(folder) / WEIGHTS_FILE
        state = load_state_dict(path, f"{cfg['algo']} policy", self.model.device)
        own = self.policy.state_dict()
        if set(state) != set(own):
            raise FileFormatError(
                f"{str(path)!r} does not hold the weights of this agent's policy (other "
                "layers); save it again."
            )
        shape = {k: tuple(getattr(v, "shape", ())) for k, v in state.items()}
        wrong = [k for k in own if shape[k] != tuple(own[k].shape)]
        if wrong:
            raise SpaceMismatchError(
                f"the policy in {str(folder)!r} was saved for task {cfg.get('task')!r}; its layer "
                f"{wrong[0]!r} has shape {shape[wrong[0]]}, this env needs "
                f"{tuple(own[wrong[0]].shape)}. Load it on an env of that task."
            )
        self.policy.load_state_dict(state)
