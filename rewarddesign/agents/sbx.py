"""The SBX (JAX) family: its device, its threads, what methods read from it, its files.

SBX agents are SB3 algorithms whose policy holds flax ``TrainState`` objects instead of
torch modules. :class:`JaxAgent` reads their critics, actors and value heads with numpy
in and out (the interface :class:`~rewarddesign.agents.access.TorchAgent` gives SB3
agents), and saves their parameters as a plain ``.npz`` (no pickle) named by each
array's place in the parameter tree.

Example:
    >>> import numpy as np, rewarddesign as rd
    >>> env = rd.make("classic/Pendulum-v1")
    >>> agent = JaxAgent(rd.agents.make("sbx-sac", env, seed=0, preset="fast"))
    >>> agent.q(np.zeros((2, 3), np.float32), np.zeros((2, 1), np.float32)).shape
    (2,)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from rewarddesign.common.files import load_npz
from rewarddesign.errors import FileFormatError, ParameterError, SpaceMismatchError

WEIGHTS_FILE = "params.npz"
"""An SBX agent's parameters in a saved agent's folder (beside ``agent.json``)."""
# The states of an SBX policy and the parameter fields of each that fix its actions and
# values (optimiser states are training state, as SB3's policy.pt leaves them out too).
_FIELDS = ("params", "target_params", "batch_stats", "target_batch_stats")
_SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def single_threaded_xla() -> None:
    """Run XLA's CPU code on one thread in this process, as each worker runs torch: N
    workers then use N cores. Takes effect only before JAX is first imported; a user's
    own ``XLA_FLAGS`` threading setting wins."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "multi_thread_eigen" not in flags and "intra_op_parallelism" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {_SINGLE_THREAD}".strip()


def _gpus() -> list[Any]:
    import jax

    try:
        return jax.devices("gpu")
    except RuntimeError:  # no GPU backend in this jaxlib, or no GPU visible
        return []


def resolve_jax_device(device: str = "auto") -> str:
    """``"auto"`` -> ``"cuda"`` when JAX sees a GPU, else ``"cpu"``, as for torch agents;
    then make it JAX's default device in this process.

    Raises:
        ParameterError: An unknown device, or a GPU asked for that JAX cannot see.
    """
    import jax

    gpus = _gpus()
    name, _, index = device.partition(":")
    if device == "auto":
        name, index = ("cuda" if gpus else "cpu"), ""
    if name not in ("cpu", "cuda") or (index and not index.isdigit()):
        raise ParameterError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda'.")
    if name == "cuda" and int(index or 0) >= len(gpus):
        raise ParameterError(
            f"device {device!r} asked for, but JAX sees {len(gpus)} GPU(s) (jax "
            f"{jax.__version__}; its CUDA build is `pip install 'jax[cuda12]'`); use 'auto' "
            "or 'cpu'."
        )
    chosen = gpus[int(index or 0)] if name == "cuda" else jax.devices("cpu")[0]
    jax.config.update("jax_default_device", chosen)
    return "cpu" if name == "cpu" else f"cuda:{int(index or 0)}"


def _gaussian(dist: Any) -> tuple[Any, Any]:
    """The Gaussian under a squashed-Gaussian actor's tanh: its mean and std."""
    return dist.distribution.mean(), dist.distribution.stddev()


