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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv

from rewarddesign import agents
from rewarddesign.common.checks import check_int, check_number, is_int
from rewarddesign.errors import ParameterError, unknown
from rewarddesign.methods.base import RunContext, SB3Method
from rewarddesign.models import EnsembleConfig, RewardEnsemble, RewardTrainer
from rewarddesign.models.entropy import EntropyReplayBuffer, StateEntropyReward
from rewarddesign.models.relabel import relabel_buffer
from rewarddesign.preferences import (
    RULES,
    PreferenceDataset,
    cut_segments,
    margin_from_rewards,
    random_pairs,
    select_queries,
)
from rewarddesign.preferences.store import TransitionStore
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

    def wrap(self, env: gym.Env, ctx: RunContext) -> gym.Env:
        if not agents.kind(ctx.spec.agent).off_policy:
            return env  # the VecEnv form goes on in train_env
        return LearnedReward(env, self.reward_model)

    def train_env(self, ctx: RunContext, n_envs: int) -> DummyVecEnv:
        venv = super().train_env(ctx, n_envs)
        if not agents.kind(ctx.spec.agent).off_policy:  # one batched call per vector step
            return vec_env.LearnedReward(venv, self.reward_model)
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
        if p.pretrain_steps:
            out["replay_buffer_class"] = EntropyReplayBuffer
        return out

    def callbacks(self, ctx: RunContext, model: BaseAlgorithm) -> list[BaseCallback]:
        return [FeedbackSessions(ctx, self)]

    def save(self, folder: Path) -> None:
        """The learned reward model, in ``folder / "reward_model"`` (apply it to any env
        of the task with :class:`~rewarddesign.wrappers.LearnedReward`)."""
        self.reward_model.save(Path(folder) / "reward_model")


class FeedbackSessions(BaseCallback):
    """Records the store beside SB3's buffer and runs the feedback sessions of ``pbrl``."""

    def __init__(self, ctx: RunContext, method: PreferenceLoop) -> None:
        super().__init__()
        self.ctx, self.method, self.p = ctx, method, method.params
        self.dataset = PreferenceDataset()
        self.trainer = RewardTrainer(
            method.reward_model,
            lr=self.p.reward_lr,
            batch_size=self.p.reward_batch,
            max_epochs=self.p.reward_epochs,
            seed=ctx.spec.seed,
        )
        self.next_session = method.first_session()
        self.normalized = False

    def _on_training_start(self) -> None:
        model, n_envs = self.model, self.training_env.num_envs
        self.off_policy = hasattr(model, "replay_buffer")
        if self.off_policy:
            self.buffer = model.replay_buffer
            if self.p.pretrain_steps:
                self.buffer.intrinsic = StateEntropyReward(self.p.entropy_k)
        else:  # on-policy: recent experience in a FIFO buffer of our own
            size = max(self.p.interval, 4 * self.p.segment)
            self.buffer = ReplayBuffer(
                max(size, n_envs),
                model.observation_space,
                model.action_space,
                device="cpu",
                n_envs=n_envs,
                handle_timeout_termination=False,
            )
        self.store = TransitionStore(
            self.buffer.buffer_size, n_envs, len(self.ctx.task.factor_names)
        )
        # SAC and TD3 store actions scaled to [-1, 1]; our buffer keeps the env's actions
        # (discrete ones as a trailing column of indices)
        box = isinstance(model.action_space, gym.spaces.Box)
        self.unscale = None
        if self.off_policy and box:
            self.unscale = model.policy.unscale_action
        elif not box:
            self.unscale = _column_indices
        # a discrete observation too: SB3 buffers keep it as a column of indices
        discrete_obs = isinstance(model.observation_space, gym.spaces.Discrete)
        self.unobs = _column_indices if discrete_obs else None

    def _on_step(self) -> bool:
        infos, dones = self.locals["infos"], np.asarray(self.locals["dones"], dtype=bool)
        truncated = np.array([bool(i.get("TimeLimit.truncated", False)) for i in infos])
        self.store.record(
            self.buffer.pos,
            np.array([i["true_reward"] for i in infos]),
            np.stack([i["factors"] for i in infos]),
            dones & ~truncated,
            truncated,
        )
        if not self.off_policy:  # SB3 fills the replay buffer itself after this call
            next_obs = np.array(self.locals["new_obs"], copy=True)
            for i in np.flatnonzero(dones):
                next_obs[i] = infos[i]["terminal_observation"]
            actions = self.locals["clipped_actions"]
            self.buffer.add(
                self.model._last_obs, next_obs, actions, np.zeros(len(dones)), dones, infos
            )
        return True

    def _on_rollout_end(self) -> None:  # the buffer now holds every recorded step
        if self.num_timesteps >= self.next_session and self.ctx.labels_used < self.p.labels:
            self.session()
            self.next_session = max(self.next_session + self.p.interval, self.num_timesteps)

    def session(self) -> None:
        p, ctx, model = self.p, self.ctx, self.method.reward_model
        view = self.store.view(
            self.buffer, last=self.method.window, actions_fn=self.unscale, obs_fn=self.unobs
        )
        m = min(p.queries, p.labels - ctx.labels_used)
        rule = p.selection if len(self.dataset) else "uniform"  # an untrained model ranks noise
        n_candidates = m if rule == "uniform" else m * p.candidates
        segments = cut_segments(view, H=p.segment, n=2 * n_candidates, rng=ctx.rng)
        candidates = random_pairs(segments, n_candidates, ctx.rng)
        chosen = candidates.take(select_queries(candidates, m, rule, model, ctx.rng))
        teacher = self.method.teacher(ctx.task, margin_from_rewards(view.rewards, p.segment))
        record = teacher.label(chosen, ctx.rng)
        self.dataset.append(chosen, record)
        ctx.charge_labels(record.charged)
        step = self.num_timesteps
        ctx.log("labels_asked", step, self.dataset.asked)
        ctx.log("labels_charged", step, self.dataset.charged)
        ctx.log("labels_usable", step, self.dataset.usable)
        if self.dataset.usable:
            if p.normalize_inputs and not self.normalized:
                model.fit_normalizer(view_inputs(model, view))
                self.normalized = True
            stats = self.trainer.fit(self.dataset.pairs(), self.dataset.record())
            ctx.log("reward_accuracy", step, stats.train_accuracy)
            self.method.after_fit(model, view)
            if self.off_policy:
                if isinstance(self.buffer, EntropyReplayBuffer):
                    self.buffer.intrinsic = None  # pre-training ends with the first labels
                factors = self.store.factors if model.config.inputs == "obs_factors" else None
                relabel_buffer(self.buffer, model, actions_fn=self.unscale, factors=factors)
            fresh = slice(max(0, len(view.rewards) - 1000), None)  # recent steps
            learned = model.predict(
                view.obs[fresh], view.actions[fresh], view.next_obs[fresh], view.factors[fresh]
            )
            if np.std(learned) > 0 and np.std(view.rewards[fresh]) > 0:
                corr = np.corrcoef(learned, view.rewards[fresh])[0, 1]
                ctx.log("reward_correlation", step, float(corr))


def view_inputs(model: RewardEnsemble, view: Any) -> np.ndarray:
    """The reward model's inputs for every step of a session's experience."""
    return model.inputs(view.obs, view.actions, view.next_obs, view.factors)


def _column_indices(actions: np.ndarray) -> np.ndarray:
    """Discrete actions (or observations) as SB3 buffers keep them, ``(..., 1)``, to int
    indices ``(...)``."""
    return actions[..., 0].astype(np.int64)
