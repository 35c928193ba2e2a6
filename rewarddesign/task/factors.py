"""Reward factors: named per-step quantities a task's reward is built from.

A task spec (``envs/*.yaml``) declares each factor's source: a key of the env's
``info`` dict, or a *named function* of ``(obs, action, next_obs)`` registered here.
It also declares how the env's reward is formed from the factors: a weighted sum, or a
*named formula* (for tasks whose reward is a product, such as dm-control's).

Every function here is vectorised over leading batch dimensions, so the same code
computes factors for one step and for a batch of stored transitions.

Example:
    >>> import numpy as np
    >>> from rewarddesign.task.factors import FACTOR_FUNCTIONS
    >>> obs = np.array([[1.0, 0.0, 2.0]])  # Pendulum: cos, sin, theta_dot
    >>> float(FACTOR_FUNCTIONS["obs_sq"](obs, None, None, index=2)[0])
    4.0
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from rewarddesign.common.checks import is_number
from rewarddesign.errors import ParameterError, SpecError, unknown

FactorFn = Callable[..., np.ndarray]
FormulaFn = Callable[..., np.ndarray]


def _angle_sq(obs, action, next_obs, cos_index: int = 0, sin_index: int = 1):
    """Squared angle in [-pi, pi] from its (cos, sin) pair in the observation."""
    obs = np.asarray(obs, dtype=np.float64)
    return np.arctan2(obs[..., sin_index], obs[..., cos_index]) ** 2


def _obs_sq(obs, action, next_obs, index: int):
    """Square of one observation entry (before the step)."""
    return np.asarray(obs, dtype=np.float64)[..., index] ** 2


def _action_sq(obs, action, next_obs, clip: float | None = None):
    """Sum of squared action entries, optionally after clipping to [-clip, clip]."""
    a = np.asarray(action, dtype=np.float64)
    if clip is not None:
        a = np.minimum(np.maximum(a, -clip), clip)  # np.clip's wrapper costs more per step
    return (a * a).sum(axis=-1)


def _next_obs_reached(
    obs,
    action,
    next_obs,
    position_index: int = 0,
    velocity_index: int = 1,
    position: float = 0.45,
    velocity: float = 0.0,
):
    """1.0 where the next observation is at or past a goal position with enough velocity."""
    nxt = np.asarray(next_obs)
    hit = (nxt[..., position_index] >= position) & (nxt[..., velocity_index] >= velocity)
    return hit.astype(np.float64)


def _constant(obs, action, next_obs, value: float = 1.0):
    """A constant per step (e.g. CartPole's alive reward)."""
    return np.full(np.shape(obs)[:-1], float(value))  # one per (batched) vector observation


def _pd_match(obs, action, next_obs, gains: Sequence[float] = (0.0, 0.0, 1.0, 0.5)):
    """1.0 where a discrete push (0 left, 1 right) matches a PD controller's choice,
    right if ``obs . gains > 0`` (CartPole: pole angle plus half its angular velocity)."""
    want = (np.asarray(obs, dtype=np.float64) @ np.asarray(gains, dtype=np.float64)) > 0
    return (np.asarray(action) == want.astype(np.int64)).astype(np.float64)


def _velocity_match(obs, action, next_obs, velocity_index: int = 1):
    """+1 where a discrete push (0 left, 1 none, 2 right) goes the way the car moves,
    else -1 (MountainCar: pushing with the velocity pumps energy into the swing)."""
    v = np.asarray(obs, dtype=np.float64)[..., velocity_index]
    a = np.asarray(action)
    match = ((a == 2) & (v > 0)) | ((a == 0) & (v < 0))
    return np.where(match, 1.0, -1.0)


def _next_obs_entry(obs, action, next_obs, index: int):
    """One entry of the observation after the step (e.g. a velocity)."""
    return np.asarray(next_obs, dtype=np.float64)[..., index]


def _next_distance(obs, action, next_obs, target: Sequence[float], indices: Sequence[int] = (0, 1)):
    """Euclidean distance from next-observation entries ``indices`` to ``target``."""
    pos = np.asarray(next_obs, dtype=np.float64)[..., list(indices)]
    return np.linalg.norm(pos - np.asarray(target, dtype=np.float64), axis=-1)


def _next_in_disk(
    obs, action, next_obs, center: Sequence[float], radius: float, indices: Sequence[int] = (0, 1)
):
    """1.0 where next-observation entries ``indices`` lie within ``radius`` of ``center``."""
    # the edge counts as inside, within float32 rounding of the observation (the env's
    # float64 arithmetic puts a point on the edge on either side)
    distance = _next_distance(obs, action, next_obs, center, indices)
    return (distance <= radius + 1e-6).astype(np.float64)


def _delivery_feature(obs, action, next_obs, feature: str):
    """A delivery-gridworld feature of the move into state ``next_obs`` (gas: 1 per step;
    the others: the entered cell's kind)."""
    from rewarddesign.task.gridworld import DELIVERY_FEATURES, cell_features

    if feature not in DELIVERY_FEATURES:
        raise unknown("delivery feature", feature, DELIVERY_FEATURES)
    table = cell_features()[:, DELIVERY_FEATURES.index(feature)]
    return table[np.asarray(next_obs, dtype=np.int64)]


def _random_mdp_feature(
    obs,
    action,
    next_obs,
    feature: int,
    n_states: int = 10,
    n_actions: int = 3,
    n_terminal: int = 1,
    seed: int = 0,
):
    """Feature ``feature`` of a seeded random MDP's transition (the env's kwargs as args)."""
    from rewarddesign.task.gridworld import random_mdp_features

    feats = random_mdp_features(n_states, n_actions, n_terminal, seed)[..., feature]
    s, a, z = (np.asarray(v, dtype=np.int64) for v in (obs, action, next_obs))
    return feats[s, a, z]


FACTOR_FUNCTIONS: dict[str, FactorFn] = {
    "angle_sq": _angle_sq,
    "pd_match": _pd_match,
    "velocity_match": _velocity_match,
    "obs_sq": _obs_sq,
    "action_sq": _action_sq,
    "next_obs_reached": _next_obs_reached,
    "constant": _constant,
    "next_obs_entry": _next_obs_entry,
    "next_distance": _next_distance,
    "next_in_disk": _next_in_disk,
    "delivery_feature": _delivery_feature,
    "random_mdp_feature": _random_mdp_feature,
}
"""Named factor functions ``fn(obs, action, next_obs, **args) -> array``."""


def _neg_angle_sq(obs, cos_index: int = 0, sin_index: int = 1):
    return -_angle_sq(obs, None, None, cos_index, sin_index)


def _neg_distance(obs, target: Sequence[float], indices: Sequence[int] = (0, 1)):
    """Minus the Euclidean distance from observation entries ``indices`` to ``target``."""
    pos = np.asarray(obs, dtype=np.float64)[..., list(indices)]
    return -np.linalg.norm(pos - np.asarray(target, dtype=np.float64), axis=-1)


def _in_disk(
    obs,
    center: Sequence[float],
    radius: float,
    value: float = 1.0,
    indices: Sequence[int] = (0, 1),
):
    """``value`` where observation entries ``indices`` lie within ``radius`` of ``center``."""
    pos = np.asarray(obs, dtype=np.float64)[..., list(indices)]
    inside = np.linalg.norm(pos - np.asarray(center, dtype=np.float64), axis=-1) <= radius
    return value * inside.astype(np.float64)


def _obs_entry(obs, index: int, scale: float = 1.0):
    return scale * np.asarray(obs, dtype=np.float64)[..., index]


def _hill_energy(
    obs,
    position_index: int = 0,
    velocity_index: int = 1,
    gravity: float = 0.0025,
    frequency: float = 3.0,
    scale: float = 1.0,
):
    """Mechanical energy of a car on the hill ``sin(frequency * x)`` (MountainCar).

    The dynamics accelerate by ``-gravity * cos(frequency * x)`` per step, so the
    potential energy is ``gravity / frequency * sin(frequency * x)``; it is shifted to
    be 0 at the valley floor, so a car at rest there has zero energy.
    """
    obs = np.asarray(obs, dtype=np.float64)
    x, v = obs[..., position_index], obs[..., velocity_index]
    height = gravity / frequency * (np.sin(frequency * x) + 1.0)
    return scale * (0.5 * v * v + height)


POTENTIAL_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    "neg_angle_sq": _neg_angle_sq,
    "neg_distance": _neg_distance,
    "in_disk": _in_disk,
    "obs_entry": _obs_entry,
    "hill_energy": _hill_energy,
}
"""Named potential functions ``phi(obs, **args) -> array`` for potential-based shaping."""


