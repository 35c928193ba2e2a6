"""Potential-based shaping keeps optimal policies: checked by value iteration on the
reward tensor collected by *stepping* PotentialShaping on random tabular MDPs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rewarddesign.wrappers import PotentialShaping

GAMMA = 0.9


class TabularMDP(gym.Env):
    """A finite MDP with absorbing terminal states; ``reset(options={"state": s})``
    starts in state s."""

    def __init__(self, P, R, terminal):
        self.P, self.R, self.terminal = P, R, terminal
        self.observation_space = gym.spaces.Discrete(P.shape[0])
        self.action_space = gym.spaces.Discrete(P.shape[1])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = int((options or {}).get("state", 0))
        return self.s, {}

    def step(self, action):
        s, a = self.s, int(action)
        self.s = int(self.np_random.choice(len(self.P), p=self.P[s, a]))
        return self.s, float(self.R[s, a, self.s]), bool(self.terminal[self.s]), False, {}


def random_mdp(rng: np.random.Generator):
    S, A = int(rng.integers(3, 9)), int(rng.integers(2, 5))
    P = rng.random((S, A, S)) * (rng.random((S, A, S)) < 0.6)
    P[:, :, rng.integers(S)] += 0.1  # every row has some mass
    P /= P.sum(axis=2, keepdims=True)
    R = rng.normal(size=(S, A, S))
    terminal = np.zeros(S, bool)
    terminal[rng.choice(np.arange(1, S), size=int(rng.integers(1, 3)), replace=False)] = True
    return P, R, terminal


def value_iteration(P, R, terminal, gamma=GAMMA):
    """Q*(s, a) = sum_s' P (R + gamma * [s' not terminal] * max_a' Q*(s', a'))."""
    Q = np.zeros(P.shape[:2])
    for _ in range(5000):
        V = np.where(terminal, 0.0, Q.max(axis=1))
        new = (P * (R + gamma * V[None, None, :])).sum(axis=2)
        if np.abs(new - Q).max() < 1e-14:
            break
        Q = new
    return new


def stepped_rewards(env: gym.Env, P: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """R[s, a, s'] as returned by stepping ``env`` from every non-terminal (s, a)."""
    S, A, _ = P.shape
    R = np.zeros_like(P)
    for s in range(S):
        for a in range(A):
            seen = np.zeros(S, bool)
            while not seen[P[s, a] > 0].all():
                env.reset(seed=int(rng.integers(2**31)), options={"state": s})
                s2, r, *_ = env.step(a)
                if seen[s2]:
                    assert r == R[s, a, s2]  # the shaped reward depends on (s, a, s') only
                R[s, a, s2], seen[s2] = r, True
    return R


@pytest.mark.parametrize("mdp_seed", range(24))
def test_shaping_keeps_the_optimal_policy_and_shifts_q_by_the_potential(mdp_seed):
    rng = np.random.default_rng(mdp_seed)
    P, R, terminal = random_mdp(rng)
    phi = rng.normal(scale=3.0, size=len(P))  # terminal states get a potential too: unused
    shaped_env = PotentialShaping(TabularMDP(P, R, terminal), lambda s: phi[s], GAMMA)
    plain_R = stepped_rewards(TabularMDP(P, R, terminal), P, rng)
    shaped_R = stepped_rewards(shaped_env, P, rng)
    live = ~terminal
    q, q_shaped = value_iteration(P, plain_R, terminal), value_iteration(P, shaped_R, terminal)
    np.testing.assert_allclose(q_shaped[live], (q - phi[:, None])[live], atol=1e-6)
    np.testing.assert_array_equal(q_shaped[live].argmax(axis=1), q[live].argmax(axis=1))
    # a wrong rule (terminal potential counted) would break the identity
    into_terminal = (P > 0) & terminal[None, None, :]
    expected = plain_R - phi[:, None, None]  # + gamma * 0 for a terminal next state
    np.testing.assert_array_equal(shaped_R[into_terminal], expected[into_terminal])
