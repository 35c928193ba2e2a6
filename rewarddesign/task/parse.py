"""The task-spec parser: one YAML document -> a validated :class:`~.spec.TaskSpec`.

The schema is documented in ``envs/README.md``. Parsing rejects unknown keys, unknown
factor names and unknown named functions, so a typo fails at load time with a message
that names it, not halfway through a run. One small function per section.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rewarddesign.common.checks import (
    check_int,
    check_keys,
    is_int,
    require_list,
    require_mapping,
    require_number,
)
from rewarddesign.errors import SpecError
from rewarddesign.task.factors import (
    FACTOR_FUNCTIONS,
    FORMULAS,
    POTENTIAL_FUNCTIONS,
    compile_expression,
    lookup,
    weights_vector,
)
from rewarddesign.task.spec import (
    PERSONA_NOISE,
    WEIGHTED_SUM,
    FactorSpec,
    HeronSpec,
    PersonaSpec,
    PotentialSpec,
    ReferenceScores,
    RewardSpec,
    SuccessSpec,
    TaskSpec,
    TransitionFnSpec,
    check_ranking,
)

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
    "personas",
}


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


def _env(doc: Any, where: str) -> dict[str, Any]:
    env = require_mapping(doc, f"{where} env")
    check_keys(env, f"{where} env", {"id", "kwargs", "module", "adapter", "action_repeat"}, {"id"})
    require_mapping(env.get("kwargs") or {}, f"{where} env kwargs")
    if env.get("adapter") is not None:
        from rewarddesign.task.suites import ADAPTERS

        lookup(ADAPTERS, f"env adapter in {where}", env["adapter"])
    check_int(env.get("action_repeat", 1), f"{where} env action_repeat", 1, error=SpecError)
    return env


def _transition(raw: Any, where: str, factor: FactorSpec) -> TransitionFnSpec:
    if factor.info is None:
        raise SpecError(
            f"{where} transition: factor {factor.name!r} is already a function of the "
            "transition (its source is `fn`); declare `transition:` only for `info` sources."
        )
    doc = require_mapping(raw, f"{where} transition")
    check_keys(doc, f"{where} transition", {"fn", "args", "scale", "approximate"}, {"fn"})
    fn = lookup(FACTOR_FUNCTIONS, f"factor function in {where} transition", doc["fn"])
    _bind(fn, doc.get("args") or {}, 3, f"{where} transition fn {doc['fn']!r}")
    approximate = doc.get("approximate", False)
    if not isinstance(approximate, bool):
        raise SpecError(f"{where} transition approximate must be true or false.")
    return TransitionFnSpec(
        fn=str(doc["fn"]),
        args=dict(doc.get("args") or {}),
        scale=require_number(doc.get("scale", 1.0), f"{where} transition scale"),
        approximate=approximate,
    )


def _factor(raw: Any, where: str) -> FactorSpec:
    raw = require_mapping(raw, where)
    check_keys(
        raw,
        where,
        {"name", "sign", "source", "description", "transition"},
        {"name", "sign", "source"},
    )
    if isinstance(raw["sign"], bool) or raw["sign"] not in (1, -1):
        raise SpecError(
            f"{where} sign must be 1 (more is better) or -1 (a cost), got {raw['sign']!r}."
        )
    src = _source(raw["source"], f"{where} source", {"scale"})
    return FactorSpec(
        name=str(raw["name"]),
        sign=int(raw["sign"]),
        info=src.get("info"),
        fn=src.get("fn"),
        args=dict(src.get("args") or {}),
        scale=require_number(src.get("scale", 1.0), f"{where} scale"),
        description=str(raw.get("description", "")),
    )


def _factors(raw: Any, where: str) -> tuple[tuple[FactorSpec, ...], dict[str, TransitionFnSpec]]:
    if not isinstance(raw, list) or not raw:
        raise SpecError(f"{where} factors must be a non-empty list.")
    factors = tuple(_factor(r, f"{where} factor #{i}") for i, r in enumerate(raw))
    names = [f.name for f in factors]
    if len(set(names)) != len(names):
        raise SpecError(f"{where} has duplicate factor names: {names}.")
    transitions = {
        f.name: _transition(r["transition"], f"{where} factor {f.name!r}", f)
        for f, r in zip(factors, raw, strict=True)
        if r.get("transition") is not None
    }
    return factors, transitions


def _potentials(raw: Any, where: str) -> dict[str, PotentialSpec]:
    potentials = {}
    for k, v in require_mapping(raw or {}, f"{where} potentials").items():
        pw = f"{where} potential {k!r}"
        v = require_mapping(v, pw)
        check_keys(v, pw, {"fn", "args"}, {"fn"})
        fn = lookup(POTENTIAL_FUNCTIONS, f"potential function in {pw}", v["fn"])
        _bind(fn, v.get("args") or {}, 1, pw)
        potentials[str(k)] = PotentialSpec(fn=v["fn"], args=dict(v.get("args") or {}))
    return potentials


def _heron(raw: Any, where: str, factors: tuple[FactorSpec, ...]) -> HeronSpec | None:
    if raw is None:
        return None
    hw = f"{where} heron"
    h = require_mapping(raw, hw)
    check_keys(h, hw, {"order", "signs", "sigmas"}, {"order"})
    order = require_list(h["order"], f"{hw} order", str)
    signs = h.get("signs")
    signs = None if signs is None else require_list(signs, f"{hw} signs", int)
    sigmas = h.get("sigmas")
    if sigmas is not None:
        sigmas = [require_number(s, f"{hw} sigmas") for s in require_list(sigmas, f"{hw} sigmas")]
    return check_ranking(order, signs, sigmas, factors, hw)


def _personas(raw: Any, where: str, names: Sequence[str]) -> dict[str, PersonaSpec]:
    personas = {}
    for name, doc in require_mapping(raw or {}, f"{where} personas").items():
        pw = f"{where} persona {name!r}"
        doc = require_mapping(doc, pw)
        check_keys(doc, pw, {"reward", "noise", "description"}, {"reward"})
        noise = require_mapping(doc.get("noise") or {}, f"{pw} noise")
        check_keys(noise, f"{pw} noise", set(PERSONA_NOISE))
        personas[str(name)] = PersonaSpec(
            name=str(name),
            reward=_reward(doc["reward"], f"{pw} reward", names),
            noise={k: require_number(v, f"{pw} noise {k}") for k, v in noise.items()},
            description=str(doc.get("description", "")),
        )
    return personas


def _reference(raw: Any, where: str) -> ReferenceScores:
    ref = require_mapping(raw or {}, f"{where} reference")
    check_keys(ref, f"{where} reference", {"random", "expert", "source"})
    if ref.get("random") is not None and ref.get("random") == ref.get("expert"):
        raise SpecError(
            f"{where} reference random and expert are equal ({ref['random']}); "
            "normalised scores need expert != random."
        )
    scores = {
        key: None if ref.get(key) is None else require_number(ref[key], f"{where} reference {key}")
        for key in ("random", "expert")
    }
    return ReferenceScores(**scores, source=str(ref.get("source", "")))


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
    env = _env(doc["env"], where)
    factors, transitions = _factors(doc["factors"], where)
    names = [f.name for f in factors]
    primary = doc.get("primary", "env")
    auxiliary = require_mapping(doc.get("auxiliary") or {}, f"{where} auxiliary")
    success = None
    if doc.get("success") is not None:
        s = _source(doc["success"], f"{where} success", set())
        success = SuccessSpec(info=s.get("info"), fn=s.get("fn"), args=dict(s.get("args") or {}))
    reference = _reference(doc.get("reference"), where)
    horizon = doc.get("horizon")
    if horizon is not None and (not is_int(horizon) or horizon < 1):
        raise SpecError(f"{where} horizon must be a positive integer, got {horizon!r}.")
    return TaskSpec(
        id=task_id,
        description=str(doc.get("description", "")),
        env_id=str(env["id"]),
        env_kwargs=dict(env.get("kwargs") or {}),
        env_module=env.get("module"),
        env_adapter=env.get("adapter"),
        action_repeat=env.get("action_repeat", 1),
        horizon=horizon,
        factors=factors,
        reward=_reward(doc["reward"], f"{where} reward", names),
        primary=None if primary == "env" else _reward(primary, f"{where} primary", names),
        auxiliary={
            str(k): _reward(v, f"{where} auxiliary {k!r}", names) for k, v in auxiliary.items()
        },
        potentials=_potentials(doc.get("potentials"), where),
        heron=_heron(doc.get("heron"), where, factors),
        success=success,
        reference=reference,
        transitions=transitions,
        personas=_personas(doc.get("personas"), where, names),
        path=str(path),
    )
