"""The feedback sessions of the preference loop: an SB3 callback that records what the
replay buffer does not keep, asks the teacher, refits the reward model and relabels."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback

from rewarddesign.diagnostics.epic import Transitions
from rewarddesign.diagnostics.measures import epic_to_true, true_reward_canonicalizable
from rewarddesign.errors import ParameterError
from rewarddesign.methods.base import RunContext
from rewarddesign.methods.pbrl.agent_reward import BonusReward
from rewarddesign.methods.pbrl.replay import FeedbackReplayBuffer, RecentEpisodes
from rewarddesign.models import RewardEnsemble, RewardTrainer
from rewarddesign.models.entropy import EntropyReplayBuffer, StateEntropyReward
from rewarddesign.models.relabel import relabel_buffer
from rewarddesign.preferences import (
    Pairs,
    PreferenceDataset,
    Segments,
    cut_segments,
    margin_from_rewards,
    random_pairs,
    select_queries,
)
from rewarddesign.preferences.store import TransitionStore

if TYPE_CHECKING:
    from rewarddesign.methods.pbrl.loop import PreferenceLoop


def make_trainer(method: PreferenceLoop, seed: int) -> RewardTrainer:
    """The reward model's trainer with the loop's crop and SURF options."""
    p = method.params
    crop, surf = p.option("crop"), p.option("surf")
    return RewardTrainer(
        method.reward_model,
        lr=p.reward_lr,
        batch_size=p.reward_batch,
        max_epochs=p.reward_epochs,
        seed=seed,
        crop=None if crop is None else (crop.min, crop.max, crop.copies),
        pseudo_tau=None if surf is None else surf.tau,
        pseudo_weight=1.0 if surf is None else surf.weight,
    )


class FeedbackSessions(BaseCallback):
    """Records the store beside SB3's buffer and runs the feedback sessions of ``pbrl``."""

    def __init__(self, ctx: RunContext, method: PreferenceLoop) -> None:
        super().__init__()
        self.ctx, self.method, self.p = ctx, method, method.params
        self.dataset = PreferenceDataset(task=ctx.task.id)
        self.trainer = make_trainer(method, ctx.spec.seed)
        self.next_session = method.first_session()
        self.normalized = False
        self.qpa, self.surf = self.p.option("qpa"), self.p.option("surf")
        self.recent = None if self.qpa is None else RecentEpisodes(self.qpa.episodes)
        self.unlabelled: list[Pairs] = []
        self.sessions = 0

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
        if self.qpa is not None and isinstance(self.buffer, FeedbackReplayBuffer):
            self.buffer.recent_fraction = self.qpa.hybrid  # while labels remain
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
        pos = self.buffer.pos
        self.store.record(
            pos,
            np.array([i["true_reward"] for i in infos]),
            np.stack([i["factors"] for i in infos]),
            dones & ~truncated,
            truncated,
        )
        if self.recent is not None:
            self.recent.step(bool(self.store.episode_starts[pos, 0]))
            self.buffer.recent_rows = self.recent.rows
        bonus = self.method.agent_reward
        if isinstance(bonus, BonusReward):  # RUNE: beta decays with env steps
            bonus.step = self.num_timesteps
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
        last = self.method.window if self.recent is None else self.recent.rows
        view = self.store.view(self.buffer, last=last, actions_fn=self.unscale, obs_fn=self.unobs)
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
        if self.surf is not None:  # unlabelled pairs from the same experience
            k = math.ceil(self.surf.ratio * m)
            self.unlabelled.append(
                random_pairs(cut_segments(view, H=p.segment, n=2 * k, rng=ctx.rng), k, ctx.rng)
            )
        step = self.num_timesteps
        ctx.log("labels_asked", step, self.dataset.asked)
        ctx.log("labels_charged", step, self.dataset.charged)
        ctx.log("labels_usable", step, self.dataset.usable)
        if self.dataset.usable:
            self.fit(view, step)
        if ctx.labels_used >= p.labels and isinstance(self.buffer, FeedbackReplayBuffer):
            self.buffer.recent_fraction = 0.0  # QPA: ordinary sampling once labels run out
        self.sessions += 1
        self.save_session()

    def fit(self, view: Any, step: int) -> None:
        """Refit the model on every label so far, relabel the replay buffer, log."""
        p, ctx, model = self.p, self.ctx, self.method.reward_model
        if p.normalize_inputs and not self.normalized:
            model.fit_normalizer(view_inputs(model, view))
            self.normalized = True
        unlabelled = None
        if self.unlabelled:
            unlabelled = Pairs(
                Segments.concat([u.first for u in self.unlabelled]),
                Segments.concat([u.second for u in self.unlabelled]),
            )
        stats = self.trainer.fit(self.dataset.pairs(), self.dataset.record(), unlabelled)
        ctx.log("reward_accuracy", step, stats.train_accuracy)
        if stats.pseudo_accepted is not None:
            ctx.log("pseudo_accepted", step, stats.pseudo_accepted)
            if stats.pseudo_agreement is not None:
                ctx.log("pseudo_agreement", step, stats.pseudo_agreement)
        self.method.after_fit(model, view)
        if self.off_policy:
            if isinstance(self.buffer, EntropyReplayBuffer):
                self.buffer.intrinsic = None  # pre-training ends with the first labels
            self.relabel()
        if self.recent is not None:
            ctx.log("query_window_steps", step, len(view.rewards))
        bonus = self.method.agent_reward
        if isinstance(bonus, BonusReward):
            ctx.log("rune_beta", step, bonus.beta)
        fresh = slice(max(0, len(view.rewards) - 1000), None)  # recent steps
        learned = model.predict(
            view.obs[fresh], view.actions[fresh], view.next_obs[fresh], view.factors[fresh]
        )
        if np.std(learned) > 0 and np.std(view.rewards[fresh]) > 0:
            corr = np.corrcoef(learned, view.rewards[fresh])[0, 1]
            ctx.log("reward_correlation", step, float(corr))
            self.log_epic(view, fresh, step)

    def log_epic(self, view: Any, fresh: slice, step: int) -> None:
        """EPIC from the reward model to the true reward on the session's recent steps
        (128 coverage samples of their own states and actions, a generator of its own),
        where the true reward is a function of transitions."""
        ctx = self.ctx
        if not true_reward_canonicalizable(ctx.task):
            return
        t = Transitions(view.obs[fresh], view.actions[fresh], view.next_obs[fresh])
        env = self.training_env
        seed = (ctx.spec.seed * 1009 + self.sessions) % 2**32
        try:
            distance = epic_to_true(
                ctx.task, self.method.reward_model, t, env.observation_space, env.action_space,
                samples=128, seed=seed,
            )  # fmt: skip
        except ParameterError:  # constant once canonicalised: the distance is undefined
            return
        ctx.log("reward_epic", step, distance)

    def relabel(self) -> None:
        """Rewrite the replay buffer's rewards with what the agent is now rewarded with."""
        buffer = self.buffer
        if self.p.agent_reward == "true":  # the control: the store's true rewards
            used = buffer.buffer_size if buffer.full else buffer.pos
            buffer.rewards[:used] = self.store.true_reward[:used].astype(buffer.rewards.dtype)
            return
        reward = self.method.agent_reward
        factors = self.store.factors if reward.config.inputs == "obs_factors" else None
        relabel_buffer(buffer, reward, actions_fn=self.unscale, factors=factors)

    def save_session(self) -> None:
        """With a run folder: the labels so far and the reward model, after this session
        (``sessions/NNN/labels.npz`` and ``sessions/NNN/reward_model/``)."""
        if self.ctx.save_dir is None or not len(self.dataset):
            return
        folder = Path(self.ctx.save_dir) / "sessions" / f"{self.sessions:03d}"
        self.dataset.save(folder / "labels.npz")
        self.method.reward_model.save(folder / "reward_model")


def view_inputs(model: RewardEnsemble, view: Any) -> np.ndarray:
    """The reward model's inputs for every step of a session's experience."""
    return model.inputs(view.obs, view.actions, view.next_obs, view.factors)


def _column_indices(actions: np.ndarray) -> np.ndarray:
    """Discrete actions (or observations) as SB3 buffers keep them, ``(..., 1)``, to int
    indices ``(...)``."""
    return actions[..., 0].astype(np.int64)
