"""A small policy-gradient learner whose objective is differentiable in the reward (BARFI).

SB3 cannot give second derivatives through its updates, so BARFI's inner loop uses this
torch learner: a softmax (discrete) or Gaussian (continuous) policy, linear or a small
MLP, trained by REINFORCE with a learned state-value baseline or by a one-step
actor-critic. Its surrogate objective keeps the graph to the reward parameters, so
``grad_theta J_phi`` can be differentiated again in ``theta`` and ``phi``.

Episodes are padded to one ``(N, T)`` batch; discounted returns are one matrix product
with a ``(T, T)`` discount matrix (differentiable in the discount), never a loop over
batch items.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rewarddesign.errors import ParameterError, SpaceMismatchError

ESTIMATORS = ("reinforce", "actor-critic")


def _mlp(
    sizes: list[int], activation: type[torch.nn.Module] = torch.nn.Tanh
) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return torch.nn.Sequential(*layers)


class PGPolicy(torch.nn.Module):
    """A stochastic policy: softmax over logits (Discrete) or a Gaussian with a learned
    state-independent log std (Box). Gaussian samples are learned from as drawn and
    clipped to the action space only on their way to the env (:meth:`env_action`), as
    SB3 does: an env such as HalfCheetah charges its control cost on the action it is
    given, so an unclipped 3.0 would cost 9x what the clipped 1.0 it executes costs.

    Observation dimensions with finite bounds are mapped to ``[-1, 1]`` before the
    network (others pass unchanged): a linear policy on raw MountainCar states would
    see velocities of 0.07 and barely learn from them.

    Args:
        observation_space: A flat Box.
        action_space: Discrete or a flat Box.
        hidden: Hidden layer sizes; ``()`` gives a linear policy (as BARFI's code).
        seed: Seed of the initial weights.

    Example:
        >>> import gymnasium as gym, torch
        >>> env = gym.make("CartPole-v1")
        >>> pi = PGPolicy(env.observation_space, env.action_space, hidden=(), seed=0)
        >>> pi.log_prob(torch.zeros(2, 4), torch.tensor([0, 1])).shape
        torch.Size([2])
        >>> pi.act(np.zeros((3, 4), np.float32), np.random.default_rng(0)).shape
        (3,)
    """

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        hidden: tuple[int, ...] = (32,),
        seed: int = 0,
    ) -> None:
        super().__init__()
        if not isinstance(observation_space, gym.spaces.Box) or len(observation_space.shape) != 1:
            raise SpaceMismatchError(
                f"PGPolicy needs flat Box observations, got {observation_space}."
            )
        obs_dim = int(observation_space.shape[0])
        low = np.asarray(observation_space.low, dtype=np.float64)
        high = np.asarray(observation_space.high, dtype=np.float64)
        bounded = np.isfinite(low) & np.isfinite(high) & (high - low < 1e6) & (high > low)
        low, high = np.where(bounded, low, -1.0), np.where(bounded, high, 1.0)
        centre, scale = (high + low) / 2, 2 / (high - low)
        self.register_buffer("obs_centre", torch.as_tensor(centre, dtype=torch.float32))
        self.register_buffer("obs_scale", torch.as_tensor(scale, dtype=torch.float32))
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        if self.discrete:
            out = int(action_space.n)
        elif isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
            out = int(action_space.shape[0])
            self.log_std = torch.nn.Parameter(torch.full((out,), -0.5))
            self.action_low = np.asarray(action_space.low, dtype=np.float32)
            self.action_high = np.asarray(action_space.high, dtype=np.float32)
        else:
            raise SpaceMismatchError(
                f"PGPolicy needs Discrete or flat Box actions, got {action_space}."
            )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = _mlp([obs_dim, *hidden, out])

    def normalise(self, obs: torch.Tensor) -> torch.Tensor:
        """Observations with their bounded dimensions mapped to ``[-1, 1]``."""
        return (obs - self.obs_centre) * self.obs_scale

    def distribution(self, obs: torch.Tensor) -> torch.distributions.Distribution:
        """The action distribution at a batch of observations."""
        out = self.net(self.normalise(obs))
        if self.discrete:
            return torch.distributions.Categorical(logits=out)
        return torch.distributions.Normal(out, self.log_std.exp())

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """log pi(a | s), one per row."""
        dist = self.distribution(obs)
        lp = dist.log_prob(actions)
        return lp if self.discrete else lp.sum(-1)

    @torch.no_grad()
    def act(
        self, obs: np.ndarray, rng: np.random.Generator, deterministic: bool = False
    ) -> np.ndarray:
        """Actions for a batch of observations, sampled with ``rng`` (numpy in and out)."""
        dist = self.distribution(torch.as_tensor(obs, dtype=torch.float32))
        if self.discrete:
            probs = dist.probs.numpy()
            if deterministic:
                return probs.argmax(-1)
            u = rng.random((len(probs), 1))
            return np.minimum((probs.cumsum(-1) < u).sum(-1), probs.shape[-1] - 1)
        mean = dist.mean.numpy()
        if deterministic:
            return mean
        return (mean + dist.stddev.numpy() * rng.standard_normal(mean.shape)).astype(np.float32)

    def env_action(self, actions: np.ndarray) -> np.ndarray:
        """Actions as the env gets them: Box actions clipped to its bounds."""
        if self.discrete:
            return actions
        return np.clip(actions, self.action_low, self.action_high)


@dataclass
class Episodes:
    """A padded batch of N episodes of at most T steps.

    Attributes:
        obs: ``(N, T, obs_dim)`` observations before each step.
        next_obs: ``(N, T, obs_dim)``.
        actions: ``(N, T)`` (discrete) or ``(N, T, act_dim)``.
        rewards: ``{name: (N, T)}`` reward channels (e.g. ``primary``, ``aux``).
        mask: ``(N, T)`` 1 for real steps.
        terminated: ``(N, T)`` 1 where the episode ended in a terminal state.
    """

    obs: torch.Tensor
    next_obs: torch.Tensor
    actions: torch.Tensor
    rewards: dict[str, torch.Tensor]
    mask: torch.Tensor
    terminated: torch.Tensor

    @property
    def lengths(self) -> torch.Tensor:
        """Steps per episode."""
        return self.mask.sum(1)

    def returns(self, channel: str) -> np.ndarray:
        """Undiscounted return of each episode on one reward channel."""
        return (self.rewards[channel] * self.mask).sum(1).numpy().astype(np.float64)


def discount_matrix(gamma: torch.Tensor | float, T: int) -> torch.Tensor:
    """``M[t, k] = gamma^(k - t)`` for ``k >= t`` else 0; ``G = r @ M.T`` gives discounted
    returns-to-go of rewards ``r`` ``(N, T)``. Differentiable in ``gamma``."""
    idx = torch.arange(T, dtype=torch.float32)
    lag = idx[None, :] - idx[:, None]
    g = torch.as_tensor(gamma, dtype=torch.float32)
    upper = lag >= 0
    return torch.where(upper, g ** lag.clamp(min=0), torch.zeros(()))


def returns_to_go(
    rewards: torch.Tensor, mask: torch.Tensor, gamma: torch.Tensor | float
) -> torch.Tensor:
    """Discounted returns-to-go ``(N, T)`` of padded rewards (padding counts 0)."""
    return (rewards * mask) @ discount_matrix(gamma, rewards.shape[1]).T


def collect(
    env: gym.Env,
    policy: PGPolicy,
    n: int,
    reward_fn: Any,
    rng: np.random.Generator,
    seed: int | None = None,
    max_steps: int = 10_000,
) -> Episodes:
    """Run ``n`` episodes with ``policy`` (sampling) and pad them into :class:`Episodes`.

    Args:
        env: A Gymnasium env (its own time limit ends episodes).
        policy: The policy.
        n: Episodes.
        reward_fn: ``(obs, action, next_obs, env_reward, info) -> {channel: float}``.
        rng: Samples the actions.
        seed: Seed of the first reset (later resets continue the env's generator).
        max_steps: Safety cap per episode.
    """
    if n < 1:
        raise ParameterError(f"collect needs n >= 1 episodes, got {n}.")
    eps: list[dict[str, list]] = []
    for i in range(n):
        obs, _ = env.reset(seed=seed if i == 0 else None)
        ep: dict[str, list] = {"obs": [], "next_obs": [], "actions": [], "terminated": []}
        chans: dict[str, list[float]] = {}
        for _ in range(max_steps):
            a = policy.act(np.asarray(obs, dtype=np.float32)[None], rng)[0]
            nxt, r, term, trunc, info = env.step(policy.env_action(a))
            for k, v in reward_fn(obs, a, nxt, r, info).items():
                chans.setdefault(k, []).append(float(v))
            ep["obs"].append(obs)
            ep["next_obs"].append(nxt)
            ep["actions"].append(a)
            ep["terminated"].append(bool(term))
            obs = nxt
            if term or trunc:
                break
        ep["rewards"] = chans  # type: ignore[assignment]
        eps.append(ep)
    T = max(len(e["obs"]) for e in eps)

    def pad(key: str, dtype: Any) -> torch.Tensor:
        first = np.asarray(eps[0][key][0])
        out = np.zeros((n, T, *first.shape), dtype=dtype)
        for i, e in enumerate(eps):
            out[i, : len(e[key])] = np.asarray(e[key], dtype=dtype)
        return torch.as_tensor(out)

    mask = torch.zeros(n, T)
    for i, e in enumerate(eps):
        mask[i, : len(e["obs"])] = 1.0
    rewards = {}
    for k in eps[0]["rewards"]:
        out = np.zeros((n, T), dtype=np.float32)
        for i, e in enumerate(eps):
            out[i, : len(e["rewards"][k])] = e["rewards"][k]
        rewards[k] = torch.as_tensor(out)
    act_dtype = np.int64 if policy.discrete else np.float32
    return Episodes(
        obs=pad("obs", np.float32),
        next_obs=pad("next_obs", np.float32),
        actions=pad("actions", act_dtype),
        rewards=rewards,
        mask=mask,
        terminated=pad("terminated", np.float32),
    )


class PGLearner:
    """REINFORCE with a value baseline, or one-step actor-critic, on a given reward.

    The reward and discount come in as tensors per call, so the surrogate objective
    stays differentiable in whatever produced them.

    Args:
        policy: The policy (its parameters are theta).
        estimator: ``"reinforce"`` or ``"actor-critic"``.
        lr: Policy learning rate (Adam).
        critic_lr: Value-function learning rate (Adam).
        hidden: Value-function hidden sizes.
        seed: Seed of the value function's initial weights.
        entropy: Coefficient of an entropy bonus in the objective (keeps the policy
            exploring, so it can recover when the reward it learns from changes).

    Example:
        >>> import gymnasium as gym
        >>> env = gym.make("CartPole-v1")
        >>> learner = PGLearner(PGPolicy(env.observation_space, env.action_space), seed=0)
        >>> eps = collect(env, learner.policy, 2, lambda o, a, n, r, i: {"primary": r},
        ...               np.random.default_rng(0), seed=0)
        >>> stats = learner.update(eps, eps.rewards["primary"], 0.99)
        >>> sorted(stats)
        ['critic_loss', 'objective']
    """

    def __init__(
        self,
        policy: PGPolicy,
        estimator: str = "reinforce",
        lr: float = 0.01,
        critic_lr: float = 0.01,
        hidden: tuple[int, ...] = (32,),
        seed: int = 0,
        entropy: float = 0.0,
    ) -> None:
        if estimator not in ESTIMATORS:
            raise ParameterError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}.")
        if not lr > 0 or not critic_lr > 0:
            raise ParameterError(f"learning rates must be > 0, got lr={lr}, critic_lr={critic_lr}.")
        if not entropy >= 0:
            raise ParameterError(f"the entropy coefficient must be >= 0, got {entropy!r}.")
        self.policy, self.estimator, self.lr, self.entropy = policy, estimator, lr, entropy
        obs_dim = policy.net[0].in_features
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.value = _mlp([obs_dim, *hidden, 1])
        self.critic_opt = torch.optim.Adam(self.value.parameters(), lr=critic_lr)
        self.policy_opt = torch.optim.Adam(self.params, lr=lr)

    @property
    def params(self) -> list[torch.nn.Parameter]:
        """theta: the policy's parameters."""
        return list(self.policy.parameters())

    def objective(
        self,
        eps: Episodes,
        rewards: torch.Tensor,
        gamma: torch.Tensor | float,
        estimator: str | None = None,
        entropy: float | None = None,
    ) -> torch.Tensor:
        """The surrogate ``J`` whose theta-gradient is the policy gradient on ``rewards``
        ``(N, T)`` with discount ``gamma``; mean over episodes. Differentiable in theta and
        in whatever ``rewards`` and ``gamma`` depend on. ``estimator`` overrides the
        learner's own (``"reinforce"``: Monte Carlo returns minus the value baseline,
        unbiased for any reward since the baseline does not depend on the action);
        ``entropy`` the learner's entropy coefficient (0 for a return estimate)."""
        mask = eps.mask
        dist = self.policy.distribution(eps.obs.flatten(0, 1))
        logp = dist.log_prob(eps.actions.flatten(0, 1))
        ent = dist.entropy()
        if not self.policy.discrete:
            logp, ent = logp.sum(-1), ent.sum(-1)
        logp, ent = logp.reshape(mask.shape), ent.reshape(mask.shape)
        coef = self.entropy if entropy is None else entropy
        with torch.no_grad():
            v = self.value(self.policy.normalise(eps.obs)).squeeze(-1)
        if (estimator or self.estimator) == "reinforce":
            adv = returns_to_go(rewards, mask, gamma) - v
        else:
            with torch.no_grad():
                v_next = self.value(self.policy.normalise(eps.next_obs)).squeeze(-1)
            v_next = v_next * (1 - eps.terminated)
            adv = rewards + torch.as_tensor(gamma) * v_next - v
        return ((logp * adv + coef * ent) * mask).sum() / len(mask)

    def fit_critic(
        self, eps: Episodes, rewards: torch.Tensor, gamma: float, epochs: int = 5
    ) -> float:
        """Regress the value function on the (detached) discounted returns-to-go."""
        target = returns_to_go(rewards.detach(), eps.mask, float(gamma))
        loss = torch.zeros(())
        for _ in range(epochs):
            pred = self.value(self.policy.normalise(eps.obs)).squeeze(-1)
            loss = (((pred - target) ** 2) * eps.mask).sum() / eps.mask.sum()
            self.critic_opt.zero_grad()
            loss.backward()
            self.critic_opt.step()
        return float(loss.detach())

    def update(
        self, eps: Episodes, rewards: torch.Tensor, gamma: torch.Tensor | float
    ) -> dict[str, float]:
        """One gradient-ascent step of the policy on ``rewards``, then the critic."""
        obj = self.objective(eps, rewards.detach(), torch.as_tensor(gamma).detach())
        grads = torch.autograd.grad(obj, self.params)
        if not all(torch.isfinite(g).all() for g in grads):
            raise ParameterError(
                "the policy gradient is not finite; check the rewards for NaN or inf, or "
                "lower the policy learning rate."
            )
        for p, g in zip(self.params, grads, strict=True):
            p.grad = -g  # Adam minimises
        self.policy_opt.step()
        critic = self.fit_critic(eps, rewards, float(gamma))
        return {"objective": float(obj.detach()), "critic_loss": critic}


__all__ = [
    "ESTIMATORS",
    "Episodes",
    "PGLearner",
    "PGPolicy",
    "collect",
    "discount_matrix",
    "returns_to_go",
]
