"""A population of simulated users: U users drawn from a task's personas, each labelling
its own pairs of a fixed offline dataset with its persona's reward and noise.

Real feedback comes from many people who want different things (MaxMin-RLHF, Chakraborty
et al. 2024; VPL, Poddar et al. 2024). A :class:`TeacherPopulation` makes that testable:
user ``u`` is a partial-return teacher on its persona's reward (the task spec's
``personas:``, or weights drawn from a Dirichlet), and its labels carry its id in the
dataset's labeller table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from rewarddesign.common.checks import check_int, check_number
from rewarddesign.errors import ParameterError, unknown
from rewarddesign.preferences.dataset import PreferenceDataset
from rewarddesign.preferences.labellers import Labeller
from rewarddesign.preferences.segments import Pairs, Segments, random_pairs
from rewarddesign.preferences.teachers import PartialReturnTeacher, margin_from_rewards
from rewarddesign.task.spec import PERSONA_NOISE, PersonaSpec, RewardSpec, TaskSpec


def persona_rewards(segments: Segments, persona: PersonaSpec, names: Sequence[str]) -> np.ndarray:
    """``(n, H)`` rewards of the persona on each step of ``segments`` (0 on padding)."""
    rewards = persona.reward.compute(segments.factors, names)
    return np.where(segments.mask, rewards, 0.0)


def _counts(proportions: Sequence[float], users: int) -> list[int]:
    """Users per persona: ``users * p`` rounded so the counts sum to ``users`` (the largest
    remainders get the leftover users)."""
    exact = np.asarray(proportions, dtype=np.float64) * users
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: users - counts.sum()]:
        counts[i] += 1
    return counts.tolist()


@dataclass(frozen=True)
class User:
    """One simulated user: its labeller entry and the persona it labels by."""

    labeller: Labeller
    persona: PersonaSpec


class TeacherPopulation:
    """U simulated users drawn from a task's personas by given proportions.

    Args:
        task: The task spec (its ``personas:`` and factor names).
        proportions: Fraction of users per persona name (summing to 1), e.g.
            ``{"left": 0.8, "right": 0.2}``; default: equal shares of every persona.
        users: Number of users U (each persona's count is ``U * p``, rounded).
        personas: Personas to draw from instead of the task's (e.g. from
            :meth:`dirichlet`).

    Example:
        >>> population = TeacherPopulation("gridworld/two-goals", {"left": 0.8, "right": 0.2},
        ...                                users=10)
        >>> [u.persona.name for u in population.users].count("right")
        2
    """

    def __init__(
        self,
        task: TaskSpec | str,
        proportions: Mapping[str, float] | None = None,
        users: int = 20,
        personas: Mapping[str, PersonaSpec] | None = None,
    ) -> None:
        if isinstance(task, str):
            from rewarddesign.task.registry import task_spec

            task = task_spec(task)
        self.task = task
        pool = dict(task.personas if personas is None else personas)
        if not pool:
            raise ParameterError(
                f"task {task.id!r} declares no personas; add a `personas:` section to its "
                "spec (envs/README.md) or pass personas=TeacherPopulation.dirichlet(...)."
            )
        check_int(users, "TeacherPopulation: users", 1)
        if proportions is None:
            proportions = {name: 1.0 / len(pool) for name in pool}
        for name, share in proportions.items():
            if name not in pool:
                raise unknown("persona", name, pool)
            check_number(share, f"TeacherPopulation: proportion of {name!r}", 0, 1)
        total = float(sum(proportions.values()))
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ParameterError(
                f"TeacherPopulation: proportions {dict(proportions)} sum to {total:g}; "
                "they are fractions of the users and must sum to 1."
            )
        self.proportions = dict(proportions)
        self.users: list[User] = []
        for name, count in zip(
            proportions, _counts(list(proportions.values()), users), strict=True
        ):
            for i in range(count):
                label = Labeller(f"{name}-{i}", persona=name)
                self.users.append(User(label, pool[name]))
        self.teachers = {name: self._teacher(pool[name]) for name in proportions}

    @staticmethod
    def dirichlet(
        task: TaskSpec | str,
        n: int,
        rng: np.random.Generator,
        factors: Sequence[str] | None = None,
        alpha: float = 1.0,
        noise: Mapping[str, float] | None = None,
    ) -> dict[str, PersonaSpec]:
        """``n`` personas ``dirichlet-i`` whose rewards weigh the factors by a draw from a
        Dirichlet(alpha), each weight times its factor's sign (a cost is subtracted).

        Pass the result as ``personas`` (and proportions over its names).
        """
        if isinstance(task, str):
            from rewarddesign.task.registry import task_spec

            task = task_spec(task)
        check_int(n, "dirichlet personas: n", 1)
        check_number(alpha, "dirichlet personas: alpha", 0, low_open=True)
        names = list(task.factor_names if factors is None else factors)
        for name in names:
            if name not in task.factor_names:
                raise unknown("factor", name, task.factor_names)
        signs = {f.name: f.sign for f in task.factors}
        draws = rng.dirichlet(np.full(len(names), float(alpha)), size=n)
        return {
            f"dirichlet-{i}": PersonaSpec(
                f"dirichlet-{i}",
                RewardSpec(
                    "weighted_sum",
                    {k: float(signs[k] * w) for k, w in zip(names, row, strict=True)},
                ),
                dict(noise or {}),
            )
            for i, row in enumerate(draws)
        }

    def _teacher(self, persona: PersonaSpec) -> dict[str, Any]:
        for key in persona.noise:
            if key not in PERSONA_NOISE:
                raise unknown(f"noise option of persona {persona.name!r}", key, PERSONA_NOISE)
        PartialReturnTeacher(**{k: v for k, v in persona.noise.items()}, margin=1.0)  # checks
        return dict(persona.noise)

    def persona_pairs(self, pairs: Pairs, persona: PersonaSpec) -> Pairs:
        """``pairs`` with their rewards replaced by the persona's."""
        names = self.task.factor_names
        return Pairs(
            *(
                replace(seg, rewards=persona_rewards(seg, persona, names))
                for seg in (pairs.first, pairs.second)
            )
        )

    def label(
        self, segments: Segments, pairs_per_user: int, rng: np.random.Generator
    ) -> PreferenceDataset:
        """Each user draws ``pairs_per_user`` pairs of ``segments`` and labels them.

        User ``u`` uses the ``u``-th of ``rng.spawn(U)`` for both its draw and its
        labels, so one user's labels do not depend on the others'. B-Pref's margin of a
        persona (for ``eps_equal`` and ``eps_skip``) is its mean reward per step over
        ``segments`` times H.

        Returns:
            A dataset whose labeller table is the users, in order, on this task.
        """
        check_int(pairs_per_user, "TeacherPopulation.label: pairs_per_user", 1)
        names = self.task.factor_names
        if segments.factors.shape[-1] != len(names):
            raise ParameterError(
                f"segments carry {segments.factors.shape[-1]} factors, task {self.task.id!r} "
                f"has {len(names)} ({list(names)}); cut them from this task's experience."
            )
        data = PreferenceDataset([u.labeller for u in self.users], task=self.task.id)
        margins: dict[str, float] = {}
        for uid, (user, stream) in enumerate(
            zip(self.users, rng.spawn(len(self.users)), strict=True)
        ):
            persona = user.persona
            if persona.name not in margins:
                steps = persona_rewards(segments, persona, names)[segments.mask]
                margins[persona.name] = margin_from_rewards(steps, segments.H)
            teacher = PartialReturnTeacher(
                **self.teachers[persona.name], margin=margins[persona.name]
            )
            pairs = random_pairs(segments, pairs_per_user, stream)
            record = teacher.label(self.persona_pairs(pairs, persona), stream)
            data.append(pairs, record.by(uid))
        return data

    def groups(self) -> np.ndarray:
        """Each user's persona as an index into :attr:`proportions` (``(U,)`` int)."""
        order = list(self.proportions)
        return np.array([order.index(u.persona.name) for u in self.users], dtype=np.int64)


__all__ = ["TeacherPopulation", "User", "persona_rewards"]
