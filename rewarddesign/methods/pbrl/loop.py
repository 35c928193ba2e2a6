"""The preference loop of ``pbrl`` and ``heron`` (PEBBLE-style) with SAC, TD3 or PPO.

Off-policy (SAC, TD3): seed steps with random actions, optionally ``pretrain_steps`` of
unsupervised pre-training on the k-NN state-entropy reward (PEBBLE); then every
``interval`` env steps a feedback session while the label budget lasts: cut candidate
segments from recent experience (the replay buffer joined with a
:class:`~rewarddesign.preferences.store.TransitionStore`), pick ``queries`` pairs
(uniform, disagreement or entropy over the reward ensemble), label them with the
teacher, retrain the ensemble on every label so far, and relabel the whole replay
buffer. The agent steps a ``LearnedReward`` env, so new transitions carry the current
model's reward; Monitor and evaluation see the true reward.

On-policy (PPO): the reward is computed at rollout time by the current model (the SB3
``VecEnv`` form of ``LearnedReward``, batched over envs); sessions run between rollouts
on the most recent ``max(interval, 4 * segment)`` steps, kept in a FIFO buffer of the
callback's own. There is nothing to relabel: each rollout is used once.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv

from rewarddesign import agents
from rewarddesign.common.checks import check_int, check_number, is_int
from rewarddesign.errors import ParameterError, unknown
from rewarddesign.methods.base import ADDED, RunContext, SB3Method
from rewarddesign.methods.pbrl.agent_reward import BonusReward
from rewarddesign.methods.pbrl.options import OPTIONS, parse_option
from rewarddesign.methods.pbrl.replay import FeedbackReplayBuffer
from rewarddesign.methods.pbrl.sessions import FeedbackSessions, view_inputs
from rewarddesign.models import EnsembleConfig, RewardEnsemble
from rewarddesign.models.entropy import EntropyReplayBuffer
from rewarddesign.preferences import (
    RULES,
)
from rewarddesign.task.registry import horizon, make
from rewarddesign.task.spec import TaskSpec
from rewarddesign.wrappers import vec_env
from rewarddesign.wrappers.learned import LearnedReward

OFF_POLICY = tuple(name for name, k in agents.AGENTS.items() if k.off_policy)


@dataclass(frozen=True)
class LoopParams:
    """Parameters shared by the preference loops (``pbrl``, ``heron``).

    Attributes:
        labels: Label budget (pairs charged to the teacher in all).
        queries: Pairs asked per feedback session.
        interval: Env steps between sessions.
        seed_steps: Steps before the first session; the agent starts learning then
            (off-policy: random actions; PPO: its initial policy, learning from the
            untrained model's reward).
        pretrain_steps: Off-policy only: steps after the seed steps on PEBBLE's k-NN
            state-entropy reward before the first session (0: none). The agent then
            learns from the end of the seed steps, whatever the agent config's
            ``learning_starts``.
        entropy_k: The k of the k-NN state entropy.
        segment: Segment length H, at most the task's episode limit (a longer one would
            only pad episodes, so it is refused).
        selection: ``"uniform"``, ``"disagreement"`` or ``"entropy"``.
        candidates: Candidate pairs per query for model-based selection.
        members: Reward ensemble size.
        hidden: Hidden layer sizes of each member.
        bounded: tanh-bounded rewards, as B-Pref.
        reward_lr: Learning rate of the reward model.
        reward_batch: Pairs per reward-model gradient step.
        reward_epochs: Most epochs per session (stops early at 97% training accuracy).
            The ensemble carries over between sessions, so a few epochs on the new labels
            suffice. B-Pref's 3 x 256x256 members, lr 3e-4 and 200 epochs cost 7x the
            fit time for the same held-out accuracy on Pendulum
            (benchmarks/reward_model_size.py).
        standardize: After every refit, shift and scale the learned reward to mean 0 and
            std 1 over the session's experience. Use it with ``bounded=False`` where the
            true reward grows without bound (running speed): a tanh-bounded reward
            saturates, so running faster than the early data earns nothing more.
        normalize_inputs: Before the first fit, set the reward model's input mean and
            std from the first session's experience (kept fixed after), for observations
            whose dimensions differ widely in scale (a MuJoCo body's joint angles and
            velocities), where unscaled inputs let the largest dominate the fit.
        qpa: QPA's policy-aligned queries and hybrid replay, ``{episodes, hybrid}``
            (:class:`~.options.QpaOption`; off-policy agents only); None: off.
        crop: Pair crops ``{min, max, copies}`` (:class:`~.options.CropOption`).
        surf: SURF's pseudo-labels ``{ratio, tau, weight}`` (:class:`~.options.SurfOption`).
        rune: RUNE's bonus ``{beta0, rho}`` (:class:`~.options.RuneOption`).
        agent_reward: ``"model"`` (the learned reward) or ``"true"``: a control that keeps
            the loop (pre-training, sessions, fits) but gives the agent the task's true
            reward, so what the loop costs is told apart from what the reward's quality
            costs.
    """

    labels: int = 200
    queries: int = 20
    interval: int = 2000
    seed_steps: int = 1000
    pretrain_steps: int = 0
    entropy_k: int = 5
    segment: int = 50
    selection: str = "disagreement"
    candidates: int = 10
    members: int = 3
    hidden: tuple[int, ...] = (64, 64)
    bounded: bool = True
    reward_lr: float = 1e-3
    reward_batch: int = 128
    reward_epochs: int = 50
    standardize: bool = False
    normalize_inputs: bool = False
    qpa: dict[str, Any] | None = field(default=None, metadata=ADDED)
    crop: dict[str, Any] | None = field(default=None, metadata=ADDED)
    surf: dict[str, Any] | None = field(default=None, metadata=ADDED)
    rune: dict[str, Any] | None = field(default=None, metadata=ADDED)
    agent_reward: str = field(default="model", metadata=ADDED)

    def option(self, name: str) -> Any:
        """The parsed option ``name`` (``qpa``, ``crop``, ``surf``, ``rune``), or None."""
        return parse_option(name, getattr(self, name), "preference loop")


AGENT_REWARDS = ("model", "true")


class PreferenceLoop(SB3Method):
    """The preference loop shared by ``pbrl`` and ``heron``: feedback sessions on recent
    experience, a reward ensemble refitted on every label so far, the agent on its reward
    (replay relabelled after each refit). Subclasses give the :meth:`teacher`."""

    Params = LoopParams
    agents = tuple(agents.AGENTS)

    def validate(self, task: TaskSpec, agent: str) -> None:
        p = self.params
        for key in (
            "labels",
            "queries",
            "interval",
            "segment",
            "candidates",
            "members",
            "reward_batch",
            "reward_epochs",
            "entropy_k",
        ):
            check_int(getattr(p, key), f"{self.name}: {key}", 1)
        for key in ("seed_steps", "pretrain_steps"):
            check_int(getattr(p, key), f"{self.name}: {key}", 0)
        check_number(p.reward_lr, f"{self.name}: reward_lr", 0, low_open=True)
        if not isinstance(p.hidden, list | tuple) or any(not is_int(h) or h < 1 for h in p.hidden):
            raise ParameterError(
                f"{self.name}: hidden must be a list of layer sizes >= 1 (e.g. [64, 64]), "
                f"got {p.hidden!r}."
            )
        for key in ("bounded", "standardize", "normalize_inputs"):
            if not isinstance(getattr(p, key), bool):
                raise ParameterError(
                    f"{self.name}: {key} must be true or false, got {getattr(p, key)!r}."
                )
        if p.labels < p.queries:
            raise ParameterError(
                f"{self.name}: a label budget of {p.labels} is smaller than one session of "
                f"{p.queries} queries; raise labels or lower queries."
            )
        if p.selection not in RULES:
            raise unknown(f"{self.name} selection", p.selection, RULES)
        options = {name: parse_option(name, getattr(p, name), self.name) for name in OPTIONS}
        if p.agent_reward not in AGENT_REWARDS:
            raise unknown(f"{self.name} agent_reward", p.agent_reward, AGENT_REWARDS)
        off_policy = agents.kind(agent).off_policy
        if p.qpa is not None and not off_policy:
            raise ParameterError(
                f"{self.name}: qpa (policy-aligned queries and hybrid replay) needs an "
                f"off-policy agent {OFF_POLICY}, got {agent!r}; drop qpa."
            )
        crop = options["crop"]
        if crop is not None and crop.max > p.segment:
            raise ParameterError(
                f"{self.name}: crop.max {crop.max} is longer than the stored segment "
                f"({p.segment} steps); give crop.max <= segment."
            )
        if p.pretrain_steps and agent not in OFF_POLICY:
            raise ParameterError(
                f"{self.name}: pretrain_steps (PEBBLE's unsupervised pre-training) needs an "
                f"off-policy agent {OFF_POLICY}, got {agent!r}; set it to 0."
            )
        self.teacher(task, margin=1.0)  # checks teacher options (and a HERON ranking)
        limit = horizon(task)
        if limit is not None and p.segment > limit:
            raise ParameterError(
                f"{self.name}: segment {p.segment} is longer than every episode of task "
                f"{task.id!r} (at most {limit} steps): each segment would be one padded "
                f"episode; use segment <= {limit}."
            )

    @abstractmethod
    def teacher(self, task: TaskSpec, margin: float | None) -> Any:
        """The teacher for a task (``margin`` feeds B-Pref's skip/equal thresholds)."""

    #: What the reward model reads (see :data:`rewarddesign.models.INPUTS`).
    model_inputs = "obs_action"
    #: Sessions draw from the last ``window`` steps per env (None: all kept experience).
    window: int | None = None

    def after_fit(self, model: RewardEnsemble, view: Any) -> None:
        """After each refit, before relabelling (``view``: the session's experience)."""
        if self.params.standardize:
            model.standardize_output(view_inputs(model, view))

    def first_session(self) -> int:
        """The env step of the first feedback session: after the seed and pre-training
        steps, and not before one segment of experience."""
        p = self.params
        return max(p.seed_steps + p.pretrain_steps, p.segment)

    def min_budget(self, agent: str) -> int | None:
        """One step past the first feedback session: a shorter run asks no label and
        reports the untrained reward model's result."""
        return self.first_session() + 1

    def setup(self, ctx: RunContext) -> None:
        p = self.params
        rune = p.option("rune")
        probe = make(ctx.task)
        cfg = EnsembleConfig.for_spaces(
            probe.observation_space,
            probe.action_space,
            members=p.members,
            hidden=tuple(p.hidden),
            bounded=p.bounded,
            seed=ctx.spec.seed,
            inputs=self.model_inputs,
            factor_dim=len(ctx.task.factor_names),
        )
        probe.close()
        self.reward_model = RewardEnsemble(cfg, device=ctx.device)
        # what the agent is rewarded with (and its buffer relabelled to)
        self.agent_reward: Any = self.reward_model
        if rune is not None:
            self.agent_reward = BonusReward(self.reward_model, rune)

    def wrap(self, env: gym.Env, ctx: RunContext) -> gym.Env:
        if not agents.kind(ctx.spec.agent).off_policy or self.params.agent_reward == "true":
            return env  # the VecEnv form goes on in train_env; the control: the true reward
        return LearnedReward(env, self.agent_reward)

    def proxy_wrapper(self, ctx: RunContext) -> Callable[[gym.Env], gym.Env] | None:
        """The learned reward (with RUNE's bonus) of the moment, for every agent."""
        if self.params.agent_reward == "true":
            return None
        return lambda env: LearnedReward(env, self.agent_reward)

    def train_env(self, ctx: RunContext, n_envs: int) -> DummyVecEnv:
        venv = super().train_env(ctx, n_envs)
        learned = self.params.agent_reward == "model"
        if learned and not agents.kind(ctx.spec.agent).off_policy:  # one call per vector step
            return vec_env.LearnedReward(venv, self.agent_reward)
        return venv

    def agent_overrides(self, ctx: RunContext, cfg: dict[str, Any]) -> dict[str, Any]:
        p = self.params
        if not agents.kind(ctx.spec.agent).off_policy:
            return dict(ctx.spec.agent_overrides)
        # the agent learns once the seed steps are done: on the state-entropy reward from
        # then on if pre-training (PEBBLE), else on the reward the first labels shaped
        start = max(int(cfg.get("learning_starts", 100)), p.seed_steps)
        if p.pretrain_steps:
            start = p.seed_steps
        out = {**ctx.spec.agent_overrides, "learning_starts": start}
        if p.qpa is not None:  # hybrid replay (and pre-training, if any)
            out["replay_buffer_class"] = FeedbackReplayBuffer
        elif p.pretrain_steps:
            out["replay_buffer_class"] = EntropyReplayBuffer
        return out

    def callbacks(self, ctx: RunContext, model: BaseAlgorithm) -> list[BaseCallback]:
        return [FeedbackSessions(ctx, self)]

    def save(self, folder: Path) -> None:
        """The learned reward model, in ``folder / "reward_model"`` (apply it to any env
        of the task with :class:`~rewarddesign.wrappers.LearnedReward`)."""
        self.reward_model.save(Path(folder) / "reward_model")
