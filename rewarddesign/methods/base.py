"""The method interface: what every reward method implements, and what a run gives it.

A method is a small class with a ``name``, a ``Params`` dataclass (unknown parameters
are rejected before a run starts) and the agents it accepts. The runner builds a
:class:`RunContext` and calls ``method.train(ctx)``; the method builds its training env
and agent, trains for ``ctx.spec.budget`` env steps and calls ``ctx.maybe_evaluate``
as it goes (SB3-based methods get this from :class:`RunCallback`). Evaluation always
uses the task's true reward, so the method cannot grade itself.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

from rewarddesign import agents
from rewarddesign.contract.evaluation import Evaluator, Predict
from rewarddesign.contract.runspec import EvalPoint, RunResult, RunSpec
from rewarddesign.errors import ParameterError, SpecError, unknown
from rewarddesign.task.observe import TrueRewardView
from rewarddesign.task.registry import make
from rewarddesign.task.spec import TaskSpec

if TYPE_CHECKING:  # tensorboard is an optional extra
    from torch.utils.tensorboard import SummaryWriter

Progress = Callable[[int, int, float | None], None]
"""Progress hook ``(env_steps_done, budget, last_mean_true_return_or_None)``."""

OnEval = Callable[[EvalPoint], None]
"""Hook called with each evaluation as it is made (tuning reports it to a pruner; an
exception it raises, such as ``optuna.TrialPruned``, ends the run)."""


@dataclass
class RunContext:
    """Everything a method needs from the runner, and where it reports back.

    Attributes:
        spec: The run spec.
        task: The parsed task spec.
        device: Resolved torch device (``"cpu"`` or ``"cuda"``).
        rng: The run's random generator (seeded from ``spec.seed``); pass it on.
        evaluator: Deterministic evaluation on the true reward.
        progress: Optional progress hook.
        on_eval: Optional hook called with each new evaluation.
        curve: Evaluations so far.
        series: Named extra series, filled through :meth:`log`.
        labels_used: Preference labels charged so far.
        env_steps: Env steps trained so far.
        model: The trained agent, for saving (SB3 methods set it).
        save_dir: The run's folder, where methods may save as they go (None: none).
    """

    spec: RunSpec
    task: TaskSpec
    device: str
    rng: np.random.Generator
    evaluator: Evaluator
    progress: Progress | None = None
    on_eval: OnEval | None = None
    curve: list[EvalPoint] = field(default_factory=list)
    series: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    labels_used: int = 0
    env_steps: int = 0
    model: BaseAlgorithm | None = None
    save_dir: Path | None = None

    def log(self, name: str, step: int, value: float) -> None:
        """Append ``(step, value)`` to the named series (``true_return`` is the curve's)."""
        if name == "true_return":
            raise ParameterError("series name 'true_return' is reserved for the eval curve.")
        self.series.setdefault(name, []).append((int(step), float(value)))

    def charge_labels(self, n: int) -> None:
        """Charge ``n`` preference labels to the feedback budget."""
        if n < 0:
            raise ParameterError(f"cannot charge a negative number of labels ({n}).")
        self.labels_used += int(n)

    def evaluate(self, step: int, predict: Predict) -> EvalPoint:
        """Evaluate ``predict`` now and add the point to the curve."""
        out = self.evaluator(predict)
        point = EvalPoint(
            step=int(step),
            mean_return=float(out.returns.mean()),
            returns=[float(r) for r in out.returns],
            success_rate=None if out.successes is None else float(out.successes.mean()),
            factors=dict(
                zip(self.task.factor_names, out.factor_sums.mean(axis=0).tolist(), strict=True)
            ),
        )
        self.curve.append(point)
        if out.proxy_returns is not None:  # the reward the agent trains on, same episodes
            self.log("proxy_return", step, float(out.proxy_returns.mean()))
        if self.on_eval is not None:
            self.on_eval(point)
        return point

    def maybe_evaluate(self, step: int, predict: Predict) -> None:
        """Evaluate if ``step`` reached the next point of the schedule; report progress.

        Once the budget is reached it does not evaluate: the agent may still update
        (PPO trains on its last rollout, an off-policy agent takes its last gradient
        steps), so the final point is :meth:`finish`'s, after training ends.
        """
        self.env_steps = int(step)
        last = self.curve[-1].step if self.curve else 0
        if step < self.spec.budget and step - last >= self.spec.eval_every:
            self.evaluate(step, predict)
        if self.progress is not None:
            self.progress(
                int(step), self.spec.budget, self.curve[-1].mean_return if self.curve else None
            )

    def finish(self, step: int, predict: Predict) -> None:
        """Evaluate the trained policy, after its last update: the final point, which is
        the policy that is saved. Call it once, when training has ended."""
        self.env_steps = int(step)
        if self.curve and self.curve[-1].step == step:  # made before the last updates
            self.curve.pop()
        self.evaluate(step, predict)
        if self.progress is not None:
            self.progress(int(step), self.spec.budget, self.curve[-1].mean_return)


def sb3_predict(model: BaseAlgorithm) -> Predict:
    """A batched deterministic policy from an SB3 model."""
    return lambda obs: model.predict(obs, deterministic=True)[0]


def tensorboard_writer(logger: Logger) -> SummaryWriter | None:
    """The TensorBoard writer of an SB3 logger (an agent given ``tensorboard_log``), if any."""
    for output in logger.output_formats:
        if isinstance(output, TensorBoardOutputFormat):
            return output.writer
    return None


class RunCallback(BaseCallback):
    """SB3 callback that evaluates on the run's schedule and reports progress.

    When the agent logs to TensorBoard (``tensorboard_log``) it also writes, at every
    evaluation's step, the true return (``eval/true_return``, ``eval/success_rate``) and
    the mean and std of the reward the agent was trained on since the evaluation before
    (``train_reward/mean``, ``train_reward/std``: the learned reward for pbrl and heron,
    the designed one for blend or shaping). SB3's own ``rollout/ep_rew_mean`` is the true
    return of the training episodes, as Monitor sits inside the reward wrapper.
    """

    def __init__(self, ctx: RunContext, policy: Callable[[BaseAlgorithm], Predict] | None = None):
        super().__init__()
        self.ctx = ctx
        self.policy = sb3_predict if policy is None else policy
        self.writer: SummaryWriter | None = None
        self._rewards: list[np.ndarray] = []  # the agent's rewards since the last point
        self._written = 0  # curve points written to TensorBoard

    def _on_training_start(self) -> None:
        self.writer = tensorboard_writer(self.model.logger)

    def _on_step(self) -> bool:
        if self.writer is not None:
            self._rewards.append(np.array(self.locals["rewards"], dtype=np.float64))
        self.ctx.maybe_evaluate(self.num_timesteps, self.policy(self.model))
        self.write_tensorboard()
        return True

    def write_tensorboard(self) -> None:
        """Write the evaluations not yet written (and the reward statistics before them)."""
        if self.writer is None:
            return
        for point in self.ctx.curve[self._written :]:
            self.writer.add_scalar("eval/true_return", point.mean_return, point.step)
            if point.success_rate is not None:
                self.writer.add_scalar("eval/success_rate", point.success_rate, point.step)
            if self._rewards:
                rewards = np.concatenate(self._rewards)
                self.writer.add_scalar("train_reward/mean", rewards.mean(), point.step)
                self.writer.add_scalar("train_reward/std", rewards.std(), point.step)
                self._rewards = []
            self.writer.flush()
        self._written = len(self.ctx.curve)


@dataclass(frozen=True)
class NoParams:
    """Parameters of a method that takes none."""


ADDED: dict[str, bool] = {"key_when_set": True}
"""Field metadata of a parameter added after runs were stored: it is left out of the run
key while it has its default (:func:`key_params`), so those runs keep their keys.
``crop: dict | None = field(default=None, metadata=ADDED)``."""


def key_params(params: Any) -> dict[str, Any]:
    """A method's parameters as a run key holds them: every field, but one marked
    :data:`ADDED` at its default.

    Example:
        >>> @dataclass(frozen=True)
        ... class P:
        ...     lr: float = 1e-3
        ...     crop: dict | None = field(default=None, metadata=ADDED)
        >>> key_params(P()), key_params(P(crop={"copies": 2}))
        ({'lr': 0.001}, {'lr': 0.001, 'crop': {'copies': 2}})
    """
    out = dataclasses.asdict(params)
    for f in dataclasses.fields(params):
        if f.metadata.get("key_when_set") and getattr(params, f.name) == f.default:
            del out[f.name]
    return out


class Method(ABC):
    """A reward method. Subclasses set ``name``, ``Params``, ``agents`` and ``train``."""

    name: ClassVar[str]
    Params: ClassVar[type] = NoParams
    # every agent of the factory, SB3 and SBX alike (they share SB3's interfaces)
    agents: ClassVar[tuple[str, ...]] = tuple(agents.AGENTS)
    # whether its runs read the task's personas (so they are part of its run keys)
    reads_personas: ClassVar[bool] = False

    def __init__(self, params: Any) -> None:
        self.params = params

    @classmethod
    def parse_params(cls, params: dict[str, Any] | None) -> Any:
        """Build the ``Params`` dataclass, rejecting unknown names."""
        params = dict(params or {})
        fields = {f.name for f in dataclasses.fields(cls.Params)}
        for key in params:
            if key not in fields:
                raise unknown(f"parameter of method {cls.name!r}", key, fields)
        try:
            return cls.Params(**params)
        except TypeError as exc:
            raise SpecError(f"bad parameters {params!r} for method {cls.name!r}: {exc}.") from exc

    @classmethod
    def content_keys(cls, params: Any) -> dict[str, Any]:
        """Parameters that name files, each as the hash of what a run reads from it (a
        run key holds these in place of the paths, so a copied file is the same run);
        none by default."""
        return {}

    def validate(self, task: TaskSpec, agent: str) -> None:  # noqa: B027 - optional hook
        """Check the parameters against the task and agent before the run starts (optional)."""

    def min_budget(self, agent: str) -> int | None:
        """The smallest budget in env steps at which this method's schedule does anything
        (e.g. asks its first labels) with ``agent``; None: any budget (optional hook).
        :func:`~rewarddesign.experiment.runner.validate` refuses a shorter one rather
        than run a degenerate run."""
        return None

    def save(self, folder: Path) -> None:  # noqa: B027 - optional hook
        """Save what the method learned besides the policy, after :meth:`train` (optional)."""

    def proxy_wrapper(self, ctx: RunContext) -> Callable[[gym.Env], gym.Env] | None:
        """The reward the agent trains on as a wrapper of a task env, for the proxy return
        of evaluation episodes (None: the agent trains on the true reward, or the method
        has no such wrapper). Called once the method's models exist; the wrapper must use
        them live, so each evaluation sums the reward of that moment."""
        return None

    @classmethod
    def report_figures(cls, results: Sequence[tuple[str, RunResult]]) -> dict[str, bytes]:
        """Figures a benchmark report adds for this method's runs (optional hook).

        The report calls it with the runs of this method it covers, so what only this
        method logs (e.g. learned weights) is plotted by the method, not by the report.

        Args:
            results: ``(method label, result)`` of this method's runs.

        Returns:
            PNG bytes by file name (written next to the report and embedded in its
            HTML); none by default.

        Example:
            >>> from rewarddesign.methods import get
            >>> get("true").report_figures([])
            {}
        """
        return {}

    @abstractmethod
    def train(self, ctx: RunContext) -> None:
        """Train for ``ctx.spec.budget`` env steps, evaluating through ``ctx``."""


class SB3Method(Method):
    """A method that trains an SB3 agent on a (wrapped) task env.

    Subclasses override :meth:`wrap` to put their reward wrapper on top of the
    Monitor, and :meth:`callbacks` to add their own training-time work.
    """

    def wrap(self, env: gym.Env, ctx: RunContext) -> gym.Env:
        """Reward wrapper(s) over the monitored task env; identity by default."""
        return env

    def callbacks(self, ctx: RunContext, model: BaseAlgorithm) -> list[BaseCallback]:
        """Extra SB3 callbacks (e.g. feedback sessions); none by default."""
        return []

    def proxy_wrapper(self, ctx: RunContext) -> Callable[[gym.Env], gym.Env] | None:
        """:meth:`wrap` over the reward it wraps in training (the true one, where the
        task declares a primary reward): the reward the agent trains through."""
        if ctx.task.primary is None:
            return lambda env: self.wrap(env, ctx)
        return lambda env: self.wrap(TrueRewardView(env), ctx)

    def train_env(self, ctx: RunContext, n_envs: int) -> DummyVecEnv:
        """Task env -> Monitor (true episode stats) -> method's reward wrapper, vectorised."""

        def one() -> gym.Env:
            env = make(ctx.task)
            if ctx.task.primary is not None:  # Monitor must see the true reward
                env = TrueRewardView(env)
            return self.wrap(Monitor(env), ctx)

        return DummyVecEnv([one] * n_envs)

    def policy(self, model: BaseAlgorithm) -> Predict:
        """The policy evaluated on the task's envs: the agent's, by default (a method whose
        agent sees more than the task's observation completes it here)."""
        return sb3_predict(model)

    def setup(self, ctx: RunContext) -> None:
        """Build what the wrapper and callbacks need before the env (e.g. a reward model)."""

    def agent_overrides(self, ctx: RunContext, cfg: dict[str, Any]) -> dict[str, Any]:
        """Agent hyperparameters the method sets over the run's (default: none)."""
        return dict(ctx.spec.agent_overrides)

    def after_training(self, ctx: RunContext, model: BaseAlgorithm) -> None:
        """Work after the final evaluation (e.g. evaluations of its own; optional hook)."""

    def train(self, ctx: RunContext) -> None:
        spec = ctx.spec
        self.setup(ctx)
        cfg = agents.config(spec.agent, spec.task, spec.agent_preset, **spec.agent_overrides)
        env = self.train_env(ctx, int(cfg.get("n_envs", 1)))
        model = agents.make(
            spec.agent,
            env,
            seed=spec.seed,
            device=ctx.device,
            preset=spec.agent_preset,
            task=spec.task,
            **self.agent_overrides(ctx, cfg),
        )
        ctx.device = agents.view(model).device  # where its networks actually are
        ctx.model = model
        proxy = self.proxy_wrapper(ctx)
        if proxy is not None:
            ctx.evaluator.add_proxy(proxy)
        run = RunCallback(ctx, self.policy)
        model.learn(
            total_timesteps=spec.budget,
            callback=[run, *self.callbacks(ctx, model)],
            # TensorBoard's run folder (with tensorboard_log): one per run of a grid
            tb_log_name=f"{ctx.task.id.replace('/', '_')}_{spec.method}_{spec.agent}_s{spec.seed}",
        )
        ctx.finish(model.num_timesteps, self.policy(model))
        self.after_training(ctx, model)
        run.write_tensorboard()
        model.logger.close()  # TensorBoard's event file, if any
        env.close()
