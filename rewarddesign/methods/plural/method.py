"""Method ``plural``: rewards and policies for a population of users who want different
things (MaxMin-RLHF, Chakraborty et al. 2024; VPL, Poddar et al. 2024)."""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm

from rewarddesign.common.checks import check_int
from rewarddesign.contract.evaluation import Predict
from rewarddesign.errors import ParameterError, SpecError, unknown
from rewarddesign.methods.base import ADDED, RunContext, SB3Method, sb3_predict
from rewarddesign.methods.plural.evaluation import (
    RANDOM,
    RETURN,
    conditioned,
    evaluate_groups,
    save_users,
)
from rewarddesign.methods.plural.offline import BEHAVIOURS, offline_segments
from rewarddesign.methods.plural.policies import MaxMinReward, PersonaReward
from rewarddesign.methods.plural.rewards import (
    FITS,
    FittedRewards,
    RewardSettings,
    draw_weights,
)
from rewarddesign.preferences.population import TeacherPopulation
from rewarddesign.task.registry import make
from rewarddesign.task.spec import TaskSpec
from rewarddesign.wrappers.latent import LatentConditioned
from rewarddesign.wrappers.learned import LearnedReward

REWARDS = (*FITS, "oracle")
POLICIES = ("conditioned", "maxmin")
VPL_DRAWS = ("users", "groups")
VPL_CONDITIONS = ("latent", "centre")
REWARD_INPUTS = ("obs_action", "obs", "obs_factors")  # segments carry no next obs per step


@dataclass(frozen=True)
class PluralParams:
    """Parameters of ``plural``.

    Attributes:
        reward: ``single`` (one Bradley-Terry reward of everyone's labels, the
            baseline), ``em`` (a mixture of ``clusters`` rewards, users assigned by EM),
            ``vpl`` (a reward of a latent inferred from a user's labels) or ``oracle``
            (``persona``'s true reward: the R_oracle of the normalised scores).
        policy: ``conditioned`` (the condition of the user served joins the observation:
            a cluster's one-hot for ``em``, the user's latent for ``vpl``; ``single`` and
            ``oracle`` have none) or ``maxmin`` (one unconditioned policy, each episode
            trained on the learned group whose return is lowest; ``em`` or ``vpl``).
        persona: The oracle's persona (``reward: oracle`` only).
        proportions: Share of the training users per persona (default: equal shares).
        users: Training users; each labels ``pairs_per_user`` pairs.
        pairs_per_user: Labels per training user.
        held_out: Users who are served (equal shares of the personas); each gives
            ``held_out_pairs`` labels, from which its condition is inferred.
        held_out_pairs: Labels per held-out user.
        data_steps: Env steps of the offline data.
        behaviour: Its behaviour policy: ``waypoints``, ``drift`` or ``auto`` (waypoints
            on a point task, else drift; :func:`~.offline.offline_segments`).
        segment: Steps per labelled segment.
        clusters: K of ``em`` and of ``vpl``'s groups (default: the task's personas).
        latent_dim: VPL's latent size.
        hidden: Hidden layers of the reward models (and VPL's encoder).
        reward_inputs: What the reward models read: ``obs_action``, ``obs`` (the state
            alone; on the two-goal map a model of the actions fits noise that the agent
            exploits, benchmarks/RESULTS.md) or ``obs_factors``.
        vpl_steps: VPL's gradient steps.
        group_episodes: Evaluation episodes per held-out user, at the end of the run.
        maxmin_ema: Weight of the newest episode in MaxMin's running group returns.
        vpl_draw: Whose latent conditions each training episode of a conditioned VPL
            policy: ``users`` (a training user drawn uniformly, so a group gets episodes
            in proportion to its users) or ``groups`` (a learned group drawn uniformly,
            then one of its users: a minority trains as often as the majority, as EM's
            clusters do).
        vpl_condition: What conditions a VPL policy: ``latent`` (the user's own,
            inferred from its labels) or ``centre`` (the centre of the learned group
            nearest to it: a held-out user's latent from 8 pairs is noisy and drawn
            towards the prior, the group's centre is not).
    """

    reward: str = "single"
    policy: str = "conditioned"
    persona: str | None = None
    proportions: dict[str, float] | None = None
    users: int = 20
    pairs_per_user: int = 50
    held_out: int = 20
    held_out_pairs: int = 8
    data_steps: int = 20_000
    behaviour: str = "auto"
    segment: int = 25
    clusters: int | None = None
    latent_dim: int = 2
    hidden: tuple[int, ...] = (64, 64)
    reward_inputs: str = "obs_action"
    vpl_steps: int = 1500
    group_episodes: int = 2
    maxmin_ema: float = 0.1
    vpl_draw: str = field(default="users", metadata=ADDED)
    vpl_condition: str = field(default="latent", metadata=ADDED)