class JaxAgent:
    """What methods read from a trained SBX agent, with numpy arrays in and out.

    Args:
        model: An SBX model (``sbx.SAC``, ``TD3``, ``TQC``, ``CrossQ`` or ``PPO``).

    Example:
        >>> import numpy as np, rewarddesign as rd
        >>> env = rd.make("classic/Pendulum-v1")
        >>> agent = JaxAgent(rd.agents.make("sbx-td3", env, seed=0, preset="fast"))
        >>> agent.value(np.zeros((4, 3), np.float32)).shape, agent.device
        ((4,), 'cpu')
    """

    def __init__(self, model: Any) -> None:
        self.model, self.policy = model, model.policy
        self._compiled: dict[Any, Any] = {}

    @property
    def device(self) -> str:
        """Where the agent's arrays live: ``"cpu"`` or ``"cuda:N"``."""
        leaf = self._states()[0][1].params
        import jax

        device = next(iter(jax.tree_util.tree_leaves(leaf)[0].devices()))
        return "cpu" if device.platform == "cpu" else f"cuda:{device.id}"

    def _states(self) -> list[tuple[str, Any]]:
        from flax.training.train_state import TrainState

        return sorted(
            (name, v) for name, v in vars(self.policy).items() if isinstance(v, TrainState)
        )

    def _apply(self, state: Any, *inputs: Any, out: Any = None) -> Any:
        """``state``'s network on ``inputs``, compiled once per state and output map."""
        import jax

        key = (id(state.apply_fn), out)
        if key not in self._compiled:
            if hasattr(state, "batch_stats"):  # CrossQ: batch renormalisation, eval mode

                def run(state: Any, *x: Any) -> Any:
                    variables = {"params": state.params, "batch_stats": state.batch_stats}
                    return state.apply_fn(variables, *x, train=False)

            else:  # a critic with dropout (DroQ's) needs a key; a fixed one: repeatable

                def run(state: Any, *x: Any) -> Any:
                    return state.apply_fn(state.params, *x, rngs={"dropout": jax.random.key(0)})

            self._compiled[key] = jax.jit(run if out is None else lambda *a: out(run(*a)))
        return self._compiled[key](state, *inputs)

    def q(self, obs: np.ndarray, scaled_actions: np.ndarray) -> np.ndarray:
        """``Q(s, a)`` for actions scaled to [-1, 1], shape ``(B,)``: the smaller of the
        twin critics (SAC, TD3, CrossQ), or TQC's mean over the quantiles it keeps."""
        import jax.numpy as jnp

        p = self.policy
        obs, act = jnp.asarray(obs), jnp.asarray(scaled_actions, dtype=jnp.float32)
        if hasattr(p, "qf1_state"):  # TQC: two quantile critics, the top ones dropped
            quantiles = jnp.concatenate(
                [self._apply(s, obs, act) for s in (p.qf1_state, p.qf2_state)], axis=1
            )
            q = jnp.sort(quantiles, axis=1)[:, : p.n_target_quantiles].mean(axis=1)
        else:  # (n_critics, B, 1)
            q = self._apply(p.qf_state, obs, act).min(axis=0)[:, 0]
        return np.asarray(q, dtype=np.float64)

    def gaussian(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The mean and log-std of a squashed-Gaussian actor's Gaussian (before tanh)."""
        import jax.numpy as jnp

        mean, std = self._apply(self.policy.actor_state, jnp.asarray(obs), out=_gaussian)
        return np.asarray(mean), np.log(np.asarray(std))

    def value(self, obs: np.ndarray) -> np.ndarray:
        """``V(s)``, shape ``(B,)``: the value head (PPO), else ``Q(s, pi(s))`` with the
        actor's deterministic action."""
        import jax.numpy as jnp

        p = self.policy
        if hasattr(p, "vf_state"):
            v = self._apply(p.vf_state, jnp.asarray(obs)).reshape(-1)
            return np.asarray(v, dtype=np.float64)
        return self.q(obs, np.asarray(p._predict(np.asarray(obs), deterministic=True)))

    def arrays(self) -> dict[str, np.ndarray]:
        """Every parameter array that fixes the agent's actions and values, by its place
        (``"actor_state.params['params']['Dense_0']['kernel']"``)."""
        import jax

        out: dict[str, np.ndarray] = {}
        for name, state in self._states():
            for field in _FIELDS:
                tree = getattr(state, field, None)
                for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
                    out[f"{name}.{field}{jax.tree_util.keystr(path)}"] = np.asarray(leaf)
        return out

    def save(self, folder: Path) -> None:
        """Write :meth:`arrays` to ``folder / params.npz`` (numeric arrays only), whole
        or not at all."""
        path = Path(folder) / WEIGHTS_FILE
        partial = path.with_name(f".{WEIGHTS_FILE}.partial.npz")
        np.savez(partial, **self.arrays())
        os.replace(partial, path)

    def load(self, folder: Path, cfg: dict[str, Any]) -> None:
        """Set the parameters from ``folder / params.npz`` written by :meth:`save`.

        Raises:
            FileFormatError: The file is missing, corrupt or of another agent.
            SpaceMismatchError: Its arrays were saved for other spaces (another task).
        """
        import jax
        import jax.numpy as jnp

        path = Path(folder) / WEIGHTS_FILE
        saved = load_npz(path, f"{cfg['algo']} parameter file")
        own = self.arrays()
        if set(saved) != set(own):
            raise FileFormatError(
                f"{str(path)!r} does not hold the parameters of this agent (other layers: "
                f"{sorted(set(saved) ^ set(own))[:3]}); save it again."
            )
        wrong = [k for k in own if saved[k].shape != own[k].shape]
        if wrong:
            raise SpaceMismatchError(
                f"the agent in {str(folder)!r} was saved for task {cfg.get('task')!r}; its array "
                f"{wrong[0]!r} has shape {saved[wrong[0]].shape}, this env needs "
                f"{own[wrong[0]].shape}. Load it on an env of that task."
            )
        for name, state in self._states():
            fields = {}
            for field in _FIELDS:
                tree = getattr(state, field, None)
                leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
                if leaves:
                    new = [
                        jnp.asarray(saved[f"{name}.{field}{jax.tree_util.keystr(p)}"])
                        for p, _ in leaves
                    ]
                    fields[field] = jax.tree_util.tree_unflatten(treedef, new)
            setattr(self.policy, name, state.replace(**fields))
