"""The task-spec schema: one YAML file per task under ``envs/``, validated on load.

The schema is documented in ``envs/README.md``. Parsing rejects unknown keys, unknown
factor names and unknown named functions, so a typo fails at load time with a message
that names it, not halfway through a run.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rewarddesign.common.files import check_keys, require_list, require_mapping, require_number
from rewarddesign.errors import SpecError
from rewarddesign.task.factors import (
    FACTOR_FUNCTIONS,
    FORMULAS,
    POTENTIAL_FUNCTIONS,
    compile_expression,
    lookup,
    weights_vector,
)

WEIGHTED_SUM = "weighted_sum"


def _bind(fn: Callable, args: Mapping[str, Any], skip: int, where: str) -> None:
    """Check that ``args`` fit ``fn``'s keyword parameters (after ``skip`` positionals)."""
    params = list(inspect.signature(fn).parameters.values())[skip:]
    names = {p.name for p in params}
    bad = set(args) - names
    if bad:
        raise SpecError(f"unknown argument(s) {sorted(bad)} in {where}; valid: {sorted(names)}.")
    missing = {p.name for p in params if p.default is inspect.Parameter.empty} - set(args)
    if missing:
        raise SpecError(f"missing argument(s) {sorted(missing)} in {where}.")


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
    path: str = ""

    @property
    def factor_names(self) -> tuple[str, ...]:
        """Factor names in declared order (the order of ``info["factors"]``)."""
        return tuple(f.name for f in self.factors)

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
        base = self.heron if order is None else None
        order = tuple(order) if order is not None else base.order
        for name in order:
            if name not in self.factor_names:
                raise SpecError(
                    f"ranking names unknown factor {name!r}; task {self.id!r} has "
                    f"{list(self.factor_names)}."
                )
        by_name = {f.name: f.sign for f in self.factors}
        if signs is None:
            signs = base.signs if base else tuple(by_name[n] for n in order)
        if sigmas is None:
            sigmas = base.sigmas if base else (1.0,) * len(order)
        signs, sigmas = tuple(signs), tuple(float(s) for s in sigmas)
        if len(signs) != len(order) or len(sigmas) != len(order):
            raise SpecError(
                f"ranking {list(order)} needs one sign and one sigma per factor, got "
                f"{list(signs)} and {list(sigmas)}."
            )
        if any(s not in (1, -1) for s in signs) or any(not s > 0 for s in sigmas):
            raise SpecError(
                f"ranking signs must be +-1 and sigmas positive; got {signs}, {sigmas}."
            )
        return HeronSpec(order=order, signs=signs, sigmas=sigmas)


_TOP_KEYS = {
    "id",
    "description",
    "env",
    "horizon",
    "factors",
    "reward",
    "primary",
    "auxiliary",
    "potentials",
    "heron",
    "success",
    "reference",
}


def _source(doc: Any, where: str, allowed_extra: set[str]) -> dict[str, Any]:
    doc = require_mapping(doc, where)
    check_keys(doc, where, {"info", "fn", "args"} | allowed_extra)
    if ("info" in doc) == ("fn" in doc):
        raise SpecError(f"{where} needs exactly one of 'info' (an info key) or 'fn' (a function).")
    if "fn" in doc:
        fn = lookup(FACTOR_FUNCTIONS, f"factor function in {where}", doc["fn"])
        _bind(fn, doc.get("args") or {}, 3, f"{where} fn {doc['fn']!r}")
    return doc


def _reward(doc: Any, where: str, names: Sequence[str]) -> RewardSpec:
    doc = require_mapping(doc, where)
    check_keys(doc, where, {"formula", "weights", "args", "expression"})
    if "expression" in doc:  # shorthand for {formula: expression, args: {text: ...}}
        if set(doc) != {"expression"}:
            raise SpecError(f"{where}: 'expression' stands alone (no formula, weights or args).")
        doc = {"formula": "expression", "args": {"text": doc["expression"]}}
    formula = doc.get("formula", WEIGHTED_SUM)
    weights = dict(require_mapping(doc.get("weights") or {}, f"{where} weights"))
    args = dict(require_mapping(doc.get("args") or {}, f"{where} args"))
    if formula == WEIGHTED_SUM:
        if not weights:
            raise SpecError(f"{where} is a weighted sum but has no 'weights'.")
        weights_vector(weights, names, where)  # validates names and values
    else:
        fn = lookup(FORMULAS, f"reward formula in {where}", formula)
        _bind(fn, args, 2, f"{where} formula {formula!r}")
        for name in require_list(args.get("of", []), f"{where} args.of", str):
            if name not in names:
                raise SpecError(f"{where} uses unknown factor {name!r}; factors: {list(names)}.")
        if formula == "expression":  # names, functions and syntax checked now
            compile_expression(str(args["text"]), tuple(names))
    return RewardSpec(formula=formula, weights=weights, args=args)


