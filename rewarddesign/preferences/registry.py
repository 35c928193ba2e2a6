"""The teachers by name, built one way for every caller: ``rewarddesign label`` and the
``pbrl`` method both go through :func:`make_teacher`, so the same options give the same
teacher, and the same bad option the same error.

========================  ==========================================================
teacher                   options
========================  ==========================================================
``"partial-return"``      ``beta``, ``myopic_gamma``, ``eps_mistake``, ``eps_skip``,
                          ``eps_equal`` (:class:`PartialReturnTeacher`)
``"regret"``              ``expert``, ``n_action_samples``, ``discount``, ``beta``,
                          ``eps_mistake``, ``eps_equal``, ``form``
                          (:class:`RegretTeacher`; the oracle is an expert's critic
                          where ``expert`` is given, else value iteration, exact on a
                          tabular task)
``"hierarchical"``        none: the ranking is the task's ``heron:`` section
                          (:class:`HierarchicalTeacher`)
========================  ==========================================================
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rewarddesign.common.checks import check_probability
from rewarddesign.errors import ParameterError, unknown
from rewarddesign.preferences.oracles import CriticOracle, ValueIterationOracle, is_tabular
from rewarddesign.preferences.teachers import (
    HierarchicalTeacher,
    PartialReturnTeacher,
    RegretTeacher,
    Teacher,
)
from rewarddesign.task.registry import task_ref

if TYPE_CHECKING:
    from rewarddesign.task.spec import TaskSpec

#: The regret discount of value iteration when no ``discount`` option is given (the
#: default of ``rewarddesign label --discount``); an expert's critic brings its own.
DEFAULT_DISCOUNT = 0.99
#: Actions an expert's critic samples per state for ``V`` (CriticOracle's default).
DEFAULT_ACTION_SAMPLES = 10

#: Built oracles by their source; see :func:`make_teacher`'s ``oracles``.
Oracles = MutableMapping[tuple[Any, ...], Any]


@dataclass(frozen=True)
class TeacherBuilder:
    """How one teacher is built.

    Attributes:
        options: The option names the teacher takes.
        build: ``build(task, margin, oracles, options) -> Teacher`` with ``options``
            holding only names of ``options``.

    Example:
        >>> from rewarddesign.preferences import TEACHERS
        >>> TEACHERS["partial-return"].options
        ('beta', 'myopic_gamma', 'eps_mistake', 'eps_skip', 'eps_equal')
    """

    options: tuple[str, ...]
    build: Callable[[TaskSpec, float | None, Oracles, dict[str, Any]], Teacher]


def _partial_return(
    task: TaskSpec, margin: float | None, oracles: Oracles, options: dict[str, Any]
) -> Teacher:
    return PartialReturnTeacher(**options, margin=margin)


def _regret(
    task: TaskSpec, margin: float | None, oracles: Oracles, options: dict[str, Any]
) -> Teacher:
    opts = dict(options)
    expert, samples = opts.pop("expert", None), opts.pop("n_action_samples", None)
    discount = opts.pop("discount", None)
    if discount is not None:
        discount = check_probability(discount, "regret teacher: discount")
    if expert:  # continuous control: the expert's critic, at the expert's discount
        if not isinstance(expert, str | os.PathLike):
            raise ParameterError(
                f"regret teacher: expert must be the folder of an expert, got {expert!r}; "
                f"train one with `rewarddesign expert train {task_ref(task)}`."
            )
        samples = DEFAULT_ACTION_SAMPLES if samples is None else samples
        # repr: the key must hash whatever was passed (CriticOracle checks the value)
        key = ("critic", task.id, str(expert), repr(samples))
        if key not in oracles:  # loading an expert takes seconds: once per cache
            oracles[key] = CriticOracle.from_dir(expert, task=task.id, n_action_samples=samples)
        oracle = oracles[key]
        # a discount other than the expert's is refused by RegretTeacher
        discount = oracle.discount if discount is None else discount
    else:
        if samples is not None:
            raise ParameterError(
                f"regret teacher: n_action_samples ({samples!r}) is for an expert's critic; "
                "pass expert too, or drop it (value iteration is exact)."
            )
        discount = DEFAULT_DISCOUNT if discount is None else discount
        key = ("value-iteration", task.id, discount)
        if key not in oracles:
            oracles[key] = _value_iteration(task, discount)
        oracle = oracles[key]
    return RegretTeacher(oracle, discount, margin=margin, **opts)


def _value_iteration(task: TaskSpec, discount: float) -> ValueIterationOracle:
    """The exact oracle of a tabular task; a clear error naming the fix elsewhere."""
    from rewarddesign.task.registry import make

    env = make(task)
    try:
        if not is_tabular(env):
            raise ParameterError(
                f"the regret teacher on {task.id!r} needs teacher_params.expert (pbrl; "
                "--expert of `rewarddesign label`), the folder of an expert for the task: "
                "value iteration applies to tabular tasks only. Train one with "
                f"`rewarddesign expert train {task_ref(task)}`."
            )
        return ValueIterationOracle.from_env(env, discount)
    finally:
        env.close()


def _hierarchical(
    task: TaskSpec, margin: float | None, oracles: Oracles, options: dict[str, Any]
) -> Teacher:
    return HierarchicalTeacher.from_task(task)


#: Every teacher by name, in the order the command line lists them.
TEACHERS: dict[str, TeacherBuilder] = {
    "partial-return": TeacherBuilder(
        ("beta", "myopic_gamma", "eps_mistake", "eps_skip", "eps_equal"), _partial_return
    ),
    "regret": TeacherBuilder(
        (
            "expert",
            "n_action_samples",
            "discount",
            "beta",
            "eps_mistake",
            "eps_equal",
            "form",
        ),
        _regret,
    ),
    "hierarchical": TeacherBuilder((), _hierarchical),
}


def check_teacher_options(name: str, options: Mapping[str, Any]) -> None:
    """Raise if ``name`` is no teacher or ``options`` holds a name it does not take.

    Cheap (nothing is built); :func:`make_teacher` calls it first.

    Raises:
        UnknownNameError: No teacher ``name``.
        ParameterError: An option the teacher does not take; the message lists the ones
            it does.

    Example:
        >>> check_teacher_options("partial-return", {"beta": 1.0, "eps_skip": 0.1})
    """
    if name not in TEACHERS:
        raise unknown("teacher", name, TEACHERS)
    valid = TEACHERS[name].options
    for key in sorted(set(options) - set(valid)):
        others = [n for n, b in TEACHERS.items() if key in b.options]
        if others:
            plural = "s" if len(others) > 1 else ""
            hint = f"{key!r} is an option of the {' and '.join(others)} teacher{plural}."
        elif not valid:
            hint = f"The {name} teacher takes no options."
        else:
            hint = ""
        raise ParameterError(str(unknown(f"option of the {name!r} teacher", key, valid, hint)))


def make_teacher(
    name: str,
    task: TaskSpec | str,
    /,
    *,
    margin: float | None = None,
    oracles: Oracles | None = None,
    **options: Any,
) -> Teacher:
    """The teacher ``name`` for a task, with its options.

    Args:
        name: A key of :data:`TEACHERS`.
        task: The task (spec or id) the segments come from: the regret teacher's
            oracle and the hierarchical teacher's ranking are the task's.
        margin: B-Pref's margin for ``eps_equal`` and ``eps_skip`` (required where one
            is set; :func:`~rewarddesign.preferences.margin_from_rewards`).
        oracles: A cache of the regret teacher's oracles, keyed by their source: pass
            the same mapping across calls to build each once (an expert's critic takes
            seconds to load, value iteration a moment). Default: no cache.
        **options: The teacher's options (see the module docs). Regret: with
            ``expert`` (a folder written by ``rewarddesign expert train``) the expert's
            :class:`CriticOracle` and its discount; without, the exact
            :class:`ValueIterationOracle` of a tabular task at ``discount`` (default
            :data:`DEFAULT_DISCOUNT`).

    Returns:
        The teacher.

    Raises:
        UnknownNameError: No teacher ``name``.
        ParameterError: An option the teacher does not take or a bad value; regret
            without ``expert`` on a task value iteration does not apply to.

    Example:
        >>> teacher = make_teacher("regret", "gridworld/delivery", beta=1.0)
        >>> type(teacher).__name__, type(teacher.oracle).__name__, teacher.discount
        ('RegretTeacher', 'ValueIterationOracle', 0.99)
    """
    check_teacher_options(name, options)
    if isinstance(task, str):
        from rewarddesign.task.registry import task_spec

        task = task_spec(task)
    return TEACHERS[name].build(task, margin, {} if oracles is None else oracles, options)


__all__ = [
    "DEFAULT_DISCOUNT",
    "TEACHERS",
    "TeacherBuilder",
    "check_teacher_options",
    "make_teacher",
]
