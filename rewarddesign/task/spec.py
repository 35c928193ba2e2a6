"""Task specs as data: :class:`TaskSpec` and its parts, built by :mod:`.parse` from one YAML
file per task under ``envs/`` (schema in ``envs/README.md``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rewarddesign.common.checks import is_int, is_number
from rewarddesign.errors import SpecError
from rewarddesign.task.factors import (
    FACTOR_FUNCTIONS,
    FORMULAS,
    POTENTIAL_FUNCTIONS,
    weights_vector,
)

WEIGHTED_SUM = "weighted_sum"


def _reader(source: Any) -> Callable[..., Any]:
    """A per-step reader ``(obs, action, next_obs, info) -> value`` for an info key or a
    named function, built once: this runs on every env step."""
    if source.info is None:
        fn = functools.partial(FACTOR_FUNCTIONS[source.fn], **source.args)
        return lambda obs, action, next_obs, info: fn(obs, action, next_obs)
    key = source.info
    return lambda obs, action, next_obs, info: info[key]


def _read(
    source: Any, what: str, obs: Any, action: Any, next_obs: Any, info: Mapping[str, Any]
) -> Any:
    try:
        return source._reader(obs, action, next_obs, info)
    except KeyError:
        if source.info is None or source.info in info:
            raise
        raise SpecError(
            f"{what} reads info[{source.info!r}], which the env did not return "
            f"(keys: {sorted(info)}); fix its source in the task spec."
        ) from None


@dataclass(frozen=True)
class FactorSpec:
    """One reward factor: a named per-step quantity.

    Attributes:
        name: Factor name, unique within the task.
        sign: +1 if more is better, -1 if it is a cost.
        info: The ``info`` key it is read from, or None.
        fn: The named function (``rewarddesign.task.factors.FACTOR_FUNCTIONS``) computing it.
        args: Keyword arguments of ``fn``.
        scale: Multiplier applied to the raw value (e.g. -1 to turn a negative
            ``reward_ctrl`` into a non-negative control cost).
        description: What it measures.
    """

    name: str
    sign: int
    info: str | None = None
    fn: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    scale: float = 1.0
    description: str = ""

    _reader = functools.cached_property(_reader)

    def compute(self, obs: Any, action: Any, next_obs: Any, info: Mapping[str, Any]) -> Any:
        """Value of the factor for one step (or a batch, for function sources)."""
        return self.scale * _read(self, f"factor {self.name!r}", obs, action, next_obs, info)


@dataclass(frozen=True)
class TransitionFnSpec:
    """A factor as a function of the transition ``(obs, action, next_obs)``, declared where
    its ``source`` reads ``info``: diagnostics that recombine states and actions (EPIC)
    evaluate rewards on transitions no env step produced, so they need factors they can
    compute. Runs never read it (a factor's value in a run is always its ``source``).

    Attributes:
        fn: The named function (``rewarddesign.task.factors.FACTOR_FUNCTIONS``).
        args: Its keyword arguments.
        scale: Multiplier on its value.
        approximate: True where the observation allows only an approximation (e.g. a
            speed from the velocity after the step rather than the position's change).
    """

    fn: str
    args: Mapping[str, Any] = field(default_factory=dict)
    scale: float = 1.0
    approximate: bool = False

    def __call__(self, obs: Any, action: Any, next_obs: Any) -> np.ndarray:
        """The factor for a batch of transitions."""
        value = FACTOR_FUNCTIONS[self.fn](obs, action, next_obs, **self.args)
        return self.scale * np.asarray(value, dtype=np.float64)


@dataclass(frozen=True)
class RewardSpec:
    """A reward formed from the factors: a weighted sum or a named formula.

    Attributes:
        formula: ``"weighted_sum"`` or a name in ``rewarddesign.task.factors.FORMULAS``.
        weights: Factor weights of a weighted sum.
        args: Keyword arguments of a named formula.
    """

    formula: str
    weights: Mapping[str, float] = field(default_factory=dict)
    args: Mapping[str, Any] = field(default_factory=dict)

    def compute(self, factors: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """The reward for factor values ``factors[..., len(names)]``."""
        if self.formula == WEIGHTED_SUM:
            return np.asarray(factors, dtype=np.float64) @ weights_vector(
                self.weights, names, "reward"
            )
        return FORMULAS[self.formula](np.asarray(factors, dtype=np.float64), names, **self.args)


@dataclass(frozen=True)
class PotentialSpec:
    """A named potential Phi(obs) for potential-based shaping."""

    fn: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, obs: Any) -> np.ndarray:
        """Phi of one observation or a batch of them."""
        return POTENTIAL_FUNCTIONS[self.fn](obs, **self.args)


@dataclass(frozen=True)
class HeronSpec:
    """HERON's factor ranking: most important first, each with a sign and a margin sigma."""

    order: tuple[str, ...]
    signs: tuple[int, ...]
    sigmas: tuple[float, ...]


@dataclass(frozen=True)
class SuccessSpec:
    """Per-step success indicator; an episode succeeds if any step does (its maximum)."""

    info: str | None = None
    fn: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    _reader = functools.cached_property(_reader)

    def compute(self, obs: Any, action: Any, next_obs: Any, info: Mapping[str, Any]) -> float:
        """Success indicator of one step."""
        return float(_read(self, "success", obs, action, next_obs, info))


#: B-Pref's noise options a persona may set (those of the partial-return teacher).
PERSONA_NOISE = ("beta", "myopic_gamma", "eps_mistake", "eps_skip", "eps_equal")


@dataclass(frozen=True)
class PersonaSpec:
    """A kind of user: what they want (a reward of the factors) and how they label
    (B-Pref's noise, the partial-return teacher's options).

    Attributes:
        name: The persona's name, unique within the task.
        reward: Their reward, a weighted sum of the factors or an expression.
        noise: Options of their partial-return teacher (names in :data:`PERSONA_NOISE`).
        description: Who they are.
    """

    name: str
    reward: RewardSpec
    noise: Mapping[str, float] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class ReferenceScores:
    """Reference returns for normalised scores: (return - random) / (expert - random)."""

    random: float | None = None
    expert: float | None = None
    source: str = ""


@dataclass(frozen=True)
class TaskSpec:
    """A parsed, validated task spec. See ``envs/README.md`` for the YAML schema."""

    id: str
    env_id: str
    factors: tuple[FactorSpec, ...]
    reward: RewardSpec
    description: str = ""
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    env_module: str | None = None
    env_adapter: str | None = None
    action_repeat: int = 1
    horizon: int | None = None
    primary: RewardSpec | None = None
    auxiliary: Mapping[str, RewardSpec] = field(default_factory=dict)
    potentials: Mapping[str, PotentialSpec] = field(default_factory=dict)
    heron: HeronSpec | None = None
    success: SuccessSpec | None = None
    reference: ReferenceScores = field(default_factory=ReferenceScores)
    transitions: Mapping[str, TransitionFnSpec] = field(default_factory=dict)
    personas: Mapping[str, PersonaSpec] = field(default_factory=dict)
    path: str = ""

    @property
    def factor_names(self) -> tuple[str, ...]:
        """Factor names in declared order (the order of ``info["factors"]``)."""
        return tuple(f.name for f in self.factors)

    def transition_fn(self, name: str) -> Callable[..., np.ndarray] | None:
        """Factor ``name`` as a batched function of ``(obs, action, next_obs)``: its
        ``source`` function, else its declared ``transition:``, else None (it is read
        from ``info`` only)."""
        if name in self.transitions:
            return self.transitions[name]
        factor = self.factors[self.factor_names.index(name)]
        if factor.fn is None:
            return None
        fn = functools.partial(FACTOR_FUNCTIONS[factor.fn], **factor.args)
        return lambda obs, action, next_obs: (
            factor.scale * np.asarray(fn(obs, action, next_obs), dtype=np.float64)
        )

    @property
    def default_weights(self) -> dict[str, float]:
        """Weights of the env's reward if it is a weighted sum, else an empty dict."""
        return dict(self.reward.weights) if self.reward.formula == WEIGHTED_SUM else {}

    def ranking(
        self,
        order: Sequence[str] | None = None,
        signs: Sequence[int] | None = None,
        sigmas: Sequence[float] | None = None,
    ) -> HeronSpec:
        """The HERON ranking in force: the spec's ``heron:`` section, or a given ``order``
        (with signs defaulting to the factors' declared signs and sigmas to 1).

        Example:
            >>> from rewarddesign.task.registry import task_spec
            >>> task_spec("mujoco/HalfCheetah-v5").ranking(order=["ctrl"])
            HeronSpec(order=('ctrl',), signs=(-1,), sigmas=(1.0,))
        """
        if order is None and self.heron is None:
            raise SpecError(
                f"task {self.id!r} has no `heron:` ranking; give an order, e.g. "
                f"order={list(self.factor_names)}."
            )
        if order is None:  # the spec's ranking, with the signs or sigmas given here
            order = self.heron.order
            signs = self.heron.signs if signs is None else signs
            sigmas = self.heron.sigmas if sigmas is None else sigmas
        return check_ranking(order, signs, sigmas, self.factors, "ranking")


def check_ranking(
    order: Sequence[str],
    signs: Sequence[int] | None,
    sigmas: Sequence[float] | None,
    factors: Sequence[FactorSpec],
    where: str,
) -> HeronSpec:
    """Validate a HERON ranking of a task's factors (a spec's ``heron:`` or one given to a
    method) and fill its defaults: signs from the factors' declared signs, sigmas 1.

    Raises:
        SpecError: An unknown or repeated factor, lengths that differ, a sign other than
            +-1 or a sigma that is not positive.

    Example:
        >>> check_ranking(["b"], None, None, (FactorSpec("a", 1), FactorSpec("b", -1)), "x")
        HeronSpec(order=('b',), signs=(-1,), sigmas=(1.0,))
    """
    names = [f.name for f in factors]
    order = tuple(order)
    for name in order:
        if name not in names:
            raise SpecError(f"{where} order names unknown factor {name!r}; factors: {names}.")
    if len(set(order)) != len(order):
        raise SpecError(f"{where} order repeats a factor: {list(order)}.")
    if any(not is_int(s) for s in signs or ()) or any(not is_number(s) for s in sigmas or ()):
        raise SpecError(f"{where} signs must be +-1 and sigmas numbers; got {signs}, {sigmas}.")
    by_name = {f.name: f.sign for f in factors}
    signs = tuple(by_name[n] for n in order) if signs is None else tuple(signs)
    sigmas = (1.0,) * len(order) if sigmas is None else tuple(float(s) for s in sigmas)
    if len(signs) != len(order) or len(sigmas) != len(order):
        raise SpecError(
            f"{where} {list(order)} needs one sign and one sigma per factor, got "
            f"{list(signs)} and {list(sigmas)}."
        )
    if any(s not in (1, -1) for s in signs) or any(not s > 0 for s in sigmas):
        raise SpecError(f"{where} signs must be +-1 and sigmas positive; got {signs}, {sigmas}.")
    return HeronSpec(order=order, signs=signs, sigmas=sigmas)
