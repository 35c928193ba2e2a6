"""The suite-wide invariants of a task, checked on seeded rollouts: ``rd.check_task`` and
``rewarddesign check TASK`` (as Gymnasium's ``check_env`` does for an env).

Every packaged task passes them (tests/test_tasks.py runs the same functions); a spec file
of your own gets its declared ``reward`` checked against the env's own reward when it
loads (:func:`reward_identity` on a short rollout, once per file content) and its
observation indices checked against the observation space when its env is built
(:func:`check_observation_indices`).

Example:
    >>> import rewarddesign as rd
    >>> [r.name for r in rd.check_task("classic/Pendulum-v1") if r.passed][-2:]
    ['success type', 'transition factors']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign.common.checks import check_int, is_int
from rewarddesign.errors import SpecError
from rewarddesign.task.registry import make, task_spec
from rewarddesign.task.spec import TaskSpec

#: A rollout's policy ``(obs, rng) -> action``, or None for the seeded action space's samples.
Policy = Callable[[Any, np.random.Generator], Any]

#: Tolerance of the reward identity (the formula of the factors vs the env's reward).
REWARD_ATOL = 1e-6


@dataclass
class Rollout:
    """What a seeded rollout of a task's env returned, step by step.

    Attributes:
        first: A copy of the first observation (to see that later steps left it alone).
        first_ref: The first observation object itself.
        observations: Every observation returned by ``step``; ``resets[i]`` is the one an
            unseeded reset returned after step ``i`` ended an episode (else None).
        rewards: The env's rewards.
        factors: ``info["factors"]`` of every step.
        true_rewards: ``info["true_reward"]`` of every step.
        successes: ``info["success"]`` of every step (None where absent).
        ends: Whether the step ended its episode.
        actions: The actions taken.
    """

    first: np.ndarray
    first_ref: Any
    observations: list[Any] = field(default_factory=list)
    resets: list[Any] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    factors: list[np.ndarray] = field(default_factory=list)
    true_rewards: list[float] = field(default_factory=list)
    successes: list[Any] = field(default_factory=list)
    ends: list[bool] = field(default_factory=list)
    actions: list[Any] = field(default_factory=list)
    observation_space: gym.Space | None = None

    def before(self) -> list[Any]:
        """The observation before each step (the first, or the last step's, or a reset's)."""
        out = [self.first]
        for obs, reset in zip(self.observations[:-1], self.resets[:-1], strict=True):
            out.append(obs if reset is None else reset)
        return out


def record(task: str | TaskSpec, steps: int, seed: int, policy: Policy | None = None) -> Rollout:
    """Run ``steps`` steps of the task's env from ``reset(seed=seed)``, the action space
    seeded with ``seed`` (no action repeat: the reward identity holds step by step).

    Args:
        task: A task id, a spec file's path or a spec.
        steps: Env steps (>= 1); an ended episode is followed by an unseeded reset.
        seed: Seed of the reset, the action space and ``policy``'s generator.
        policy: ``(obs, rng) -> action`` or None (samples of the action space); it may
            return None for a sample.

    Returns:
        The :class:`Rollout`.
    """
    check_int(steps, "rollout steps", 1)
    env = make(task, action_repeat=1)
    try:
        env.action_space.seed(seed)
        rng = np.random.default_rng(seed)
        obs, _ = env.reset(seed=seed)
        out = Rollout(first=np.array(obs, copy=True), first_ref=obs)
        out.observation_space = env.observation_space
        for _ in range(steps):
            action = None if policy is None else policy(obs, rng)
            action = env.action_space.sample() if action is None else action
            out.actions.append(np.array(action, copy=True))
            obs, reward, terminated, truncated, info = env.step(action)
            out.observations.append(obs)
            out.rewards.append(float(reward))
            out.factors.append(info["factors"])
            out.true_rewards.append(info["true_reward"])
            out.successes.append(info.get("success"))
            out.ends.append(bool(terminated or truncated))
            out.resets.append(env.reset()[0] if terminated or truncated else None)
            if out.resets[-1] is not None:
                obs = out.resets[-1]
        return out
    finally:
        env.close()


def _where(spec: TaskSpec) -> str:
    return f"task spec {spec.path!r} (id {spec.id!r})" if spec.path else f"task {spec.id!r}"


def reward_identity(spec: TaskSpec, rollout: Rollout) -> str:
    """The declared ``reward`` formula of the factors equals the env's own reward at every
    step of ``rollout`` (to :data:`REWARD_ATOL`), batched and step by step alike.

    Raises:
        SpecError: Naming the first step where they differ and both numbers.
    """
    factors = np.array(rollout.factors)
    formed = np.asarray(spec.reward.compute(factors, spec.factor_names), dtype=np.float64)
    rewards = np.array(rollout.rewards)
    bad = np.flatnonzero(~(np.abs(formed - rewards) <= REWARD_ATOL))
    if len(bad):
        i = int(bad[0])
        values = zip(spec.factor_names, factors[i], strict=True)
        names = ", ".join(f"{n}={v:.6g}" for n, v in values)
        raise SpecError(
            f"{_where(spec)}: its reward formula gives {formed[i]:.6g} at step {i} of a seeded "
            f"random rollout but the env's reward is {rewards[i]:.6g} (factors {names}); fix "
            "`reward` in the spec so it reproduces the env's reward from the factors."
        )
    one = spec.reward.compute(factors[0], spec.factor_names)
    if not abs(float(one) - formed[0]) <= 1e-12:
        raise SpecError(
            f"{_where(spec)}: its reward formula gives {float(one)!r} on one step but "
            f"{formed[0]!r} on a batch; it must be vectorised over leading dimensions."
        )
    return f"declared reward == env reward on {len(rewards)} steps (atol {REWARD_ATOL:g})"


APPROXIMATE_MIN_CORRELATION = 0.9
APPROXIMATE_MIN_AGREEMENT = 0.99
"""How closely an ``approximate: true`` transition function must follow its factor: a
Pearson correlation of 0.9 (a speed from a velocity), or the same value on 99% of the
steps (an indicator that differs only on a region's edge)."""


def transition_factors(spec: TaskSpec, rollout: Rollout) -> str:
    """Each declared ``transition:`` function gives its factor's ``info`` value on the
    rollout's transitions: to :data:`REWARD_ATOL`, or, where marked approximate, as
    closely as :data:`APPROXIMATE_MIN_CORRELATION` says.

    Raises:
        SpecError: Naming the factor, the step and both values (or the correlation).
    """
    if not spec.transitions:
        return "no transition functions declared"
    obs, nxt = np.array(rollout.before()), np.array(rollout.observations)
    actions, factors = np.array(rollout.actions), np.array(rollout.factors)
    notes = []
    for name, fn in spec.transitions.items():
        want = factors[:, spec.factor_names.index(name)]
        got = np.broadcast_to(np.asarray(fn(obs, actions, nxt), dtype=np.float64), want.shape)
        same = np.abs(got - want) <= REWARD_ATOL
        if fn.approximate:
            rho = float(np.corrcoef(got, want)[0, 1]) if want.std() > 0 else float("nan")
            agree = float(same.mean())
            if not (rho >= APPROXIMATE_MIN_CORRELATION or agree >= APPROXIMATE_MIN_AGREEMENT):
                raise SpecError(
                    f"{_where(spec)}: factor {name!r}'s approximate transition function "
                    f"correlates {rho:.3f} with its info value on a seeded random rollout and "
                    f"agrees on {agree:.1%} of the steps (needs a correlation >= "
                    f"{APPROXIMATE_MIN_CORRELATION} or {APPROXIMATE_MIN_AGREEMENT:.0%} "
                    "agreement); fix its `transition:`."
                )
            notes.append(f"{name} ~ (rho {rho:.3f}, same on {agree:.1%})")
            continue
        bad = np.flatnonzero(~same)
        if len(bad):
            i = int(bad[0])
            raise SpecError(
                f"{_where(spec)}: factor {name!r}'s transition function gives {got[i]:.6g} at "
                f"step {i} of a seeded random rollout, its info value is {want[i]:.6g}; fix "
                "its `transition:` in the spec."
            )
        notes.append(f"{name} ==")
    return f"transition functions on {len(want)} steps: {', '.join(notes)}"


def seeded_resets(spec: TaskSpec, rollout: Rollout, again: Rollout) -> str:
    """Two rollouts with the same seed return the same observations and rewards.

    Raises:
        SpecError: Naming the first step where they differ.
    """
    for i, (a, b, ra, rb) in enumerate(
        zip(again.observations, rollout.observations, again.rewards, rollout.rewards, strict=True)
    ):
        if not (np.array_equal(a, b) and ra == rb):
            raise SpecError(
                f"{_where(spec)}: two rollouts with the same seeds differ at step {i}; the env "
                "must be reproducible from reset(seed=...) and a seeded action space."
            )
    if not np.array_equal(rollout.first, again.first):
        raise SpecError(f"{_where(spec)}: reset(seed=...) returns different observations.")
    return f"{len(rollout.rewards)} steps reproduced from the same seeds"


def finite_factors(spec: TaskSpec, rollout: Rollout) -> str:
    """Every step's factors are a finite float64 vector, one per declared factor, and
    its true reward is finite.

    Raises:
        SpecError: Naming the step and the bad value.
    """
    k = len(spec.factors)
    for i, (f, true) in enumerate(zip(rollout.factors, rollout.true_rewards, strict=True)):
        if f.shape != (k,) or f.dtype != np.float64 or not np.all(np.isfinite(f)):
            raise SpecError(
                f"{_where(spec)}: step {i}'s factors are {f!r} (dtype {f.dtype}); they must "
                f"be {k} finite numbers ({list(spec.factor_names)})."
            )
        if not np.isfinite(true):
            raise SpecError(f"{_where(spec)}: step {i}'s true reward is {true!r}, not finite.")
    return f"{k} factors finite on {len(rollout.factors)} steps"


def float32_observations(spec: TaskSpec, rollout: Rollout) -> str:
    """A Box observation space gives float32 arrays of its shape, a fresh array every
    step (a step never writes into an observation returned before).

    Raises:
        SpecError: Naming the step and what is wrong.
    """
    space = rollout.observation_space
    if not isinstance(space, gym.spaces.Box):
        return f"not a Box observation space ({type(space).__name__}): nothing to check"
    if space.dtype != np.float32:
        raise SpecError(
            f"{_where(spec)}: the observation space's dtype is {space.dtype}, not float32; "
            "add `adapter: float32` to the spec's env."
        )
    previous = rollout.first_ref
    for i, obs in enumerate(rollout.observations):
        if not isinstance(obs, np.ndarray) or obs.dtype != np.float32 or obs.shape != space.shape:
            raise SpecError(
                f"{_where(spec)}: step {i} returned an observation of dtype "
                f"{getattr(obs, 'dtype', type(obs).__name__)} and shape {np.shape(obs)}; the "
                f"space says float32 {space.shape} (add `adapter: float32` to the spec's env)."
            )
        if np.shares_memory(obs, previous):
            raise SpecError(
                f"{_where(spec)}: step {i} returned the same array as the step before; an env "
                "must return a fresh observation every step (add `adapter: float32`)."
            )
        previous = obs if rollout.resets[i] is None else rollout.resets[i]
    if not np.array_equal(rollout.first, rollout.first_ref):
        raise SpecError(f"{_where(spec)}: a later step wrote into the first observation.")
    return f"float32 {space.shape}, a fresh array on each of {len(rollout.observations)} steps"


def success_type(spec: TaskSpec, rollout: Rollout) -> str:
    """Where the spec declares success, every step's ``info["success"]`` is 0.0 or 1.0.

    Raises:
        SpecError: Naming the step and the value.
    """
    if spec.success is None:
        return "no success declared: nothing to check"
    for i, s in enumerate(rollout.successes):
        if s not in (0.0, 1.0):
            raise SpecError(
                f"{_where(spec)}: step {i}'s success is {s!r}; a success indicator must be a "
                "bool (0.0 or 1.0): compare the quantity with its threshold in the spec."
            )
    return f"success is 0.0 or 1.0 on {len(rollout.successes)} steps"


@dataclass(frozen=True)
class CheckResult:
    """One invariant's outcome: its name, whether it held and what was seen."""

    name: str
    passed: bool
    detail: str


CHECK_NAMES = (
    "reward identity",
    "seeded resets",
    "finite factors",
    "float32 observations",
    "success type",
    "transition factors",
)
"""The invariants :func:`check_task` runs, in order."""


def check_task(task: str | TaskSpec, steps: int = 200, seed: int = 0) -> list[CheckResult]:
    """Run the suite-wide invariants on a task: a packaged id, a spec file's path or a spec.

    Two seeded rollouts of ``steps`` random actions: the declared reward reproduces the
    env's reward, the same seeds reproduce them, factors are finite, observations are
    fresh float32 arrays, success is 0.0 or 1.0 and declared transition functions give
    their factors.

    Args:
        task: The task.
        steps: Steps per rollout (>= 1).
        seed: Seed of the resets and the action space.

    Returns:
        One :class:`CheckResult` per name in :data:`CHECK_NAMES`.

    Raises:
        RewardDesignError: The task cannot be loaded or built at all (an unknown id, a
            malformed spec; a spec file whose reward formula is wrong fails its load).
    """
    check_int(steps, "check steps", 1)
    spec = task_spec(task, verify=False)  # the check itself reports a wrong formula
    first, again = record(spec, steps, seed), record(spec, steps, seed)
    runs: Mapping[str, Callable[[], str]] = {
        "reward identity": lambda: reward_identity(spec, first),
        "seeded resets": lambda: seeded_resets(spec, first, again),
        "finite factors": lambda: finite_factors(spec, first),
        "float32 observations": lambda: float32_observations(spec, first),
        "success type": lambda: success_type(spec, first),
        "transition factors": lambda: transition_factors(spec, first),
    }
    results = []
    for name in CHECK_NAMES:
        try:
            results.append(CheckResult(name, True, runs[name]()))
        except SpecError as exc:
            results.append(CheckResult(name, False, str(exc)))
    return results


def _index_args(args: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """The arguments of a named function that are observation indices: ``index``,
    ``*_index`` and ``indices`` (the naming every registered function follows)."""
    for key, value in args.items():
        if key == "index" or key.endswith("_index"):
            yield key, value
        elif key == "indices":
            yield from ((key, v) for v in (value if isinstance(value, list | tuple) else [value]))


def check_observation_indices(spec: TaskSpec, observation_space: gym.Space) -> None:
    """Every observation index in the spec's factor functions, potentials and success
    function lies in the observation (its last axis), so ``obs[17]`` on an 11-dim
    observation fails when the env is built, naming the factor, the index and the
    dimension, not mid-training.

    Raises:
        SpecError: An index that is no integer or lies outside the observation.
    """
    if not isinstance(observation_space, gym.spaces.Box) or not observation_space.shape:
        return  # a discrete observation has no entries to index
    dim = observation_space.shape[-1]
    named = [(f"factor {f.name!r}", f.fn, f.args) for f in spec.factors if f.fn is not None]
    named += [(f"potential {k!r}", p.fn, p.args) for k, p in spec.potentials.items()]
    named += [(f"factor {k!r} transition", t.fn, t.args) for k, t in spec.transitions.items()]
    if spec.success is not None and spec.success.fn is not None:
        named.append(("success", spec.success.fn, spec.success.args))
    for what, fn, args in named:
        for key, index in _index_args(args):
            if not is_int(index) or not -dim <= index < dim:
                raise SpecError(
                    f"{_where(spec)}: {what} (fn {fn!r}) reads observation index {key}="
                    f"{index!r}, but the observation has {dim} entries (indices 0..{dim - 1}); "
                    "fix the index in the spec."
                )


__all__ = [
    "CHECK_NAMES",
    "CheckResult",
    "Rollout",
    "check_observation_indices",
    "check_task",
    "finite_factors",
    "float32_observations",
    "record",
    "reward_identity",
    "seeded_resets",
    "success_type",
]
