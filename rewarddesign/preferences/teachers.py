"""Simulated teachers: partial return and regret (with B-Pref's noise), and HERON's
hierarchical rule. Every teacher labels a whole batch of pairs with array operations.

``teacher.label(pairs, rng) -> LabelRecord``; see :mod:`rewarddesign.preferences`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from scipy.special import expit

from rewarddesign.common.checks import check_probability, is_number
from rewarddesign.errors import ParameterError, SpecError, unknown
from rewarddesign.preferences.labels import LabelRecord
from rewarddesign.preferences.segments import Pairs, Segments


def _probability(value: float, name: str, where: str) -> float:
    return check_probability(value, f"{where}: {name}")


def _beta(beta: float, where: str) -> float:
    if not is_number(beta) or not beta >= 0:
        raise ParameterError(
            f"{where}: beta must be >= 0 (inf = perfectly rational), got {beta!r}."
        )
    return float(beta)


def margin_from_returns(mean_episode_return: float, H: int, episode_length: float) -> float:
    """B-Pref's margin: the mean episode return scaled to a segment, ``R * H / T``."""
    if not math.isfinite(mean_episode_return) or episode_length <= 0 or H <= 0:
        raise ParameterError(
            f"margin needs a finite mean return and positive lengths, got "
            f"{mean_episode_return!r}, H={H!r}, T={episode_length!r}."
        )
    return float(mean_episode_return) * H / float(episode_length)


def margin_from_rewards(rewards: Any, H: int) -> float:
    """B-Pref's margin from experience: the mean true reward per step times H.

    Over whole episodes this is :func:`margin_from_returns` of the mean episode return and
    length (their ratio is the mean reward per step); on a window of recent experience,
    which starts and ends mid-episode, it is still the expected return of H steps. What
    ``rewarddesign label`` and ``pbrl`` give the teacher for ``eps_equal`` and ``eps_skip``.

    Args:
        rewards: The true rewards of the experience, any shape.
        H: Segment length.

    Example:
        >>> margin_from_rewards([1.0, 2.0, 3.0], H=10)
        20.0
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    if rewards.size == 0:
        raise ParameterError("margin needs at least one reward; record experience first.")
    # a one-step "episode" of the mean reward: scaled by H / 1, exactly mean * H
    return margin_from_returns(float(np.mean(rewards)), H, 1.0)


def preference_probability(
    score_first: np.ndarray, score_second: np.ndarray, beta: float
) -> np.ndarray:
    """``sigmoid(beta * (s1 - s2))``; ``beta = inf`` gives 1, 0 or 0.5 (a tie)."""
    diff = score_first - score_second
    if math.isinf(beta):
        return 0.5 + 0.5 * np.sign(diff)
    return expit(beta * diff)


class Teacher(ABC):
    """Labels batches of segment pairs."""

    @abstractmethod
    def label(self, pairs: Pairs, rng: np.random.Generator) -> LabelRecord:
        """Label every pair of the batch."""


class _NoisyTeacher(Teacher):
    """Score-based teacher with B-Pref's noise: Boltzmann beta, mistakes, equal, skip."""

    where = "teacher"

    def __init__(
        self,
        beta: float,
        eps_mistake: float,
        eps_equal: float,
        eps_skip: float,
        margin: float | None,
    ) -> None:
        self.beta = _beta(beta, self.where)
        self.eps_mistake = _probability(eps_mistake, "eps_mistake", self.where)
        self.eps_equal = _probability(eps_equal, "eps_equal", self.where)
        self.eps_skip = _probability(eps_skip, "eps_skip", self.where)
        if (self.eps_equal or self.eps_skip) and (margin is None or not math.isfinite(margin)):
            raise ParameterError(
                f"{self.where}: eps_equal and eps_skip are fractions of a margin; pass margin="
                "margin_from_returns(mean episode return, H, episode length)."
            )
        self.margin = None if margin is None else abs(float(margin))

    @abstractmethod
    def scores(self, pairs: Pairs) -> tuple[np.ndarray, np.ndarray]:
        """Per-pair scores (higher = preferred) of the first and second segments."""

    def closeness(self, pairs: Pairs, s1: np.ndarray, s2: np.ndarray) -> tuple[np.ndarray, ...]:
        """Quantities the equal and skip rules compare: (difference, magnitude)."""
        return np.abs(s1 - s2), np.maximum(np.abs(s1), np.abs(s2))

    def label(self, pairs: Pairs, rng: np.random.Generator) -> LabelRecord:
        s1, s2 = self.scores(pairs)
        if not (np.isfinite(s1).all() and np.isfinite(s2).all()):
            raise ParameterError(f"{self.where}: segment scores are not finite.")
        p = preference_probability(s1, s2, self.beta)
        label = p.copy() if math.isinf(self.beta) else (rng.random(pairs.n) < p).astype(float)
        if self.eps_mistake:
            flip = rng.random(pairs.n) < self.eps_mistake
            label = np.where(flip, 1.0 - label, label)
            p = (1.0 - self.eps_mistake) * p + self.eps_mistake * (1.0 - p)
        usable = np.ones(pairs.n, dtype=bool)
        diff, size = self.closeness(pairs, s1, s2)
        if self.eps_equal:
            equal = diff < self.eps_equal * self.margin
            p, label = np.where(equal, 0.5, p), np.where(equal, 0.5, label)
        if self.eps_skip:  # B-Pref keeps a pair only if its larger return exceeds the threshold
            usable = ~(size <= self.eps_skip * self.margin)
            label = np.where(usable, label, 0.5)
        return LabelRecord(prob=p, label=label, usable=usable, charged=pairs.n)


