"""Method ``heron``: HERON (Bukharin et al. 2023), a reward learned from a factor ranking.

The designer ranks the task's reward factors by importance (the task spec's ``heron:``
section, or ``order``/``signs``/``sigmas`` given here). After ``seed_steps`` of random
actions, every ``interval`` env steps ``queries`` pairs are drawn uniformly from the
last ``window`` steps of experience (single transitions by default, ``segment``-step
segments when set) and labelled by the
:class:`~rewarddesign.preferences.HierarchicalTeacher`: the first factor whose
difference exceeds ``sigma_l`` times its std in the batch decides; undecided pairs are
dropped. A Bradley-Terry reward model is refitted on every decided pair so far, its
output optionally standardised, and the agent trains on it (as the paper does; the
released robotics code only uses it as a value target). Off-policy agents have their
whole replay buffer relabelled after each refit, as in ``pbrl``.

The hierarchical teacher is a program, not a person: ``labels`` only caps the pairs
asked (the run records ``labels_asked``, ``labels_charged`` and ``labels_usable``, so a
``pbrl`` baseline can be given as many usable labels as HERON decided).
"""

from __future__ import annotations

from dataclasses import dataclass

from rewarddesign.common.checks import check_int
from rewarddesign.errors import ParameterError, unknown
from rewarddesign.methods.pbrl.loop import LoopParams, PreferenceLoop
from rewarddesign.preferences import HierarchicalTeacher
from rewarddesign.task.spec import TaskSpec

HERON_INPUTS = ("obs_action", "obs_factors")


@dataclass(frozen=True)
class HeronParams(LoopParams):
    """Parameters of ``heron``: the preference loop's (:class:`~.pbrl.loop.LoopParams`), with
    HERON's defaults, and the ranking the hierarchical teacher labels by.

    Attributes:
        labels: Most pairs asked in all (the teacher is a program; this is a cap).
        queries: Pairs labelled per refit.
        interval: Env steps between refits (K).
        seed_steps: Warm-up steps before the first refit.
        segment: 1 compares single transitions (the paper's default); H > 1 compares
            H-step segments by their factor sums.
        selection: How pairs are drawn (``"uniform"``, as the paper).
        members: Reward networks (1: a single Bradley-Terry model, as the paper).
        bounded: tanh-bounded rewards (off: a transition-level model needs its range).
        order: Factor names, most important first (None: the task spec's ``heron:``).
        signs: +1 where more is better, -1 for costs (None: the spec's or the factors').
        sigmas: Margin multipliers per level (None: the spec's).
        inputs: ``"obs_action"`` or ``"obs_factors"`` (the observation and the factors,
            as the released classic-control code).
        standardize: Shift and scale the learned reward to mean 0 and std 1 over the
            recent experience after every refit (on by default here).
        window: Pairs are drawn from the last ``window`` steps per env.
    """

    labels: int = 1_000_000
    queries: int = 256
    interval: int = 1000
    seed_steps: int = 1000
    segment: int = 1
    selection: str = "uniform"
    members: int = 1
    bounded: bool = False
    reward_epochs: int = 20
    order: tuple[str, ...] | None = None
    signs: tuple[int, ...] | None = None
    sigmas: tuple[float, ...] | None = None
    inputs: str = "obs_action"
    standardize: bool = True
    window: int = 10000


class Heron(PreferenceLoop):
    """HERON: hierarchical feedback from a factor ranking, a reward model, an agent on it.

    Example:
        >>> import rewarddesign as rd
        >>> r = rd.run("classic/Pendulum-v1", "heron", "sac", seed=0, budget=600,
        ...            agent_preset="fast", eval_episodes=1, queries=64, interval=200,
        ...            seed_steps=200, hidden=[16, 16])
        >>> [v for _, v in r.series["labels_asked"]]
        [64.0, 128.0, 192.0]
    """

    name = "heron"
    Params = HeronParams

    @property
    def model_inputs(self) -> str:  # type: ignore[override]
        return self.params.inputs

    @property
    def window(self) -> int:  # type: ignore[override]
        return self.params.window

    @classmethod
    def parse_params(cls, params: dict | None) -> HeronParams:
        if params and "teacher" in params:  # a pbrl parameter; name the method that has it
            raise ParameterError(
                f"heron labels with the hierarchical teacher, got teacher={params['teacher']!r}; "
                "use method 'pbrl' for other teachers."
            )
        return super().parse_params(params)

    def validate(self, task: TaskSpec, agent: str) -> None:
        p = self.params
        if p.inputs not in HERON_INPUTS:
            raise unknown("heron inputs", p.inputs, HERON_INPUTS)
        check_int(p.window, "heron: window", p.segment)  # at least one segment
        super().validate(task, agent)

    def teacher(self, task: TaskSpec, margin: float | None = None) -> HierarchicalTeacher:
        """The hierarchical teacher: the parameters' ranking, else the task spec's."""
        rank = task.ranking(self.params.order, self.params.signs, self.params.sigmas)
        return HierarchicalTeacher(task.factor_names, rank.order, rank.signs, rank.sigmas)


__all__ = ["Heron", "HeronParams"]
