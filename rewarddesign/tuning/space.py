"""The search space of a study: its dimensions, their ranges, and a trial's sample.

A dimension is a factor weight of ``blend`` (its magnitude on a log scale, its sign from
the task spec) or a scalar method parameter; :func:`suggest` turns a trial's sampled
values back into the ``(weights, params)`` a run takes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna

from rewarddesign import methods
from rewarddesign.common.checks import is_number, require_mapping
from rewarddesign.errors import ParameterError, unknown
from rewarddesign.task.registry import task_spec

SPAN = 10.0
"""A default weight ``w`` is searched over ``[|w| / SPAN, |w| * SPAN]`` (log scale)."""


@dataclass(frozen=True)
class Dimension:
    """One searched value: ``sign * x`` with ``x`` in ``[low, high]``.

    Attributes:
        kind: ``"weight"`` (a factor weight of the blend) or ``"param"`` (a method parameter).
        name: The factor or parameter name.
        low: Lower bound of the sampled magnitude.
        high: Upper bound.
        log: Sample on a log scale.
        sign: Sign applied to the sample (the factor's sign in the task spec).
        integer: Sample integers (an ``int`` method parameter).
    """

    kind: str
    name: str
    low: float
    high: float
    log: bool = True
    sign: float = 1.0
    integer: bool = False

    def stored(self) -> dict[str, Any]:
        """The dimension as the study stores it (``integer`` only when set, so studies
        stored before integer dimensions existed still resume)."""
        out = dataclasses.asdict(self)
        if not self.integer:
            out.pop("integer")
        return out

    @property
    def key(self) -> str:
        """The Optuna parameter name."""
        return f"{self.kind}.{self.name}"


def search_space(
    task: str,
    method: str = "blend",
    factors: Sequence[str] | None = None,
    ranges: Mapping[str, Sequence[float]] | None = None,
    params: Mapping[str, Sequence[Any]] | None = None,
) -> list[Dimension]:
    """The dimensions a study searches.

    Args:
        task: Task id.
        method: ``"blend"`` searches factor weights; any method searches ``params``.
        factors: Factors whose weights are searched (``blend``; default: those with a
            non-zero weight in the task's reward).
        ranges: ``{factor: [low, high]}`` magnitude ranges replacing the default
            ``[|w| / 10, |w| * 10]`` (needed for a factor the reward does not weight).
        params: ``{method parameter: [low, high]}`` or ``[low, high, "log"]``; an
            ``int`` parameter is searched over the integers (its bounds must be whole).

    Raises:
        UnknownNameError: A factor or parameter the task or method does not have.
        ParameterError: A bad range, or nothing to search.

    Example:
        >>> for d in search_space("classic/Pendulum-v1"):
        ...     print(d.name, d.low, d.high, d.sign)
        theta_sq 0.1 10.0 -1.0
        theta_dot_sq 0.01 1.0 -1.0
        u_sq 0.0001 0.01 -1.0
    """
    spec = task_spec(task)
    cls = methods.get(method)
    ranges = dict(require_mapping(ranges or {}, "ranges"))
    params = dict(require_mapping(params or {}, "params"))
    if isinstance(factors, str) or not (factors is None or isinstance(factors, Sequence)):
        raise ParameterError(f"factors must be a list of factor names, got {factors!r}.")
    dims = []
    if method == "blend":
        defaults = spec.default_weights or {}
        names = list(factors) if factors is not None else [n for n, w in defaults.items() if w]
        for name in [*names, *ranges]:
            if name not in spec.factor_names:
                raise unknown(f"factor of task {task!r}", name, spec.factor_names)
        sign = dict(zip(spec.factor_names, (f.sign for f in spec.factors), strict=True))
        for name in dict.fromkeys([*names, *ranges]):
            if name in ranges:
                low, high = _range(ranges[name], f"range of {name!r}")
            elif defaults.get(name):
                w = abs(defaults[name])
                low, high = w / SPAN, w * SPAN
            else:
                raise ParameterError(
                    f"factor {name!r} has no weight in the reward of task {task!r}; give its "
                    f"range, e.g. ranges={{{name!r}: [0.001, 1.0]}} (CLI: --range {name}=0.001:1)."
                )
            dims.append(Dimension("weight", name, low, high, True, float(sign[name])))
    elif factors or ranges:
        raise ParameterError(
            f"factor weights are searched for method 'blend' only, not {method!r}; "
            f"search its parameters with params={{name: [low, high]}}."
        )
    fields = {f.name: f for f in dataclasses.fields(cls.Params)}
    for name, bounds in params.items():
        if name not in fields:
            raise unknown(f"parameter of method {method!r}", name, fields)
        # numbers, or numbers that default to None (annotations are strings here)
        kind = str(fields[name].type).replace(" | None", "")
        if kind not in ("float", "int"):
            raise ParameterError(
                f"parameter {name!r} of method {method!r} is not a scalar; only numeric "
                f"parameters can be searched."
            )
        bounds = _bounds(bounds, f"range of {name!r}", 3)
        log = len(bounds) == 3 and bounds[2] == "log"
        if len(bounds) == 3 and not log:
            raise ParameterError(f"range of {name!r}: the third entry may only be 'log'.")
        low, high = _range(bounds[:2], f"range of {name!r}", positive=log)
        integer = kind == "int"
        if integer and not (low.is_integer() and high.is_integer()):
            raise ParameterError(
                f"range of {name!r}: {name!r} is an integer parameter of method {method!r}; "
                f"give whole bounds, got [{low}, {high}]."
            )
        dims.append(Dimension("param", name, low, high, log, integer=integer))
    if not dims:
        raise ParameterError(
            f"nothing to search for method {method!r} on task {task!r}: name factors "
            f"(blend) or method parameters (params={{name: [low, high]}})."
        )
    return dims


def _bounds(bounds: Any, where: str, most: int = 2) -> list[Any]:
    """``bounds`` as a list, if it is a list or tuple of 2 (to ``most``) items."""
    if not isinstance(bounds, list | tuple) or not 2 <= len(bounds) <= most:
        form = "[low, high]" + (' or [low, high, "log"]' if most == 3 else "")
        raise ParameterError(f"{where} must be {form}, got {bounds!r}.")
    return list(bounds)


def _range(bounds: Sequence[Any], where: str, positive: bool = True) -> tuple[float, float]:
    bounds = _bounds(bounds, where)
    if not all(is_number(b) and math.isfinite(b) for b in bounds):
        raise ParameterError(f"{where} must be [low, high] numbers, got {list(bounds)!r}.")
    low, high = float(bounds[0]), float(bounds[1])
    if not low < high or (positive and low <= 0):
        raise ParameterError(
            f"{where} must have {'0 < ' if positive else ''}low < high, got [{low}, {high}]."
        )
    return low, high


def suggest(trial: optuna.Trial, space: Sequence[Dimension]) -> tuple[dict, dict]:
    """Sample ``(weights, params)`` for a trial."""
    weights, params = {}, {}
    for d in space:
        if d.integer:
            x = int(d.sign * trial.suggest_int(d.key, int(d.low), int(d.high), log=d.log))
        else:
            x = d.sign * trial.suggest_float(d.key, d.low, d.high, log=d.log)
        (weights if d.kind == "weight" else params)[d.name] = x
    return weights, params


__all__ = ["SPAN", "Dimension", "search_space", "suggest"]
