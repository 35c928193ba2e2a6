"""The differentiable policy-gradient learner of BARFI's inner loop."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rewarddesign.agents.pg import PGLearner, PGPolicy, collect, returns_to_go
from rewarddesign.errors import ParameterError, SpaceMismatchError
from rewarddesign.methods.barfi.bilevel import flat_grad


def primary(obs, action, next_obs, reward, info):
    return {"primary": reward}


def test_returns_to_go_match_a_loop_and_differentiate_in_the_discount():
    g = torch.Generator().manual_seed(0)
    rewards = torch.randn(3, 5, generator=g)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.float32)
    gamma = torch.tensor(0.9, requires_grad=True)
    got = returns_to_go(rewards, mask, gamma)
    want = torch.zeros(3, 5)
    for i in range(3):
        acc = 0.0
        for t in reversed(range(5)):
            acc = float(rewards[i, t] * mask[i, t]) + 0.9 * acc
            want[i, t] = acc
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    # d G_0 / d gamma of episode 0 against a central difference
    (dg,) = torch.autograd.grad(got[0, 0], gamma)
    eps = 1e-3
    hi = returns_to_go(rewards, mask, 0.9 + eps)[0, 0]
    lo = returns_to_go(rewards, mask, 0.9 - eps)[0, 0]
    assert float(dg) == pytest.approx(float(hi - lo) / (2 * eps), rel=1e-2)


def test_the_policy_gradient_is_differentiable_in_the_reward_scale():
    env = gym.make("CartPole-v1")
    learner = PGLearner(PGPolicy(env.observation_space, env.action_space, hidden=()), seed=0)
    eps = collect(env, learner.policy, 3, primary, np.random.default_rng(0), seed=0)
    scale = torch.tensor(2.0, requires_grad=True)
    # actor-critic's advantage is linear in the reward: grad_theta J(c r) = c grad_theta J(r)
    learner.estimator = "actor-critic"
    g_scaled = flat_grad(
        learner.objective(eps, scale * eps.rewards["primary"], 0.99),
        learner.params,
        create_graph=True,
    )
    g_one = flat_grad(learner.objective(eps, eps.rewards["primary"], 0.99), learner.params)
    u = torch.randn(len(g_one), generator=torch.Generator().manual_seed(1))
    (mixed,) = torch.autograd.grad(g_scaled @ u, scale)
    # d/dc [grad_theta sum logp (c r + 0.99 v' - v)] . u = grad_theta(sum logp r) . u
    logp = learner.policy.log_prob(eps.obs.flatten(0, 1), eps.actions.flatten(0, 1))
    r_only = flat_grad(
        (logp.reshape(eps.mask.shape) * eps.rewards["primary"] * eps.mask).sum() / len(eps.mask),
        learner.params,
    )
    assert float(mixed) == pytest.approx(float(r_only @ u), rel=1e-4)
    assert not torch.allclose(g_one, r_only)  # the critic terms matter: a real check


def test_the_entropy_bonus_adds_the_mean_episode_entropy():
    env = gym.make("Pendulum-v1")
    policy = PGPolicy(env.observation_space, env.action_space, hidden=(), seed=0)
    learner = PGLearner(policy, seed=0, entropy=0.3)
    eps = collect(env, policy, 2, primary, np.random.default_rng(0), seed=0)
    rewards = eps.rewards["primary"]
    plain = learner.objective(eps, rewards, 0.99, entropy=0.0)
    # a Gaussian's entropy per step: sum over action dims of 0.5 log(2 pi e) + log std
    per_step = float((0.5 * np.log(2 * np.pi * np.e) + policy.log_std.detach()).sum())
    want = float(plain.detach()) + 0.3 * per_step * float(eps.mask.sum()) / 2
    assert float(learner.objective(eps, rewards, 0.99).detach()) == pytest.approx(want, rel=1e-5)
    with pytest.raises(ParameterError, match="entropy coefficient"):
        PGLearner(policy, entropy=-1.0)


@pytest.mark.parametrize("estimator", ["reinforce", "actor-critic"])
def test_the_learner_improves_cartpole(estimator):
    env = gym.make("CartPole-v1")
    learner = PGLearner(
        PGPolicy(env.observation_space, env.action_space, hidden=(), seed=1),
        estimator=estimator,
        lr=0.05,
        seed=1,
    )
    means, rng = [], np.random.default_rng(1)
    for it in range(40):
        eps = collect(env, learner.policy, 4, primary, rng, seed=it)
        means.append(eps.returns("primary").mean())
        learner.update(eps, eps.rewards["primary"], 0.99)
    # 160 episodes more than double the episode length (measured: REINFORCE 27 -> 172,
    # actor-critic 18 -> 41)
    assert np.mean(means[-5:]) > 2 * np.mean(means[:5]), means


def test_bad_inputs_are_refused():
    env = gym.make("CartPole-v1")
    with pytest.raises(ParameterError, match="estimator must be one of"):
        PGLearner(PGPolicy(env.observation_space, env.action_space), estimator="ppo")
    with pytest.raises(SpaceMismatchError, match="flat Box observations"):
        PGPolicy(gym.spaces.Discrete(3), env.action_space)
    learner = PGLearner(PGPolicy(env.observation_space, env.action_space), seed=0)
    eps = collect(env, learner.policy, 1, primary, np.random.default_rng(0), seed=0)
    bad = eps.rewards["primary"].clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ParameterError, match="policy gradient is not finite"):
        learner.update(eps, bad, 0.99)
    with pytest.raises(ParameterError, match="n >= 1"):
        collect(env, learner.policy, 0, primary, np.random.default_rng(0))


def test_bounded_observations_are_scaled_to_unit_range_before_the_network():
    env = gym.make("MountainCar-v0")  # position in [-1.2, 0.6], velocity in [-0.07, 0.07]
    policy = PGPolicy(env.observation_space, env.action_space, hidden=(), seed=0)
    obs = torch.tensor([[-1.2, -0.07], [0.6, 0.07], [-0.3, 0.0]])
    torch.testing.assert_close(
        policy.normalise(obs), torch.tensor([[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]])
    )
    # unbounded dimensions (CartPole's velocities) pass unchanged, bounded ones are scaled
    cart = PGPolicy(gym.make("CartPole-v1").observation_space, env.action_space, seed=0)
    got = cart.normalise(torch.tensor([[2.4, 3.0, 0.2095, -5.0]]))
    torch.testing.assert_close(got, torch.tensor([[0.5, 3.0, 0.5, -5.0]]), rtol=1e-4, atol=1e-4)
    # the scale is a buffer, not a parameter the policy gradient moves
    assert not any(p is policy.obs_scale for p in policy.parameters())
    assert "obs_scale" in dict(policy.named_buffers())


def test_gaussian_samples_are_clipped_on_the_way_to_the_env_and_learned_from_as_drawn():
    class Record(gym.ActionWrapper):
        def __init__(self, env):
            super().__init__(env)
            self.seen = []

        def action(self, action):
            self.seen.append(np.array(action))
            return action

    env = Record(gym.make("Pendulum-v1"))  # torque in [-2, 2]
    policy = PGPolicy(env.observation_space, env.action_space, hidden=(), seed=0)
    with torch.no_grad():
        policy.log_std.fill_(2.0)  # std 7.4: most samples fall outside the bounds
    eps = collect(env, policy, 1, primary, np.random.default_rng(0), seed=0)
    drawn, seen = eps.actions[0].numpy(), np.array(env.seen)
    assert np.abs(drawn).max() > 2 and np.abs(seen).max() <= 2
    np.testing.assert_allclose(seen, np.clip(drawn, -2, 2))
    np.testing.assert_allclose(policy.env_action(np.array([[-5.0], [1.0]])), [[-2.0], [1.0]])