def _product(factors: np.ndarray, names: Sequence[str], of: Sequence[str], scale: float = 1.0):
    idx = [list(names).index(n) for n in of]
    return scale * np.prod(factors[..., idx], axis=-1)


def hamacher(a: Any, b: Any) -> np.ndarray:
    """Hamacher t-norm ``a b / (a + b - a b)`` (0 where both are 0), as MetaWorld's rewards."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    den = a + b - a * b
    return np.where(den > 0, a * b / np.where(den > 0, den, 1.0), 0.0)


_BINARY = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}
_COMPARE = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
EXPRESSION_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    "where": np.where,
    "hamacher": hamacher,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "abs": np.abs,
}
"""Functions a reward expression may call."""


@functools.lru_cache(maxsize=256)
def compile_expression(text: str, names: tuple[str, ...]) -> Callable[[np.ndarray], np.ndarray]:
    """Compile an arithmetic reward expression over factor names, evaluated without ``eval``.

    Allowed: numbers, factor names, ``+ - * / **``, comparisons (true is 1.0), ``and``,
    ``or``, and the calls in :data:`EXPRESSION_FUNCTIONS`. The result maps
    ``factors[..., n]`` to rewards ``[...]``, vectorised.

    Raises:
        SpecError: Malformed text or syntax that is not allowed.
        UnknownNameError: A name that is no factor, or a call of an unknown function.

    Example:
        >>> f = compile_expression("(3 * a + b) / 4 * where(a > 0.5, 1, 0)", ("a", "b"))
        >>> f(np.array([[1.0, 2.0], [0.0, 1.0]])).tolist()
        [1.25, 0.0]
    """
    try:
        tree = ast.parse(str(text), mode="eval")
    except SyntaxError as exc:
        raise SpecError(f"reward expression {text!r} is malformed: {exc.msg}.") from None
    index = {n: i for i, n in enumerate(names)}

    def build(node: ast.AST) -> Callable[[np.ndarray], Any]:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            value = float(node.value)
            return lambda f: value
        if isinstance(node, ast.Name):
            if node.id not in index:
                raise unknown(f"factor in reward expression {text!r}", node.id, names)
            i = index[node.id]
            return lambda f: f[..., i]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            op, left, right = _BINARY[type(node.op)], build(node.left), build(node.right)
            return lambda f: op(left(f), right(f))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner, sign = build(node.operand), -1.0 if isinstance(node.op, ast.USub) else 1.0
            return lambda f: sign * inner(f)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
            op, left, right = (
                _COMPARE[type(node.ops[0])],
                build(node.left),
                build(node.comparators[0]),
            )
            return lambda f: op(left(f), right(f)).astype(np.float64)
        if isinstance(node, ast.BoolOp):
            parts, both = [build(v) for v in node.values], isinstance(node.op, ast.And)
            combine = np.logical_and if both else np.logical_or
            return lambda f: functools.reduce(combine, [p(f) for p in parts]).astype(np.float64)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            if node.func.id not in EXPRESSION_FUNCTIONS:
                raise unknown(
                    f"function in reward expression {text!r}", node.func.id, EXPRESSION_FUNCTIONS
                )
            fn, args = EXPRESSION_FUNCTIONS[node.func.id], [build(a) for a in node.args]
            return lambda f: fn(*[a(f) for a in args])
        raise SpecError(
            f"reward expression {text!r}: {ast.unparse(node)!r} is not allowed; use numbers, "
            "factor names, + - * / **, comparisons, and/or and "
            f"{sorted(EXPRESSION_FUNCTIONS)}."
        )

    body = build(tree.body)

    def evaluate(factors: np.ndarray) -> np.ndarray:
        f = np.asarray(factors, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.broadcast_to(body(f), f.shape[:-1]).astype(np.float64)

    return evaluate


def _expression(factors: np.ndarray, names: Sequence[str], text: str):
    return compile_expression(text, tuple(names))(factors)


FORMULAS: dict[str, FormulaFn] = {
    "product": _product,
    "expression": _expression,
}
"""Named reward formulas ``f(factors[..., n], names, **args) -> reward`` beyond a weighted sum."""


def lookup(registry: Mapping[str, Callable], kind: str, name: str) -> Callable:
    """Return a registered function or raise a clear error listing the valid names."""
    if name not in registry:
        raise unknown(kind, name, registry)
    return registry[name]


def weights_vector(weights: Mapping[str, float], names: Sequence[str], where: str) -> np.ndarray:
    """Turn ``{factor name: weight}`` into a vector in the declared factor order.

    Args:
        weights: Weights by factor name; missing factors get 0.
        names: The task's factor names in declared order.
        where: What the weights belong to, for the error message.

    Returns:
        A float64 vector aligned with ``names``.

    Raises:
        UnknownNameError: If a weight names no factor.
        ParameterError: If a weight is not a finite number.
    """
    for key, value in weights.items():
        if key not in names:
            raise unknown(f"factor in {where}", key, names)
        if not is_number(value) or not np.isfinite(value):
            raise ParameterError(f"weight {key}={value!r} in {where} must be a finite number.")
    return np.array([float(weights.get(n, 0.0)) for n in names], dtype=np.float64)
