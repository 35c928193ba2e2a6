"""Method ``barfi``: bi-level meta-learned reward blending (Gupta et al., NeurIPS 2023).

The agent (this method's own ``pg`` learner, see :mod:`rewarddesign.agents.pg`) trains on
``r_phi = phi1(s) + phi2(s) r_p + phi3(s) r_aux`` with discount ``gamma_phi =
sigmoid(psi)``, where ``r_p`` is the task's primary reward and ``r_aux`` one of its
auxiliary rewards (``aux``). Every ``outer_every`` episodes, on the freshly collected
episodes and before the inner update, phi and psi take an ascent step on the primary
return ``J`` (Adam) by the implicit gradient (:mod:`rewarddesign.methods.barfi.bilevel`):
``-(d2 J_phi / dphi dtheta) H^-1 grad_theta J``, with ``H^-1`` by a Neumann series
(``mode="neumann"``) or ``-I`` (``mode="first-order"``), minus L2 penalties on phi and
on gamma_phi. ``mode="fixed"`` never updates phi: with ``phi_init=(0, 1, 0)`` it is
the primary-only baseline, with ``(0, 1, 1)`` the naive blend; ``potential`` adds
potential-based shaping with a potential of the task (the aux as a potential).

The learned phi and gamma_phi are RunResult series (``phi1``, ``phi2``, ``phi3`` as
the constant parts, ``gamma``), and ``episodes`` counts the episodes trained on at each
evaluation (the learning speed in episodes, as the paper plots it); ``save_dir`` gets
``meta_blend/`` for :class:`~rewarddesign.wrappers.MetaLearnedReward`. Budgets are env
steps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from rewarddesign.agents.pg import ESTIMATORS, Episodes, PGLearner, PGPolicy, collect
from rewarddesign.common.checks import check_int
from rewarddesign.contract.runspec import RunResult
from rewarddesign.errors import ParameterError, SpecError, unknown
from rewarddesign.methods.barfi.bilevel import flat_grad, implicit_gradient
from rewarddesign.methods.base import Method, RunContext
from rewarddesign.models.meta_blend import FEATURES, MetaBlend
from rewarddesign.task.registry import make
from rewarddesign.task.spec import TaskSpec
from rewarddesign.wrappers import MetaLearnedReward, PotentialShaping

MODES = ("neumann", "first-order", "fixed")


@dataclass(frozen=True)
class BarfiParams:
    """Parameters of ``barfi``.

    Attributes:
        aux: The task's auxiliary reward to blend (a name under ``auxiliary:``).
        mode: ``"neumann"``, ``"first-order"`` or ``"fixed"`` (no outer steps).
        phi_init: Initial ``(phi1, phi2, phi3)``.
        features: ``"constant"`` (scalars) or ``"linear"`` (phi linear in the state).
        gamma_init: Initial ``gamma_phi``.
        learn_gamma: Meta-learn the discount too.
        primary_gamma: Discount of the primary return ``J`` the outer loop ascends.
        estimator: ``"reinforce"`` or ``"actor-critic"``.
        entropy: Entropy bonus of the inner learner (keeps it exploring while the blend
            changes under it).
        hidden: Policy hidden sizes (``[]``: linear, as the paper's code).
        lr: Policy learning rate (Adam).
        critic_lr: Value-function learning rate.
        episodes: Episodes per inner update.
        outer_every: Episodes between outer steps (Delta).
        outer_lr: Outer step size of phi (Adam).
        gamma_lr: Outer step size of psi (Adam); None: ``outer_lr / 10``. Adam moves
            every parameter by about its step size whatever the gradient's magnitude, and
            psi = 4.6 (gamma 0.99) sits where a step of 0.05 already shortens the horizon
            by 5%: at phi's rate a small steady push drags gamma to 0.75 within 300 outer
            steps on the GridWorld, where the goal is 16 steps away.
        neumann_steps: Neumann terms (K).
        neumann_alpha: Neumann step (alpha); None: 1 / the Hessian's spectral radius,
            estimated by power iteration at each outer step.
        l2_phi: L2 penalty on phi (towards 0).
        l2_gamma: L2 penalty on gamma_phi (towards 0: favours shorter horizons).
        potential: ``mode="fixed"`` only: add potential-based shaping with this potential
            of the task (``gamma_init`` as its discount).
    """

    aux: str = "helpful"
    mode: str = "neumann"
    phi_init: tuple[float, float, float] = (0.0, 1.0, 1.0)
    features: str = "constant"
    gamma_init: float = 0.99
    learn_gamma: bool = True
    primary_gamma: float = 0.99
    estimator: str = "reinforce"
    entropy: float = 0.0
    hidden: tuple[int, ...] = ()
    lr: float = 0.01
    critic_lr: float = 0.01
    episodes: int = 1
    outer_every: int = 5
    outer_lr: float = 0.02
    gamma_lr: float | None = None
    neumann_steps: int = 5
    neumann_alpha: float | None = None
    l2_phi: float = 0.001
    l2_gamma: float = 0.001
    potential: str | None = None


class Barfi(Method):
    """BARFI: meta-learn how much of an auxiliary reward (and which discount) to use.

    Example:
        >>> import rewarddesign as rd
        >>> r = rd.run("barfi/CartPole", "barfi", "pg", seed=0, budget=400,
        ...            eval_episodes=1, aux="harmful", outer_every=2)
        >>> sorted(k for k in r.series if k.startswith("phi"))
        ['phi1', 'phi2', 'phi3']
    """

    name = "barfi"
    Params = BarfiParams
    agents = ("pg",)

    def validate(self, task: TaskSpec, agent: str) -> None:
        p = self.params
        if not task.auxiliary:
            raise SpecError(
                f"barfi needs a task with auxiliary rewards (an `auxiliary:` section); "
                f"{task.id!r} has none. The barfi/ suite has them: rewarddesign tasks."
            )
        if p.aux not in task.auxiliary:
            raise unknown(f"auxiliary reward of task {task.id!r}", p.aux, task.auxiliary)
        if p.mode not in MODES:
            raise unknown("barfi mode", p.mode, MODES)
        if p.features not in FEATURES:
            raise unknown("barfi features", p.features, FEATURES)
        if p.estimator not in ESTIMATORS:
            raise unknown("barfi estimator", p.estimator, ESTIMATORS)
        for key in ("episodes", "outer_every"):
            value = getattr(p, key)
            check_int(value, f"barfi: {key}", 1)
        for key in ("lr", "critic_lr", "outer_lr", "gamma_lr", "neumann_alpha"):
            if getattr(p, key) is None:  # neumann_alpha, gamma_lr: a default of their own
                continue
            if not getattr(p, key) > 0:
                raise ParameterError(f"barfi: {key} must be > 0, got {getattr(p, key)!r}.")
        for key in ("l2_phi", "l2_gamma", "entropy"):
            if not getattr(p, key) >= 0:
                raise ParameterError(f"barfi: {key} must be >= 0, got {getattr(p, key)!r}.")
        if not 0 < p.gamma_init < 1 or not 0 < p.primary_gamma <= 1:
            raise ParameterError(
                f"barfi: gamma_init must be in (0, 1) and primary_gamma in (0, 1], got "
                f"{p.gamma_init!r} and {p.primary_gamma!r}."
            )
        if p.potential is not None:
            if p.mode != "fixed":
                raise ParameterError("barfi: potential (a shaping baseline) needs mode='fixed'.")
            if p.potential not in task.potentials:
                raise unknown(f"potential of task {task.id!r}", p.potential, task.potentials)

    def train(self, ctx: RunContext) -> None:
        p, task = self.params, ctx.task
        env = make(task)
        obs_dim = int(np.prod(env.observation_space.shape))
        seed = ctx.spec.seed
        policy = PGPolicy(env.observation_space, env.action_space, tuple(p.hidden), seed=seed)
        learner = PGLearner(policy, p.estimator, p.lr, p.critic_lr, seed=seed, entropy=p.entropy)
        self.blend = MetaBlend(
            obs_dim, p.features, tuple(p.phi_init), p.gamma_init, task=task.id, aux=p.aux
        )
        gamma_lr = p.outer_lr / 10 if p.gamma_lr is None else p.gamma_lr
        groups = [
            {"params": [self.blend.weights], "lr": p.outer_lr},
            {"params": [self.blend.psi], "lr": gamma_lr},
        ]
        self.outer_opt = torch.optim.Adam(groups)
        aux_spec, names = task.auxiliary[p.aux], task.factor_names
        potential = task.potentials[p.potential] if p.potential else None
        ctx.evaluator.add_proxy(self.proxy_wrapper(ctx))

        def channels(obs, action, next_obs, reward, info):
            return {
                "primary": info["true_reward"],
                "aux": float(aux_spec.compute(info["factors"], names)),
            }

        def predict(obs: np.ndarray) -> np.ndarray:
            return policy.env_action(policy.act(obs, ctx.rng, deterministic=True))

        steps = episodes = 0
        first_reset = seed
        while steps < ctx.spec.budget:
            eps = collect(env, policy, p.episodes, channels, ctx.rng, seed=first_reset)
            first_reset = None
            steps += int(eps.mask.sum())
            episodes += p.episodes
            if p.mode != "fixed" and episodes % p.outer_every < p.episodes:
                self._outer_step(ctx, learner, eps, steps)
            with torch.no_grad():
                rewards = self._rewards(eps, potential)
            learner.update(eps, rewards, self.blend.gamma.detach())
            evaluated = len(ctx.curve)
            ctx.maybe_evaluate(steps, predict)
            if len(ctx.curve) > evaluated:  # episodes per eval point: learning speed in episodes
                ctx.log("episodes", steps, episodes)
        self._log(ctx, steps)
        evaluated = len(ctx.curve)
        ctx.finish(steps, predict)
        if len(ctx.curve) > evaluated:
            ctx.log("episodes", steps, episodes)
        env.close()

    def proxy_wrapper(self, ctx: RunContext) -> Callable[[gym.Env], gym.Env]:
        """The blend being learned (the live one), shaped as the agent's reward is where
        the fixed baseline has a potential."""
        p = self.params

        def wrap(env: gym.Env) -> gym.Env:
            env = MetaLearnedReward(env, self.blend)
            if p.potential:
                env = PotentialShaping(env, p.potential, float(p.gamma_init))
            return env

        return wrap

    def _rewards(self, eps: Episodes, potential: object | None) -> torch.Tensor:
        """``r_phi`` of every step ``(N, T)`` (plus shaping for the fixed baseline)."""
        r = self.blend(eps.obs, eps.rewards["primary"], eps.rewards["aux"])
        if potential is not None:
            phi_s = torch.as_tensor(potential(eps.obs.numpy()), dtype=torch.float32)
            phi_next = torch.as_tensor(potential(eps.next_obs.numpy()), dtype=torch.float32)
            gamma = float(self.params.gamma_init)
            r = r + gamma * phi_next * (1 - eps.terminated) - phi_s  # Phi(terminal) = 0
        return r * eps.mask

    def _outer_step(self, ctx: RunContext, learner: PGLearner, eps: Episodes, step: int) -> None:
        p, blend = self.params, self.blend
        theta = learner.params
        phi = [blend.weights, blend.psi] if p.learn_gamma else [blend.weights]
        inner = learner.objective(eps, self._rewards(eps, None), blend.gamma)
        inner_grad = flat_grad(inner, theta, create_graph=True)
        # Monte Carlo returns for J (the critic was fitted to r_phi, so a one-step
        # advantage on the primary would be biased; as a baseline it is not)
        primary = learner.objective(eps, eps.rewards["primary"], p.primary_gamma, "reinforce", 0.0)
        outer_grad = flat_grad(primary, theta)
        mode = "first-order" if p.mode == "first-order" else "neumann"
        grad = implicit_gradient(
            inner_grad,
            theta,
            phi,
            outer_grad,
            mode=mode,
            alpha=p.neumann_alpha,
            steps=p.neumann_steps,
        )
        n = blend.weights.numel()
        # ascent on J minus the L2 penalties; Adam, because the gradient's scale follows
        # the returns' (hundreds on CartPole, thousands on HalfCheetah)
        w = blend.weights.detach()
        blend.weights.grad = -(grad[:n].view_as(w) - 2 * p.l2_phi * w)
        if p.learn_gamma:
            g = blend.gamma.detach()
            blend.psi.grad = -(grad[n] - p.l2_gamma * 2 * g * g * (1 - g))  # d(gamma^2)/dpsi
        self.outer_opt.step()
        self._log(ctx, step)

    def _log(self, ctx: RunContext, step: int) -> None:
        w = self.blend.weights.detach()[:, -1].tolist()
        for i, value in enumerate(w, start=1):
            ctx.log(f"phi{i}", step, value)
        ctx.log("gamma", step, float(self.blend.gamma.detach()))

    def save(self, folder: Path) -> None:
        """The learned blend, in ``folder / "meta_blend"`` (apply it with
        :class:`~rewarddesign.wrappers.MetaLearnedReward`, discount ``env.gamma``)."""
        self.blend.save(Path(folder) / "meta_blend")

    @classmethod
    def report_figures(cls, results: Sequence[tuple[str, RunResult]]) -> dict[str, bytes]:
        """``learned_weights.png``: phi1, phi2, phi3 and gamma_phi over training, per task,
        each label's mean over seeds (where the runs logged them).

        Example:
            >>> Barfi.report_figures([])
            {}
        """
        from rewarddesign.contract.figures import series_figure  # matplotlib: reports only

        png = series_figure(results, ("phi1", "phi2", "phi3", "gamma"))
        return {} if png is None else {"learned_weights.png": png}


__all__ = ["Barfi", "BarfiParams"]
