"""Optimal values for the regret teacher: exact ones of tabular tasks (value iteration)
and an expert SAC critic's estimates for continuous control."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rewarddesign.common.checks import check_int
from rewarddesign.errors import ParameterError, SpecError

#: What a tabular env exposes (on its unwrapped env): transitions, rewards, terminal states.
TABULAR = ("P", "R", "terminal")


def is_tabular(env: Any) -> bool:
    """Whether value iteration applies: the unwrapped env exposes ``P``, ``R`` and
    ``terminal`` (as ``gridworld/delivery`` and ``gridworld/random-mdp`` do).

    Example:
        >>> import rewarddesign as rd
        >>> is_tabular(rd.make("gridworld/delivery")), is_tabular(rd.make("classic/Pendulum-v1"))
        (True, False)
    """
    return all(hasattr(env.unwrapped, k) for k in TABULAR)


class ValueIterationOracle:
    """``V*`` and ``Q*`` of a finite MDP by value iteration (exact to ``tol``).

    Args:
        P: (S, A, S) transition probabilities.
        R: (S, A, S) reward of each transition, or (S, A) expected rewards.
        discount: In [0, 1); 1 only if every policy reaches a terminal state.
        terminal: (S,) bool, absorbing states whose value is 0.
        tol: Stop when the largest change of ``Q`` is below this.

    Example:
        >>> import numpy as np
        >>> P = np.zeros((2, 1, 2)); P[0, 0, 1] = P[1, 0, 1] = 1.0
        >>> oracle = ValueIterationOracle(P, np.array([[1.0], [0.0]]), 0.9,
        ...                               terminal=np.array([False, True]))
        >>> oracle.V(np.array([0, 1]))
        array([1., 0.])
    """

    def __init__(
        self,
        P: np.ndarray,
        R: np.ndarray,
        discount: float,
        terminal: np.ndarray | None = None,
        tol: float = 1e-12,
        max_iterations: int = 100_000,
    ) -> None:
        P, R = np.asarray(P, dtype=np.float64), np.asarray(R, dtype=np.float64)
        if P.ndim != 3 or P.shape[0] != P.shape[2]:
            raise ParameterError(f"ValueIterationOracle: P must be (S, A, S), got {P.shape}.")
        if not np.allclose(P.sum(axis=2), 1.0, atol=1e-9) or (P < 0).any():
            raise ParameterError("ValueIterationOracle: every P[s, a] must be a distribution.")
        if R.shape not in (P.shape, P.shape[:2]) or not np.isfinite(R).all():
            raise ParameterError(
                f"ValueIterationOracle: R must be finite, shaped {P.shape} or {P.shape[:2]}; "
                f"got {R.shape}."
            )
        if not 0 <= discount <= 1:
            raise ParameterError(
                f"ValueIterationOracle: discount must be in [0, 1], got {discount!r}."
            )
        S = P.shape[0]
        terminal = np.zeros(S, bool) if terminal is None else np.asarray(terminal, dtype=bool)
        expected = (P * R).sum(axis=2) if R.ndim == 3 else R
        q = np.zeros(P.shape[:2])
        for _ in range(max_iterations):
            v = np.where(terminal, 0.0, q.max(axis=1))
            new = expected + discount * P @ v
            new[terminal] = 0.0
            if np.abs(new - q).max() < tol:
                break
            q = new
        else:
            raise ParameterError(
                f"value iteration did not converge in {max_iterations} sweeps (discount "
                f"{discount}); use a discount below 1 or make a terminal state reachable."
            )
        self.q, self.v = new, np.where(terminal, 0.0, new.max(axis=1))
        self.n_states, self.discount, self.terminal = S, float(discount), terminal

    @classmethod
    def from_env(cls, env: Any, discount: float) -> ValueIterationOracle:
        """The oracle of a tabular env exposing ``P``, ``R`` and ``terminal``."""
        base = env.unwrapped
        if not is_tabular(env):
            raise SpecError(
                f"{base} is not a tabular task (it exposes no P, R and terminal); regret "
                "labels for continuous control need an expert's critic."
            )
        return cls(base.P, base.R, discount, base.terminal)

    def V(self, states: np.ndarray) -> np.ndarray:
        """``V*`` of integer states (any shape)."""
        return self.v[np.asarray(states, dtype=np.int64)]

    def Q(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """``Q*`` of integer states and actions (same shape)."""
        return self.q[np.asarray(states, dtype=np.int64), np.asarray(actions, dtype=np.int64)]


class CriticOracle:
    """``Q`` and ``V`` of continuous-control states from an expert SAC agent's critic.

    ``Q(s, a)`` is the smaller of SAC's two critics (the value SAC itself bootstraps
    from; TQC's mean over its kept quantiles); ``V(s)`` is the mean of ``Q(s, a_i)`` over
    ``n_action_samples`` actions drawn from the expert's squashed Gaussian policy with the
    oracle's own generator (so labels are reproducible). Both are estimates of the
    expert's values for its own discount, which stand in for the optimal ones;
    :class:`RegretTeacher` uses this interface unchanged. The expert may be of either
    family (SB3's ``sac``, SBX's ``sbx-sac``, ``sbx-tqc``, ``sbx-crossq``): it is read
    through :func:`rewarddesign.agents.view`.

    Args:
        model: A trained SAC-family model (a critic and a squashed-Gaussian actor).
        n_action_samples: Actions sampled per state for ``V``.
        seed: Seed of the action samples.
        task: The task id the expert was trained for (checked by :meth:`from_dir`).

    Example:
        >>> import numpy as np, rewarddesign as rd
        >>> env = rd.make("classic/Pendulum-v1")
        >>> oracle = CriticOracle(rd.agents.make("sac", env, seed=0, preset="fast"), 4)
        >>> oracle.V(np.zeros((2, 5, 3), np.float32)).shape, oracle.discount
        ((2, 5), 0.99)
    """

    def __init__(
        self, model: Any, n_action_samples: int = 10, seed: int = 0, task: str | None = None
    ) -> None:
        import torch

        from rewarddesign import agents

        found = agents.kind_of(model)
        if found is None or found.name not in agents.EXPERT_AGENTS:
            raise SpecError(
                f"CriticOracle needs an SAC-family model (a critic and a squashed-Gaussian "
                f"actor: {', '.join(agents.EXPERT_AGENTS)}), got {model!r}; train one with "
                "`rewarddesign expert train TASK`."
            )
        check_int(n_action_samples, "CriticOracle: n_action_samples", 1)
        self.agent, self.n_action_samples, self.task = agents.view(model), n_action_samples, task
        self.policy = model.policy  # scale_action: SB3's, which SBX policies inherit
        self.discount = float(model.gamma)
        self.obs_shape = tuple(model.observation_space.shape)
        # on the CPU whatever the expert's device: the same draws on every machine
        self._gen = torch.Generator().manual_seed(seed)

    @classmethod
    def from_dir(
        cls,
        folder: str | Path,
        task: str | None = None,
        n_action_samples: int = 10,
        seed: int = 0,
        device: str = "cpu",
    ) -> CriticOracle:
        """The oracle of an expert saved by ``rewarddesign expert train`` (or any SAC-family
        agent saved by ``rd.run(..., save_dir=...)``: the folder holding ``model/``).

        Raises:
            SpecError: No saved SAC agent there, or one trained for another task.
        """
        from rewarddesign import agents
        from rewarddesign.common.files import load_json
        from rewarddesign.task.registry import make, task_ref, task_spec

        folder = Path(folder)
        model_dir = folder / "model" if (folder / "model").is_dir() else folder
        if not (model_dir / "agent.json").is_file():
            raise SpecError(
                f"no saved agent in {str(folder)!r} (no agent.json); train an expert with "
                "`rewarddesign expert train TASK` and pass its folder."
            )
        cfg = load_json(model_dir / "agent.json", "agent config")
        algo = cfg.get("algo")
        if algo not in agents.EXPERT_AGENTS:
            raise SpecError(
                f"the expert in {str(folder)!r} is {algo!r}, not of SAC's family "
                f"({', '.join(agents.EXPERT_AGENTS)}): its values cannot be sampled."
            )
        trained = cfg.get("task")  # the run's task: an id, or a spec file's path
        if task is not None and trained != task and task_spec(trained).id != task_spec(task).id:
            raise SpecError(
                f"the expert in {str(folder)!r} was trained for task {cfg.get('task')!r}, not "
                f"{task!r}; train one for {task!r} with "
                f"`rewarddesign expert train {task_ref(task)}`."
            )
        env = make(cfg["task"])
        try:
            model = agents.load(model_dir, env, device=device)
        finally:
            env.close()
        return cls(model, n_action_samples, seed, task=cfg["task"])

    def _obs(self, states: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
        s = np.asarray(states, dtype=np.float32)
        if s.shape[s.ndim - len(self.obs_shape) :] != self.obs_shape:
            raise ParameterError(
                f"CriticOracle: states of shape {s.shape} do not end in the expert's "
                f"observation shape {self.obs_shape}; use the expert of the segments' task."
            )
        lead = s.shape[: s.ndim - len(self.obs_shape)]
        return s.reshape(-1, *self.obs_shape), lead

    def Q(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Expert ``Q(s, a)`` for env-space actions (``(..., act)``), shape ``(...)``."""
        obs, lead = self._obs(states)
        a = np.asarray(actions, dtype=np.float32).reshape(len(obs), -1)
        return self.agent.q(obs, self.policy.scale_action(a)).reshape(lead)

    def V(self, states: np.ndarray) -> np.ndarray:
        """Expert ``V(s)``: mean ``Q`` over sampled policy actions, shape ``(...)``."""
        import torch

        obs, lead = self._obs(states)
        k = self.n_action_samples
        # torch's float32 arithmetic on the CPU for either family: the same labels as
        # before the adapter, to the last bit
        mean, log_std = (torch.as_tensor(a) for a in self.agent.gaussian(obs))
        noise = torch.randn((k, *mean.shape), generator=self._gen)
        actions = torch.tanh(mean + log_std.exp() * noise).reshape(-1, mean.shape[-1])
        q = self.agent.q(np.tile(obs, (k,) + (1,) * (obs.ndim - 1)), actions.numpy())
        q = torch.as_tensor(q.astype(np.float32)).reshape(k, len(obs)).mean(dim=0)
        return q.numpy().astype(np.float64).reshape(lead)