class Plural(SB3Method):
    """Learn from a population of simulated users; serve each user group.

    A :class:`~rewarddesign.preferences.population.TeacherPopulation` of ``users`` users
    labels a fixed offline dataset; the reward (``single``, ``em``, ``vpl``) is fitted
    before training; the agent trains on it (conditioned, or MaxMin) for the budget. At
    the end each held-out user is served with the condition inferred from its labels,
    and the run logs each persona's mean return (``group_return/<persona>``), a random
    policy's (``group_random/<persona>``) and, for ``em`` and ``vpl``, the fraction of
    held-out users put in their persona's group (``heldout_assignment``). With a
    ``save_dir`` the held-out users' personas and conditions go to ``users.npz``
    (:func:`~.evaluation.load_users`) beside the policy.

    Example:
        >>> import rewarddesign as rd
        >>> r = rd.run("gridworld/two-goals", "plural", "ppo", seed=0, budget=256,
        ...            eval_episodes=1, agent_overrides={"n_steps": 128}, reward="em",
        ...            users=4, pairs_per_user=10, held_out=2, held_out_pairs=4,
        ...            data_steps=500, hidden=[16])
        >>> sorted(k for k in r.series if k.startswith("group_return"))
        ['group_return/left', 'group_return/right']
    """

    name = "plural"
    Params = PluralParams
    reads_personas = True

    def validate(self, task: TaskSpec, agent: str) -> None:
        p = self.params
        if not task.personas:
            raise SpecError(
                f"plural needs a task with personas; {task.id!r} declares none (add a "
                "`personas:` section, envs/README.md), e.g. gridworld/two-goals."
            )
        if p.reward not in REWARDS:
            raise unknown("plural reward", p.reward, REWARDS)
        if p.behaviour not in BEHAVIOURS:
            raise unknown("plural behaviour", p.behaviour, BEHAVIOURS)
        if p.reward_inputs not in REWARD_INPUTS:
            raise unknown("plural reward_inputs", p.reward_inputs, REWARD_INPUTS)
        if p.vpl_draw not in VPL_DRAWS:
            raise unknown("plural vpl_draw", p.vpl_draw, VPL_DRAWS)
        if p.vpl_condition not in VPL_CONDITIONS:
            raise unknown("plural vpl_condition", p.vpl_condition, VPL_CONDITIONS)
        vpl_only = {"vpl_draw": (p.vpl_draw, "users"), "vpl_condition": (p.vpl_condition, "latent")}
        for name, (value, default) in vpl_only.items():
            if p.reward != "vpl" and value != default:
                raise ParameterError(
                    f"plural: {name}={value!r} applies to reward 'vpl' only (got reward="
                    f"{p.reward!r}); drop it or use reward 'vpl'."
                )
        if p.policy not in POLICIES:
            raise unknown("plural policy", p.policy, POLICIES)
        if p.policy == "maxmin" and p.reward not in ("em", "vpl"):
            raise ParameterError(
                f"plural: policy 'maxmin' needs learned groups; reward {p.reward!r} has "
                "none. Use reward 'em' or 'vpl'."
            )
        if (p.reward == "oracle") != (p.persona is not None):
            raise ParameterError(
                f"plural: persona goes with reward 'oracle' (got reward={p.reward!r}, "
                f"persona={p.persona!r}); name the persona whose true reward it trains on."
            )
        if p.persona is not None and p.persona not in task.personas:
            raise unknown("persona", p.persona, task.personas)
        for name, low in (("users", 1), ("pairs_per_user", 1), ("held_out", 1)):
            check_int(getattr(p, name), f"plural: {name}", low)
        check_int(p.held_out_pairs, "plural: held_out_pairs", 1)
        check_int(p.group_episodes, "plural: group_episodes", 1)
        check_int(p.clusters if p.clusters is not None else 2, "plural: clusters", 1)
        if p.held_out < len(task.personas):
            raise ParameterError(
                f"plural: held_out={p.held_out} users cannot cover the task's "
                f"{len(task.personas)} personas; give at least one per persona."
            )
        TeacherPopulation(task, p.proportions, users=p.users)  # checks the proportions

    def setup(self, ctx: RunContext) -> None:
        p, task = self.params, ctx.task
        held = TeacherPopulation(task, None, users=p.held_out)
        self.held_personas = [u.persona.name for u in held.users]
        self.fitted: FittedRewards | None = None
        if p.reward == "oracle":
            return
        seed = int(ctx.rng.integers(2**31))
        segments = offline_segments(task, p.data_steps, p.segment, seed, p.behaviour)
        train = TeacherPopulation(task, p.proportions, users=p.users)
        data = train.label(segments, p.pairs_per_user, ctx.rng)
        held_data = held.label(segments, p.held_out_pairs, ctx.rng)
        ctx.charge_labels(len(data) + len(held_data))
        self.fitted = FITS[p.reward](data, held_data, self._settings(ctx), seed)
        self._log_assignment(ctx, train.groups(), held)

    def _settings(self, ctx: RunContext) -> RewardSettings:
        p = self.params
        env = make(ctx.task)
        spaces = (env.observation_space, env.action_space)
        env.close()
        clusters = len(ctx.task.personas) if p.clusters is None else p.clusters
        return RewardSettings(
            spaces,
            tuple(p.hidden),
            clusters,
            p.latent_dim,
            p.vpl_steps,
            ctx.device,
            p.reward_inputs,
            len(ctx.task.factor_names),
            p.vpl_condition,
        )

    def _log_assignment(
        self, ctx: RunContext, train_groups: np.ndarray, held: TeacherPopulation
    ) -> None:
        """The fraction of held-out users in their persona's group: the learned group
        most of that persona's training users are in."""
        f = self.fitted
        if f is None or f.user_groups is None or f.train_groups is None:
            return
        k = int(max(f.train_groups.max(), max(f.user_groups))) + 1
        majority = {
            g: int(np.bincount(f.train_groups[train_groups == g], minlength=k).argmax())
            for g in np.unique(train_groups)
        }
        order = list(TeacherPopulation(ctx.task, self.params.proportions, 1).proportions)
        right = [
            majority.get(order.index(name)) == group
            for name, group in zip(self.held_personas, f.user_groups, strict=True)
        ]
        ctx.log("heldout_assignment", 0, float(np.mean(right)))

    def wrap(self, env: gym.Env, ctx: RunContext) -> gym.Env:
        p, f = self.params, self.fitted
        if f is None:  # the oracle
            return PersonaReward(env, ctx.task.personas[p.persona], ctx.task.factor_names)
        if p.policy == "maxmin":
            return MaxMinReward(env, f.groups, ema=p.maxmin_ema)
        if f.latents is None:
            return LearnedReward(env, f.rewards[0])
        weights = draw_weights(f, p.vpl_draw) if p.reward == "vpl" else None
        return LatentConditioned(
            env, f.latents, f.rewards, rng=ctx.rng.spawn(1)[0], weights=weights
        )

    def proxy_wrapper(self, ctx: RunContext) -> None:
        """None: the proxy return is per user here (its condition), not per task."""
        return None

    def _conditions(self) -> list[np.ndarray | None]:
        """Each held-out user's condition for the policy (None: unconditioned)."""
        f, p = self.fitted, self.params
        if f is None or f.latents is None or p.policy == "maxmin":
            return [None] * len(self.held_personas)
        return list(f.user_conditions)

    def policy(self, model: BaseAlgorithm) -> Predict:
        """Episode ``i`` of an evaluation serves held-out user ``i`` (cycling)."""
        return conditioned(sb3_predict(model), self._conditions())

    def after_training(self, ctx: RunContext, model: BaseAlgorithm) -> None:
        users: dict[str, list[np.ndarray | None]] = {}
        for name, c in zip(self.held_personas, self._conditions(), strict=True):
            users.setdefault(name, []).append(c)
        groups = evaluate_groups(
            ctx.task,
            lambda conditions: conditioned(sb3_predict(model), conditions),
            users,
            self.params.group_episodes,
            ctx.evaluator.seed,
            ctx.rng.spawn(1)[0],
        )
        for name, (served, random) in groups.items():
            ctx.log(RETURN + name, ctx.env_steps, served)
            ctx.log(RANDOM + name, ctx.env_steps, random)
        if ctx.save_dir is not None:  # the saved policy serves these users
            save_users(ctx.save_dir, self.held_personas, self._conditions())
