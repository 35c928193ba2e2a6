"""Tabular tasks: Knox et al.'s delivery gridworld and seeded random MDPs.

Both are Gymnasium envs with discrete states and actions that expose their transition
tensor ``P`` (S, A, S), transition rewards ``R`` (S, A, S) and ``terminal`` (S,), so
value iteration gives exact optimal values (``ValueIterationOracle.from_env``).
``reset(options={"state": s})`` starts in state ``s``; otherwise the start state is
uniform over non-terminal states. Importing this module registers the env ids.
"""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np

from rewarddesign.common.checks import check_int
from rewarddesign.errors import ParameterError

# Knox et al. (2022) delivery domain: reach the destination, avoid the sheep. Every
# step costs gas; entering a cell adds its feature: G goal (+50, ends), S sheep (-50,
# ends), C coin (+1), R roadblock (-1), M mud (-2); "." is road.
DELIVERY_MAP = (
    "..C..G",
    ".MM.R.",
    "...S..",
    ".R..M.",
    "..C...",
    "M.....",
)
DELIVERY_FEATURES = ("gas", "goal", "sheep", "coin", "roadblock", "mud")
_CELL_FEATURE = {"G": "goal", "S": "sheep", "C": "coin", "R": "roadblock", "M": "mud"}
MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))  # up, down, left, right


class TabularEnv(gym.Env):
    """A finite MDP with per-transition features; ``info`` carries them by name."""

    def __init__(
        self,
        P: np.ndarray,
        features: np.ndarray,
        weights: np.ndarray,
        terminal: np.ndarray,
        feature_names: tuple[str, ...],
    ) -> None:
        self.P, self.features, self.terminal = P, features, terminal
        self.feature_names = feature_names
        self.R = features @ weights  # (S, A, S)
        self.observation_space = gym.spaces.Discrete(P.shape[0])
        self.action_space = gym.spaces.Discrete(P.shape[1])
        self._starts = np.flatnonzero(~terminal)
        self.state = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        state = (options or {}).get("state")
        if state is None:
            state = int(self.np_random.choice(self._starts))
        elif not 0 <= int(state) < self.P.shape[0]:
            raise ParameterError(f"state {state!r} is outside 0..{self.P.shape[0] - 1}.")
        self.state = int(state)
        return self.state, {}

    def step(self, action):
        s, a = self.state, int(action)
        nxt = int(self.np_random.choice(self.P.shape[0], p=self.P[s, a]))
        self.state = nxt
        info = dict(zip(self.feature_names, self.features[s, a, nxt].tolist(), strict=True))
        return nxt, float(self.R[s, a, nxt]), bool(self.terminal[nxt]), False, info


class DeliveryGridworld(TabularEnv):
    """Knox et al.'s delivery domain on :data:`DELIVERY_MAP` (deterministic moves; a move
    into the edge stays put). Reward = -1 gas per step + the entered cell's feature."""

    def __init__(self) -> None:
        rows, cols = len(DELIVERY_MAP), len(DELIVERY_MAP[0])
        S, A, K = rows * cols, len(MOVES), len(DELIVERY_FEATURES)
        P, feats = np.zeros((S, A, S)), np.zeros((S, A, S, K))
        terminal = np.array([DELIVERY_MAP[s // cols][s % cols] in "GS" for s in range(S)])
        for s in range(S):
            r, c = divmod(s, cols)
            for a, (dr, dc) in enumerate(MOVES):
                nr, nc = min(max(r + dr, 0), rows - 1), min(max(c + dc, 0), cols - 1)
                nxt = nr * cols + nc
                P[s, a, nxt] = 1.0
                feats[s, a, nxt, 0] = 1.0
                cell = DELIVERY_MAP[nr][nc]
                if cell in _CELL_FEATURE:
                    feats[s, a, nxt, DELIVERY_FEATURES.index(_CELL_FEATURE[cell])] = 1.0
        weights = np.array([-1.0, 50.0, -50.0, 1.0, -1.0, -2.0])
        super().__init__(P, feats, weights, terminal, DELIVERY_FEATURES)


@functools.cache
def cell_features() -> np.ndarray:
    """``(S, K)``: the features of a delivery move into each state (gas is 1 on every
    move; the others are the entered cell's kind), as :class:`DeliveryGridworld` sets them."""
    cols = len(DELIVERY_MAP[0])
    out = np.zeros((len(DELIVERY_MAP) * cols, len(DELIVERY_FEATURES)))
    out[:, 0] = 1.0
    for s in range(len(out)):
        cell = DELIVERY_MAP[s // cols][s % cols]
        if cell in _CELL_FEATURE:
            out[s, DELIVERY_FEATURES.index(_CELL_FEATURE[cell])] = 1.0
    out.setflags(write=False)
    return out


class RandomMDP(TabularEnv):
    """A seeded random MDP: sparse random transitions, three Gaussian features per
    transition (reward = their sum) and the last ``n_terminal`` states absorbing."""

    def __init__(
        self, n_states: int = 10, n_actions: int = 3, n_terminal: int = 1, seed: int = 0
    ) -> None:
        for name, value, low in (
            ("n_states", n_states, 2),
            ("n_actions", n_actions, 1),
            ("n_terminal", n_terminal, 0),
        ):
            check_int(value, f"RandomMDP: {name}", low)
        if n_terminal >= n_states:
            raise ParameterError("RandomMDP: n_terminal must leave at least one live state.")
        rng = np.random.default_rng(seed)
        S, A = n_states, n_actions
        P = rng.random((S, A, S)) * (rng.random((S, A, S)) < 0.5)
        P[np.arange(S), :, rng.integers(S, size=S)] += 0.1  # every row has mass
        P /= P.sum(axis=2, keepdims=True)
        feats = rng.normal(size=(S, A, S, 3))
        terminal = np.zeros(S, bool)
        terminal[S - n_terminal :] = True
        super().__init__(P, feats, np.ones(3), terminal, ("f0", "f1", "f2"))


@functools.cache
def random_mdp_features(n_states: int, n_actions: int, n_terminal: int, seed: int) -> np.ndarray:
    """``(S, A, S, 3)``: the features of the random MDP these arguments build."""
    out = RandomMDP(n_states, n_actions, n_terminal, seed).features
    out.setflags(write=False)
    return out


for _id, _cls in (
    ("rewarddesign/Delivery-v0", DeliveryGridworld),
    ("rewarddesign/RandomMDP-v0", RandomMDP),
):
    if _id not in gym.registry:
        gym.register(_id, entry_point=_cls)