def discounted_sums(values: np.ndarray, seg: Segments, gamma: float, from_end: bool) -> np.ndarray:
    """``sum_k w_k values[:, k]`` over valid steps, ``w_k = gamma^k`` (``from_end=False``) or
    ``gamma^(L-1-k)`` with L the valid length (``from_end=True``, B-Pref's myopic weights)."""
    powers = gamma ** np.arange(seg.H, dtype=np.float64)
    if seg.mask.all():  # the common case: one matrix-vector product
        return values @ (powers[::-1] if from_end else powers)
    k = np.arange(seg.H)[None, :]
    exponent = np.maximum(seg.lengths[:, None] - 1 - k, 0) if from_end else k
    return (np.where(seg.mask, values, 0.0) * powers[exponent]).sum(axis=1)


class PartialReturnTeacher(_NoisyTeacher):
    """B-Pref's teacher: prefers the segment with the larger (myopic) partial return.

    ``P(first) = sigmoid(beta * (R1 - R2))`` with ``R = sum_k myopic_gamma^(L-1-k) r_k``
    over the L valid steps (L = H for a full segment; a padded segment's last real step
    counts fully). ``beta = inf``: the larger return wins, a tie gives 0.5 (B-Pref's
    ``beta <= 0`` meant rational; here ``beta = 0`` is a coin flip). Noise, in B-Pref's
    order: a *mistake* flips the sampled label with probability ``eps_mistake``; pairs
    whose undiscounted returns differ by less than ``eps_equal * |margin|`` get 0.5
    ("equal"); pairs whose larger return magnitude ``max(|R1|, |R2|)`` is at most
    ``eps_skip * |margin|`` are *skipped* (masked, still charged).

    Sign-safe thresholds: B-Pref uses ``eps * margin`` with ``margin = mean episode return
    * H / T``, which assumes positive returns (a negative margin makes every skip
    threshold negative). Here thresholds use ``|margin|``, and skip compares return
    magnitudes: identical to B-Pref when rewards are non-negative; with negative
    rewards (Pendulum) it skips pairs whose returns are both near zero. B-Pref's code
    multiplies by eps a second time after its first feedback session; eps is applied
    once here, as intended.

    Args:
        beta: Rationality (>= 0; inf = perfectly rational).
        myopic_gamma: Weight ``gamma^(H-1-k)`` on step k (1 = none), in (0, 1].
        eps_mistake, eps_equal, eps_skip: Noise rates in [0, 1].
        margin: Required when ``eps_equal`` or ``eps_skip`` > 0.

    Example:
        >>> import numpy as np
        >>> from rewarddesign.preferences import PartialReturnTeacher, pairs_from_rewards
        >>> pairs = pairs_from_rewards([[1.0, 2.0]], [[0.0, 1.0]])
        >>> PartialReturnTeacher(beta=1.0).label(pairs, np.random.default_rng(0)).prob
        array([0.88079708])
    """

    where = "PartialReturnTeacher"

    def __init__(
        self,
        beta: float = math.inf,
        myopic_gamma: float = 1.0,
        eps_mistake: float = 0.0,
        eps_skip: float = 0.0,
        eps_equal: float = 0.0,
        margin: float | None = None,
    ) -> None:
        super().__init__(beta, eps_mistake, eps_equal, eps_skip, margin)
        if not isinstance(myopic_gamma, int | float) or not 0 < myopic_gamma <= 1:
            raise ParameterError(
                f"{self.where}: myopic_gamma must be in (0, 1], got {myopic_gamma!r}."
            )
        self.myopic_gamma = float(myopic_gamma)

    def scores(self, pairs: Pairs) -> tuple[np.ndarray, np.ndarray]:
        if self.myopic_gamma == 1.0:
            return pairs.first.rewards.sum(axis=1), pairs.second.rewards.sum(axis=1)
        return tuple(
            discounted_sums(seg.rewards, seg, self.myopic_gamma, from_end=True)
            for seg in (pairs.first, pairs.second)
        )

    def closeness(self, pairs: Pairs, s1: np.ndarray, s2: np.ndarray) -> tuple[np.ndarray, ...]:
        r1, r2 = pairs.first.rewards.sum(axis=1), pairs.second.rewards.sum(axis=1)
        return np.abs(r1 - r2), np.maximum(np.abs(r1), np.abs(r2))  # undiscounted, as B-Pref