def parse_task_spec(doc: Any, path: str | Path = "") -> TaskSpec:
    """Validate a parsed task-spec document and build a :class:`TaskSpec`.

    Args:
        doc: The document from ``yaml.safe_load``.
        path: The file it came from, for messages.

    Returns:
        The spec.

    Raises:
        SpecError: On any schema violation; the message names the key and the fix.
    """
    where = f"task spec {str(path)!r}" if path else "task spec"
    doc = require_mapping(doc, where)
    check_keys(doc, where, _TOP_KEYS, {"id", "env", "factors", "reward"})
    task_id = doc["id"]
    if not isinstance(task_id, str) or task_id.count("/") != 1:
        raise SpecError(f"task id {task_id!r} in {where} must look like 'suite/name'.")
    where = f"task {task_id!r}"

    env = require_mapping(doc["env"], f"{where} env")
    check_keys(env, f"{where} env", {"id", "kwargs", "module", "adapter", "action_repeat"}, {"id"})
    require_mapping(env.get("kwargs") or {}, f"{where} env kwargs")
    adapter = env.get("adapter")
    if adapter is not None:
        from rewarddesign.task.suites import ADAPTERS

        lookup(ADAPTERS, f"env adapter in {where}", adapter)
    action_repeat = env.get("action_repeat", 1)
    if isinstance(action_repeat, bool) or not isinstance(action_repeat, int) or action_repeat < 1:
        raise SpecError(
            f"{where} env action_repeat must be an integer >= 1, got {action_repeat!r}."
        )

    factors = []
    raw_factors = doc["factors"]
    if not isinstance(raw_factors, list) or not raw_factors:
        raise SpecError(f"{where} factors must be a non-empty list.")
    for i, raw in enumerate(raw_factors):
        fw = f"{where} factor #{i}"
        raw = require_mapping(raw, fw)
        check_keys(raw, fw, {"name", "sign", "source", "description"}, {"name", "sign", "source"})
        if isinstance(raw["sign"], bool) or raw["sign"] not in (1, -1):
            raise SpecError(
                f"{fw} sign must be 1 (more is better) or -1 (a cost), got {raw['sign']!r}."
            )
        src = _source(raw["source"], f"{fw} source", {"scale"})
        factors.append(
            FactorSpec(
                name=str(raw["name"]),
                sign=int(raw["sign"]),
                info=src.get("info"),
                fn=src.get("fn"),
                args=dict(src.get("args") or {}),
                scale=require_number(src.get("scale", 1.0), f"{fw} scale"),
                description=str(raw.get("description", "")),
            )
        )
    names = [f.name for f in factors]
    if len(set(names)) != len(names):
        raise SpecError(f"{where} has duplicate factor names: {names}.")

    primary = doc.get("primary", "env")
    primary_spec = None if primary == "env" else _reward(primary, f"{where} primary", names)
    auxiliary = {
        str(k): _reward(v, f"{where} auxiliary {k!r}", names)
        for k, v in require_mapping(doc.get("auxiliary") or {}, f"{where} auxiliary").items()
    }

    potentials = {}
    for k, v in require_mapping(doc.get("potentials") or {}, f"{where} potentials").items():
        pw = f"{where} potential {k!r}"
        v = require_mapping(v, pw)
        check_keys(v, pw, {"fn", "args"}, {"fn"})
        fn = lookup(POTENTIAL_FUNCTIONS, f"potential function in {pw}", v["fn"])
        _bind(fn, v.get("args") or {}, 1, pw)
        potentials[str(k)] = PotentialSpec(fn=v["fn"], args=dict(v.get("args") or {}))

    heron = None
    if doc.get("heron") is not None:
        hw = f"{where} heron"
        h = require_mapping(doc["heron"], hw)
        check_keys(h, hw, {"order", "signs", "sigmas"}, {"order"})
        order = tuple(require_list(h["order"], f"{hw} order", str))
        for name in order:
            if name not in names:
                raise SpecError(f"{hw} order names unknown factor {name!r}; factors: {names}.")
        if len(set(order)) != len(order):
            raise SpecError(f"{hw} order repeats a factor: {list(order)}.")
        by_name = {f.name: f.sign for f in factors}
        signs = tuple(
            require_list(h.get("signs") or [by_name[n] for n in order], f"{hw} signs", int)
        )
        sigmas = tuple(
            require_number(s, f"{hw} sigmas")
            for s in require_list(h.get("sigmas") or [1.0] * len(order), f"{hw} sigmas")
        )
        if len(signs) != len(order) or len(sigmas) != len(order):
            raise SpecError(f"{hw} order, signs and sigmas must have equal lengths.")
        if any(s not in (1, -1) for s in signs) or any(not s > 0 for s in sigmas):
            raise SpecError(f"{hw} signs must be +-1 and sigmas positive; got {signs}, {sigmas}.")
        heron = HeronSpec(order=order, signs=signs, sigmas=sigmas)

    success = None
    if doc.get("success") is not None:
        s = _source(doc["success"], f"{where} success", set())
        success = SuccessSpec(info=s.get("info"), fn=s.get("fn"), args=dict(s.get("args") or {}))

    ref = require_mapping(doc.get("reference") or {}, f"{where} reference")
    check_keys(ref, f"{where} reference", {"random", "expert", "source"})

    if ref.get("random") is not None and ref.get("random") == ref.get("expert"):
        raise SpecError(
            f"{where} reference random and expert are equal ({ref['random']}); "
            "normalised scores need expert != random."
        )
    horizon = doc.get("horizon")
    if horizon is not None and (
        isinstance(horizon, bool) or not isinstance(horizon, int) or horizon <= 0
    ):
        raise SpecError(f"{where} horizon must be a positive integer, got {horizon!r}.")

    return TaskSpec(
        id=task_id,
        description=str(doc.get("description", "")),
        env_id=str(env["id"]),
        env_kwargs=dict(env.get("kwargs") or {}),
        env_module=env.get("module"),
        env_adapter=adapter,
        action_repeat=action_repeat,
        horizon=horizon,
        factors=tuple(factors),
        reward=_reward(doc["reward"], f"{where} reward", names),
        primary=primary_spec,
        auxiliary=auxiliary,
        potentials=potentials,
        heron=heron,
        success=success,
        reference=ReferenceScores(
            random=None
            if ref.get("random") is None
            else require_number(ref["random"], f"{where} reference random"),
            expert=None
            if ref.get("expert") is None
            else require_number(ref["expert"], f"{where} reference expert"),
            source=str(ref.get("source", "")),
        ),
        path=str(path),
    )
