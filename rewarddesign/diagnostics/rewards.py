"""One adapter from everything this package calls a reward to a batched function of
transitions, ``(obs, actions, next_obs) -> (n,)``, which the distances take.

A reward is the task's true reward (``"true"``), the env's own reward (``"env"``), an
auxiliary reward (``"aux:NAME"``), an expression over the factors (``"expr:TEXT"``), a
blend (a weights mapping or ``"blend:WEIGHTS.yaml"``), a potential-shaped env reward
(``"shaped:POTENTIAL"``), a learned reward model (a
:class:`~rewarddesign.models.RewardEnsemble` or ``"model:DIR"``), a BARFI blend (a
:class:`~rewarddesign.models.meta_blend.MetaBlend` or ``"meta:DIR"``), a stateless
reward transform of :mod:`rewarddesign.wrappers`, or a batched callable of your own.

The wrappers' own transforms compute the rewards, fed a step built from the transition:
the factors from the task's transition functions (a factor's ``fn`` source or its
declared ``transition:``), the env and true rewards formed from them, no terminal.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign.common.checks import probe_batched
from rewarddesign.common.files import load_yaml
from rewarddesign.errors import SpaceMismatchError, SpecError, unknown
from rewarddesign.models.ensemble import RewardEnsemble
from rewarddesign.models.meta_blend import MetaBlend
from rewarddesign.task.factors import compile_expression
from rewarddesign.task.spec import WEIGHTED_SUM, RewardSpec, TaskSpec
from rewarddesign.wrappers.blended import BlendTransform, blend_weights, read_weights
from rewarddesign.wrappers.core import RewardTransform, Transition, WrapContext
from rewarddesign.wrappers.learned import LearnedRewardTransform
from rewarddesign.wrappers.meta import MetaBlendTransform
from rewarddesign.wrappers.potential import PotentialTransform

PREFIXES = ("true", "env", "aux:", "expr:", "blend:", "shaped:", "model:", "meta:")
"""The forms of a reward named by a string."""

STATELESS = (BlendTransform, LearnedRewardTransform, MetaBlendTransform, PotentialTransform)
"""Transforms whose reward is a function of one transition (the others keep running
statistics or multipliers: their reward depends on the history)."""


def _names_in(text: str, names: tuple[str, ...]) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(text, mode="eval")) if isinstance(n, ast.Name)} & set(
        names
    )


def needed_factors(reward: RewardSpec, names: tuple[str, ...]) -> set[str]:
    """The factors a reward form reads (a weighted sum's non-zero weights, an
    expression's names; every factor for other formulas)."""
    if reward.formula == WEIGHTED_SUM:
        return {n for n, w in reward.weights.items() if w != 0}
    if reward.formula == "expression":
        return _names_in(str(reward.args["text"]), names)
    if "of" in reward.args:
        return set(reward.args["of"])
    return set(names)


class TransitionReward:
    """A reward as a batched function of transitions.

    Args:
        task: The task whose factors the reward reads.
        transform: The reward's transform (a stateless one of :data:`STATELESS`), or None
            for the true reward.
        observation_space: One observation's space.
        action_space: One action's space.
        needs: The factors the reward reads (the others may lack transition functions).
        name: What it is, for messages.

    Example:
        >>> import numpy as np
        >>> import rewarddesign as rd
        >>> env = rd.make("classic/Pendulum-v1")
        >>> r = as_reward(rd.task_spec("classic/Pendulum-v1"), "true",
        ...               env.observation_space, env.action_space)
        >>> float(r(np.array([[1.0, 0.0, 2.0]]), np.array([[1.0]]), np.zeros((1, 3)))[0])
        -0.401
    """

    def __init__(
        self,
        task: TaskSpec,
        transform: RewardTransform | None,
        observation_space: gym.Space,
        action_space: gym.Space,
        needs: set[str],
        name: str,
    ) -> None:
        self.task, self.transform, self.name = task, transform, name
        self.observation_space, self.action_space = observation_space, action_space
        self._fns = {}  # only the factors this reward reads are computed
        missing = []
        for factor in task.factors:
            fn = task.transition_fn(factor.name) if factor.name in needs else None
            if fn is not None:
                self._fns[factor.name] = fn
            elif factor.name in needs:
                missing.append(f"{factor.name!r} (info[{factor.info!r}])")
        if missing:
            raise SpecError(
                f"reward {name!r} reads factor(s) {', '.join(missing)} of task {task.id!r}, "
                "which the env reports in `info` and no function of (obs, action, next_obs) "
                "computes; a distance between rewards needs them at transitions no step "
                "made. Declare `transition: {fn: ..., args: ...}` for them in the task "
                "spec (envs/README.md), or compare rewards that do not read them."
            )
        self._env_reward = task.reward
        self._true_reward = task.primary or task.reward
        self._size = 0
        self._bind(2)  # the transform's own checks (spaces, task) raise here
        model = getattr(transform, "model", None)
        if (
            isinstance(transform, LearnedRewardTransform)
            and hasattr(model, "mean_over_pairs")
            and model.config.inputs != "obs_factors"
        ):
            self.mean_over = self._model_mean_over  # EPIC's expectations, fast

    def _model_mean_over(
        self, states: np.ndarray, actions: np.ndarray, next_states: np.ndarray
    ) -> np.ndarray:
        """``E_j[R(x, A_j, S'_j)]`` for every state ``x``, the reward model's own way."""
        return self.transform.model.mean_over_pairs(states, actions, next_states)

    def _bind(self, n: int) -> None:
        """Size the transform's per-env state for batches of ``n`` (doubling)."""
        if self.transform is not None and n > self._size:
            self._size = max(n, 2 * self._size)
            ctx = WrapContext(
                self.task, self.observation_space, self.action_space, self._size, self.name
            )
            self.transform.bind(ctx)

    def factors(self, obs: np.ndarray, actions: np.ndarray, next_obs: np.ndarray) -> np.ndarray:
        """``(n, K)`` factors of the transitions (0 for those this reward does not read)."""
        out = np.zeros((len(obs), len(self.task.factors)))
        for i, factor in enumerate(self.task.factors):
            fn = self._fns.get(factor.name)
            if fn is not None:
                out[:, i] = np.broadcast_to(fn(obs, actions, next_obs), len(obs))
        return out

    def __call__(self, obs: np.ndarray, actions: np.ndarray, next_obs: np.ndarray) -> np.ndarray:
        """The rewards of ``n`` transitions, ``(n,)`` float64."""
        factors = self.factors(obs, actions, next_obs)
        names = self.task.factor_names
        true = self._true_reward.compute(factors, names)
        if self.transform is None:
            return np.asarray(true, dtype=np.float64)
        n = len(obs)
        self._bind(n)
        idx = np.arange(n)
        self.transform.start(idx, obs)
        env = self._env_reward.compute(factors, names)
        step = Transition(
            idx,
            obs,
            actions,
            next_obs,
            np.asarray(env, dtype=np.float64),
            np.zeros(n, dtype=bool),
            np.zeros(n, dtype=bool),
            factors,
            np.asarray(true, dtype=np.float64),
            np.zeros(n),
        )
        return np.asarray(self.transform(step), dtype=np.float64)


def _true_needs(task: TaskSpec) -> set[str]:
    return needed_factors(task.primary or task.reward, task.factor_names)


def _spaces(task: TaskSpec, observation_space: Any, action_space: Any) -> None:
    for what, space in (("observation", observation_space), ("action", action_space)):
        if not isinstance(space, gym.Space):
            raise SpaceMismatchError(
                f"a reward of task {task.id!r} needs the task's {what} space, got {space!r}; "
                "pass env.observation_space and env.action_space of rd.make(task)."
            )


def _string(task: TaskSpec, text: str, gamma: float) -> tuple[Any, set[str]]:
    """A string's transform (None: the true reward) and the factors it reads."""
    names = task.factor_names
    true_needs = _true_needs(task)
    env_needs = needed_factors(task.reward, names)
    if text == "true":
        return None, true_needs
    if text == "env":
        return _FormTransform(task.reward), env_needs
    prefix, _, rest = text.partition(":")
    if prefix == "aux":
        if rest not in task.auxiliary:
            raise unknown(f"auxiliary reward of task {task.id!r}", rest, task.auxiliary)
        return _FormTransform(task.auxiliary[rest]), needed_factors(task.auxiliary[rest], names)
    if prefix == "expr":
        compile_expression(rest, names)  # names and syntax checked now
        form = RewardSpec("expression", args={"text": rest})
        return _FormTransform(form), _names_in(rest, names)
    if prefix == "blend":
        doc = load_yaml(rest)
        if isinstance(doc, dict) and doc.get("task") not in (None, task.id):
            raise SpecError(
                f"reward {text!r}: the weights were tuned on task {doc['task']!r}, not "
                f"{task.id!r}; compare rewards of one task."
            )
        return _blend(task, read_weights(rest), true_needs)
    if prefix == "shaped":
        return PotentialTransform(rest, gamma), env_needs
    if prefix == "model":
        return _model(RewardEnsemble.load(rest, device="auto"), names)
    if prefix == "meta":
        return _meta(task, MetaBlend.load(rest), true_needs)
    raise SpecError(
        f"reward {text!r} is none of the forms {', '.join(PREFIXES)} (e.g. 'true', "
        "'blend:weights.yaml', 'model:runs/x/reward_model', 'shaped:upright')."
    )


class _FormTransform(RewardTransform):
    """A reward form of the task spec (an auxiliary reward, an expression) as a transform."""

    needs_task = True

    def __init__(self, form: RewardSpec) -> None:
        self.form = form

    def bind(self, ctx: WrapContext) -> None:
        self._names = ctx.require_task().factor_names

    def __call__(self, t: Transition) -> np.ndarray:
        return self.form.compute(t.factors, self._names)


def _blend(task: TaskSpec, weights: Any, true_needs: set[str]) -> tuple[Any, set[str]]:
    vec = blend_weights(weights, task, f"blend weights for task {task.id!r}")
    needs = {n for n, w in zip(task.factor_names, vec[:-1], strict=True) if w != 0}
    return BlendTransform(weights), needs | (true_needs if vec[-1] != 0 else set())


def _model(model: Any, names: tuple[str, ...]) -> tuple[Any, set[str]]:
    needs = set(names) if model.config.inputs == "obs_factors" else set()
    return LearnedRewardTransform(model), needs


def _meta(task: TaskSpec, blend: MetaBlend, true_needs: set[str]) -> tuple[Any, set[str]]:
    aux = task.auxiliary.get(blend.aux)
    needs = true_needs | (needed_factors(aux, task.factor_names) if aux is not None else set())
    return MetaBlendTransform(blend), needs


def as_reward(
    task: TaskSpec,
    reward: Any,
    observation_space: gym.Space,
    action_space: gym.Space,
    gamma: float = 0.99,
    name: str | None = None,
) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Any reward of ``task`` as a batched function of transitions.

    Args:
        task: The task.
        reward: A string form (:data:`PREFIXES`), a weights mapping, a reward model, a
            BARFI blend, a stateless reward transform or a batched callable
            ``(obs, actions, next_obs) -> (n,)``.
        observation_space: The task's observation space (``env.observation_space``).
        action_space: The task's action space.
        gamma: The discount of a ``"shaped:"`` reward's shaping term.
        name: What to call it in messages (default: its string form or type).

    Returns:
        The batched reward; its rewards are checked on a probe batch now, so a reward
        that does not fit the task fails here.

    Raises:
        SpecError: A string of no known form, a factor read from ``info`` only, a blend
            or BARFI blend of another task.
        SpaceMismatchError: A reward model built for other spaces.
    """
    _spaces(task, observation_space, action_space)
    label = name or (reward if isinstance(reward, str) else type(reward).__name__)
    if isinstance(reward, Path):
        raise SpecError(
            f"reward {str(reward)!r} is a path; say what it holds: 'blend:{reward}', "
            f"'model:{reward}' or 'meta:{reward}'."
        )
    if isinstance(reward, str):
        transform, needs = _string(task, reward, gamma)
    elif isinstance(reward, Mapping):
        transform, needs = _blend(task, dict(reward), _true_needs(task))
    elif isinstance(reward, RewardEnsemble):
        transform, needs = _model(reward, task.factor_names)
    elif isinstance(reward, MetaBlend):
        transform, needs = _meta(task, reward, _true_needs(task))
    elif isinstance(reward, (*STATELESS, _FormTransform)):
        transform, needs = reward, set(task.factor_names)
    elif isinstance(reward, RewardTransform):
        raise SpecError(
            f"reward {label!r}: {type(reward).__name__} keeps state across steps (running "
            "statistics or multipliers), so it is no function of one transition; compare "
            f"one of {[t.__name__ for t in STATELESS]}."
        )
    elif callable(reward):
        probe_batched(reward, f"reward {label!r}", observation_space, action_space, step=True)
        return reward
    else:
        raise SpecError(
            f"reward {label!r} is none of: a string form ({', '.join(PREFIXES)}), a weights "
            "mapping, a RewardEnsemble, a MetaBlend, a reward transform or a batched callable."
        )
    fn = TransitionReward(task, transform, observation_space, action_space, needs, label)
    probe_batched(fn, f"reward {label!r}", observation_space, action_space, step=True)
    return fn