class Oracle(Protocol):
    """Optimal values for batches of states: what the regret teacher needs.

    ``V(states)`` and ``Q(states, actions)`` take arrays of any shape (states as the
    task's observations) and return float64 arrays of the same leading shape.
    """

    def V(self, states: np.ndarray) -> np.ndarray: ...

    def Q(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray: ...


FORMS = ("deterministic", "advantage")


class RegretTeacher(_NoisyTeacher):
    """Knox et al. (2022): prefers the segment with the lower regret.

    ``P(first) = sigmoid(beta * (regret(second) - regret(first)))`` with ``-regret =
    sum_t discount^t r_t + discount^L V*(s_L) - V*(s_0)`` (``form="deterministic"``; a
    terminal end state has value 0) or ``-regret = sum_t discount^t A*(s_t, a_t)``
    (``form="advantage"``, right for stochastic tasks). The two agree on deterministic
    tasks. Mistakes and equal labels as :class:`PartialReturnTeacher` (on the regret
    difference); no skip rule.

    What a reward model learns from these labels: Bradley-Terry on segment sums (what
    :class:`~rewarddesign.models.RewardTrainer` fits) recovers ``A*(s, a)``, the optimal
    advantage, not ``r`` (Knox et al. 2023; ``tests/test_reward_models.py`` shows it on
    the delivery map). ``A*`` is ``r`` shaped by the potential ``V*``, so its greedy
    policy is optimal, but its returns are not the task's returns: do not compare them
    with true returns or use them to rank non-greedy policies.

    Args:
        oracle: Provides ``V(states)`` and ``Q(states, actions)`` (e.g.
            :class:`ValueIterationOracle`; a critic-based oracle for continuous control
            fits the same interface).
        discount: The discount of the regret, in [0, 1].
        beta, eps_mistake, eps_equal, margin: As :class:`PartialReturnTeacher`.
        form: ``"deterministic"`` or ``"advantage"``.
    """

    where = "RegretTeacher"

    def __init__(
        self,
        oracle: Oracle,
        discount: float,
        beta: float = math.inf,
        eps_mistake: float = 0.0,
        eps_equal: float = 0.0,
        margin: float | None = None,
        form: str = "deterministic",
    ) -> None:
        super().__init__(beta, eps_mistake, eps_equal, 0.0, margin)
        if not (hasattr(oracle, "V") and hasattr(oracle, "Q")):
            raise SpecError(f"{self.where}: the oracle must have V(states) and Q(states, actions).")
        if form not in FORMS:
            raise unknown(f"form of {self.where}", form, FORMS)
        self.oracle, self.form = oracle, form
        self.discount = _probability(discount, "discount", self.where)
        own = getattr(oracle, "discount", None)
        if own is not None and not math.isclose(own, self.discount, rel_tol=0, abs_tol=1e-12):
            raise ParameterError(
                f"{self.where}: discount {discount} differs from the oracle's {own}; V* and Q* "
                "are only optimal values for the discount they were computed with."
            )

    def _check_states(self, seg: Segments) -> None:
        n_states = getattr(self.oracle, "n_states", None)
        if n_states is None:
            return
        inner = seg.obs if seg.mask.all() else seg.obs[seg.mask]
        kinds = {inner.dtype.kind, seg.end_obs.dtype.kind, seg.start_obs.dtype.kind}
        low = min(inner.min(), seg.end_obs.min(), seg.start_obs.min())
        high = max(inner.max(), seg.end_obs.max(), seg.start_obs.max())
        if not kinds <= set("iu") or low < 0 or high >= n_states:
            raise ParameterError(
                f"{self.where}: the oracle has {n_states} states but the segments hold states "
                f"{low}..{high} ({inner.dtype}); use the oracle of the task the segments come "
                "from."
            )

    def negative_regret(self, seg: Segments) -> np.ndarray:
        """``-regret`` of every segment (higher = better)."""
        self._check_states(seg)
        if self.form == "advantage":
            adv = self.oracle.Q(seg.obs, seg.actions) - self.oracle.V(seg.obs)
            return discounted_sums(adv, seg, self.discount, from_end=False)
        end_value = np.where(seg.ends_terminal, 0.0, self.oracle.V(seg.end_obs))
        partial = discounted_sums(seg.rewards, seg, self.discount, from_end=False)
        return partial + self.discount**seg.lengths * end_value - self.oracle.V(seg.start_obs)

    def scores(self, pairs: Pairs) -> tuple[np.ndarray, np.ndarray]:
        return self.negative_regret(pairs.first), self.negative_regret(pairs.second)


class HierarchicalTeacher(Teacher):
    """HERON (Bukharin et al. 2023): compare factor by factor, most important first.

    Factors are summed over each segment (one transition when H = 1). At level l (in
    ``order``) the signed difference ``s_l * (F1_l - F2_l)`` decides the pair if its size
    exceeds ``sigma_l * std_l``, with ``std_l`` the std of factor l's sums over all
    segments of the batch; otherwise the pair falls through to the next level. Pairs no
    level decides are masked (label 0.5). Every pair asked is charged.

    Args:
        factor_names: The task's factor names, in the order of ``factors[..., K]``.
        order: Factor names, most important first.
        signs: +1 where more is better, -1 for costs, one per level.
        sigmas: Margin multipliers, one per level (>= 0).

    Example:
        >>> import numpy as np
        >>> from rewarddesign.preferences import pairs_from_rewards
        >>> pairs = pairs_from_rewards([[0.0], [0.0]], [[0.0], [0.0]],
        ...                            factors=([[[1.0, 5.0]], [[1.0, 0.0]]],
        ...                                     [[[3.0, 0.0]], [[1.0, 2.0]]]))
        >>> teacher = HierarchicalTeacher(["speed", "cost"], ["speed", "cost"], [1, -1],
        ...                               [0.5, 0.5])
        >>> teacher.label(pairs, np.random.default_rng(0)).label  # speed, then cost decides
        array([0., 1.])
    """

    def __init__(
        self,
        factor_names: Sequence[str],
        order: Sequence[str],
        signs: Sequence[int],
        sigmas: Sequence[float],
    ) -> None:
        names = list(factor_names)
        if not order or len(order) != len(signs) or len(order) != len(sigmas):
            raise ParameterError(
                f"HierarchicalTeacher: order, signs and sigmas need one entry per level, got "
                f"{len(order)}, {len(signs)} and {len(sigmas)}."
            )
        for name in order:
            if name not in names:
                raise unknown("factor in HierarchicalTeacher order", name, names)
        if any(s not in (1, -1) for s in signs):
            raise ParameterError(f"HierarchicalTeacher: signs must be +1 or -1, got {list(signs)}.")
        if any(not (isinstance(s, int | float) and s >= 0) for s in sigmas):
            raise ParameterError(f"HierarchicalTeacher: sigmas must be >= 0, got {list(sigmas)}.")
        self.order = tuple(order)
        self._cols = np.array([names.index(n) for n in order])
        self._signs = np.array(signs, dtype=np.float64)
        self._sigmas = np.array(sigmas, dtype=np.float64)

    @classmethod
    def from_task(cls, task: Any) -> HierarchicalTeacher:
        """The teacher of a task spec's ``heron`` section."""
        if task.heron is None:
            raise SpecError(f"task {task.id!r} has no `heron:` section (order, signs, sigmas).")
        h = task.heron
        return cls(task.factor_names, h.order, h.signs, h.sigmas)

    def label(self, pairs: Pairs, rng: np.random.Generator) -> LabelRecord:
        f1 = pairs.first.factors.sum(axis=1)[:, self._cols]  # (n, L), padding is 0
        f2 = pairs.second.factors.sum(axis=1)[:, self._cols]
        margin = self._sigmas * np.concatenate([f1, f2]).std(axis=0)
        diff = self._signs * (f1 - f2)
        decided = np.abs(diff) > margin
        level = decided.argmax(axis=1)  # the first level that decides
        usable = decided.any(axis=1)
        winner = diff[np.arange(pairs.n), level] > 0
        label = np.where(usable, winner.astype(float), 0.5)
        return LabelRecord(prob=label.copy(), label=label, usable=usable, charged=pairs.n)


__all__ = [
    "HierarchicalTeacher",
    "Oracle",
    "PartialReturnTeacher",
    "RegretTeacher",
    "Teacher",
    "margin_from_returns",
    "margin_from_rewards",
    "preference_probability",
]
