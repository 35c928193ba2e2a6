"""Method ``pbrl``: PEBBLE-style preference-based RL with a simulated teacher (partial
return, regret or hierarchical); the loop itself is :class:`~.loop.PreferenceLoop`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rewarddesign.errors import ParameterError, unknown
from rewarddesign.methods.pbrl.loop import LoopParams, PreferenceLoop
from rewarddesign.preferences import (
    CriticOracle,
    HierarchicalTeacher,
    PartialReturnTeacher,
    RegretTeacher,
)
from rewarddesign.task.spec import TaskSpec

TEACHERS = ("partial-return", "regret", "hierarchical")


@dataclass(frozen=True)
class PbrlParams(LoopParams):
    """Parameters of ``pbrl``: the loop's (:class:`~.loop.LoopParams`) and its teacher.

    Attributes:
        teacher: ``"partial-return"``, ``"regret"`` (an expert's critic as the oracle:
            ``teacher_params.expert`` is the folder of ``rewarddesign expert train``) or
            ``"hierarchical"`` (the task's HERON ranking).
        teacher_params: Options of the teacher (``beta``, ``eps_mistake``, ``eps_equal``;
            partial return also ``myopic_gamma``, ``eps_skip``; regret also ``expert``,
            ``n_action_samples`` and ``form``); the margin of ``eps_skip`` and
            ``eps_equal`` comes from the episodes seen so far.
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

    def validate(self, task: TaskSpec, agent: str) -> None:
        if self.params.teacher not in TEACHERS:
            raise unknown(f"{self.name} teacher", self.params.teacher, TEACHERS)
        super().validate(task, agent)

    def teacher(self, task: TaskSpec, margin: float | None) -> Any:
        """The teacher for a task (``margin`` feeds B-Pref's skip/equal thresholds)."""
        if self.params.teacher == "hierarchical":
            return HierarchicalTeacher.from_task(task)
        opts = dict(self.params.teacher_params)
        if opts.get("eps_skip") or opts.get("eps_equal"):
            opts["margin"] = margin
        try:
            if self.params.teacher == "regret":
                oracle = self._critic(
                    task, opts.pop("expert", None), opts.pop("n_action_samples", 10)
                )
                return RegretTeacher(oracle, oracle.discount, **opts)
            return PartialReturnTeacher(**opts)
        except TypeError as exc:
            raise ParameterError(f"pbrl teacher_params {opts!r}: {exc}.") from exc

    def _critic(self, task: TaskSpec, expert: Any, n_action_samples: Any) -> CriticOracle:
        """The expert's critic as the regret oracle (loaded once per run)."""
        if not expert:
            raise ParameterError(
                "pbrl teacher 'regret' needs teacher_params.expert, the folder of an expert "
                f"for {task.id!r} (train one with `rewarddesign expert train {task.id}`)."
            )
        key = (str(expert), n_action_samples)
        if getattr(self, "_critic_key", None) != key:
            self._oracle = CriticOracle.from_dir(
                expert, task=task.id, n_action_samples=n_action_samples
            )
            self._critic_key = key
        return self._oracle
