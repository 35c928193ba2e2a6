"""The run contract: a :class:`RunSpec` (pure data) goes in, a :class:`RunResult` comes out.

Both round-trip through JSON, so a process pool, a Ray worker or a results store can
carry them. ``RunSpec`` holds names and numbers only; the registries resolve them when
the run starts.

Example:
    >>> from rewarddesign.contract.runspec import RunSpec
    >>> spec = RunSpec(task="classic/Pendulum-v1", method="true", agent="sac", seed=0, budget=2000)
    >>> RunSpec.from_json(spec.to_json()) == spec
    True
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from rewarddesign.common.checks import check_int, check_keys, check_seed, require_mapping
from rewarddesign.errors import SpecError


@dataclass(frozen=True)
class EvalSpec:
    """When and how the runner evaluates the policy on the task's true reward.

    Attributes:
        every: Evaluate every this many env steps; None means budget // 10.
        episodes: Deterministic episodes per evaluation.
        seed: Base seed of the evaluation episodes (episode i uses seed + i), kept
            fixed across evaluations so curve points are comparable.
    """

    every: int | None = None
    episodes: int = 5
    seed: int = 1_000_000

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalSpec:
        """Build from plain data, rejecting unknown keys."""
        data = require_mapping(data, "eval settings")
        check_keys(data, "eval settings", {f.name for f in dataclasses.fields(cls)})
        return cls(**data)

    def validate(self) -> None:
        """Raise :class:`ParameterError` on a non-positive interval or episode count, or a
        seed whose episodes' seeds leave ``[0, 2**32)``."""
        if self.every is not None:
            check_int(self.every, "eval every", 1)
        check_int(self.episodes, "eval episodes", 1)
        check_seed(self.seed, "eval seed", count=self.episodes)  # episode i: seed + i


@dataclass(frozen=True)
class RunSpec:
    """One run: a task, a reward method, an agent, a seed and a budget of env steps.

    Attributes:
        task: Task id, e.g. ``"classic/Pendulum-v1"``.
        method: Reward method name, e.g. ``"true"`` or ``"blend"``.
        agent: Agent name (``"sac"``, ``"td3"``, ``"ppo"``, or a method's own agent).
        seed: Random seed of the run.
        budget: Training budget in environment steps (on-policy agents round up to
            whole rollouts; ``RunResult.env_steps`` reports what was used).
        method_params: Parameters of the method (checked against its Params dataclass).
        agent_preset: Named preset from the agent spec (e.g. ``"fast"``), or None.
        agent_overrides: Agent hyperparameters overriding the spec's.
        eval: Evaluation settings.
    """

    task: str
    method: str
    agent: str
    seed: int = 0
    budget: int = 20_000
    method_params: dict[str, Any] = field(default_factory=dict)
    agent_preset: str | None = None
    agent_overrides: dict[str, Any] = field(default_factory=dict)
    eval: EvalSpec = field(default_factory=EvalSpec)

    def __hash__(self) -> int:  # dict fields make the default hash fail
        return hash(self.to_json())

    def validate(self) -> None:
        """Check the numbers; names are checked by the registries when the run starts."""
        for name in ("task", "method", "agent"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise SpecError(
                    f"run spec {name} must be a non-empty string, got {getattr(self, name)!r}."
                )
        check_seed(self.seed, "seed")
        check_int(self.budget, "budget", 1)
        self.eval.validate()

    @property
    def eval_every(self) -> int:
        """The evaluation interval in env steps, resolved from ``eval.every``."""
        return self.eval.every if self.eval.every is not None else max(1, self.budget // 10)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-safe)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        """Inverse of :meth:`to_dict`; rejects unknown keys."""
        known = {f.name for f in dataclasses.fields(cls)}
        extra = set(data) - known
        if extra:
            raise SpecError(f"unknown run spec key(s) {sorted(extra)}; valid: {sorted(known)}.")
        data = dict(data)
        data["eval"] = EvalSpec.from_dict(data.get("eval") or {})
        return cls(**data)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys), stable for hashing."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True)
class EvalPoint:
    """One evaluation: the mean true return over deterministic episodes at an env step,
    and the mean per-episode sum of each reward factor (``factors``, by name)."""

    step: int
    mean_return: float
    returns: list[float]
    success_rate: float | None = None
    factors: dict[str, float] = field(default_factory=dict)


def _json_float(x: float | None) -> float | str | None:
    # JSON has no NaN/inf; keep them as strings so a round trip is exact.
    if x is None or math.isfinite(x):
        return x
    return repr(float(x))


@dataclass
class RunResult:
    """What a run produced.

    Attributes:
        spec: The run spec.
        curve: Evaluations on the true reward, in step order.
        final_return: Mean true return of the last evaluation.
        final_success: Success rate of the last evaluation, or None where undefined.
        series: Named extra series, name -> list of (env step, value).
        env_steps: Env steps used for training.
        labels_used: Preference labels charged to the feedback budget.
        wall_time: Seconds from start to end of the run.
        device: Torch device the agent ran on.
        versions: Package versions (rewarddesign, gymnasium, torch, ...).
    """

    spec: RunSpec
    curve: list[EvalPoint]
    final_return: float
    final_success: float | None = None
    series: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    env_steps: int = 0
    labels_used: int = 0
    wall_time: float = 0.0
    device: str = "cpu"
    versions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data, JSON-safe form."""
        return {
            "spec": self.spec.to_dict(),
            "curve": [
                {
                    **dataclasses.asdict(p),
                    "mean_return": _json_float(p.mean_return),
                    "returns": [_json_float(r) for r in p.returns],
                    "factors": {k: _json_float(v) for k, v in p.factors.items()},
                }
                for p in self.curve
            ],
            "final_return": _json_float(self.final_return),
            "final_success": self.final_success,
            "series": {
                k: [[int(s), _json_float(v)] for s, v in pts] for k, pts in self.series.items()
            },
            "env_steps": self.env_steps,
            "labels_used": self.labels_used,
            "wall_time": self.wall_time,
            "device": self.device,
            "versions": dict(self.versions),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        curve = [
            EvalPoint(
                step=int(p["step"]),
                mean_return=float(p["mean_return"]),
                returns=[float(r) for r in p["returns"]],
                success_rate=p.get("success_rate"),
                factors={k: float(v) for k, v in p.get("factors", {}).items()},
            )
            for p in data.pop("curve")
        ]
        series = {k: [(int(s), float(v)) for s, v in pts] for k, pts in data.pop("series").items()}
        return cls(
            spec=RunSpec.from_dict(data.pop("spec")),
            curve=curve,
            series=series,
            final_return=float(data.pop("final_return")),
            **data,
        )

    def to_json(self, indent: int | None = None) -> str:
        """JSON text of the result."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunResult:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))
