"""Method ``pbrl``: PEBBLE-style preference-based RL with a simulated teacher (partial
return, regret or hierarchical); the loop itself is :class:`~.loop.PreferenceLoop`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rewarddesign.errors import unknown
from rewarddesign.methods.pbrl.loop import LoopParams, PreferenceLoop
from rewarddesign.preferences import TEACHERS, Teacher, check_teacher_options, make_teacher
from rewarddesign.task.spec import TaskSpec


@dataclass(frozen=True)
class PbrlParams(LoopParams):
    """Parameters of ``pbrl``: the loop's (:class:`~.loop.LoopParams`) and its teacher.

    Attributes:
        teacher: ``"partial-return"``, ``"regret"`` (an expert's critic as the oracle:
            ``teacher_params.expert`` is the folder of ``rewarddesign expert train``; on a
            tabular task without one, the exact values of value iteration) or
            ``"hierarchical"`` (the task's HERON ranking). Built by
            :func:`~rewarddesign.preferences.make_teacher`, as ``rewarddesign label``'s.
        teacher_params: Options of the teacher (``beta``, ``eps_mistake``, ``eps_equal``;
            partial return also ``myopic_gamma``, ``eps_skip``; regret also ``expert``,
            ``n_action_samples``, ``discount`` and ``form``; hierarchical none); the
            margin of ``eps_skip`` and ``eps_equal`` comes from the experience so far.
    """

    teacher: str = "partial-return"
    teacher_params: dict[str, Any] = field(default_factory=dict)


class Pbrl(PreferenceLoop):
    """Preference-based RL, PEBBLE-style (Lee et al. 2021), with full replay relabelling.

    Example:
        >>> import rewarddesign as rd
        >>> r = rd.run("classic/Pendulum-v1", "pbrl", "sac", seed=0, budget=600,
        ...            agent_preset="fast", eval_episodes=1, labels=20, queries=10,
        ...            interval=200, seed_steps=200, segment=20, hidden=[32, 32])
        >>> r.labels_used, [v for _, v in r.series["labels_charged"]]
        (20, [10.0, 20.0])
    """

    name = "pbrl"
    Params = PbrlParams

    def __init__(self, params: PbrlParams) -> None:
        super().__init__(params)
        # the regret teacher's oracles, built once per run (an expert's critic takes
        # seconds to load; every feedback session builds a teacher)
        self._oracles: dict[tuple[Any, ...], Any] = {}

    def validate(self, task: TaskSpec, agent: str) -> None:
        if self.params.teacher not in TEACHERS:
            raise unknown(f"{self.name} teacher", self.params.teacher, TEACHERS)
        super().validate(task, agent)

    def teacher(self, task: TaskSpec, margin: float | None) -> Teacher:
        """The teacher for a task (``margin`` feeds B-Pref's skip/equal thresholds)."""
        p = self.params
        # first: an option named like make_teacher's own keywords (margin) is an unknown one
        check_teacher_options(p.teacher, p.teacher_params)
        return make_teacher(
            p.teacher, task, margin=margin, oracles=self._oracles, **p.teacher_params
        )
