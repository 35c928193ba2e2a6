"""pbrl: the transition store lines up with SB3's replay buffer, relabelling rewrites every
stored reward from the model, feedback sessions charge the budget, and bad parameters
fail before the run."""

from __future__ import annotations

import numpy as np
import pytest

import rewarddesign as rd
from rewarddesign.contract.evaluation import Evaluator
from rewarddesign.contract.runspec import EvalSpec, RunSpec
from rewarddesign.errors import ParameterError, SpecError, UnknownNameError
from rewarddesign.experiment.runner import validate
from rewarddesign.methods.base import RunContext
from rewarddesign.methods.pbrl import Pbrl
from rewarddesign.models.relabel import relabel_buffer

PARAMS = {
    "labels": 30,
    "queries": 10,
    "interval": 150,
    "seed_steps": 200,
    "segment": 20,
    "hidden": [32, 32],
    "reward_epochs": 20,
}


def run_pbrl(budget=500, agent="sac", agent_overrides=None, **params):
    spec = RunSpec(
        task="classic/Pendulum-v1",
        method="pbrl",
        agent=agent,
        seed=0,
        budget=budget,
        method_params={**PARAMS, **params},
        agent_preset="fast",
        agent_overrides=agent_overrides or {},
        eval=EvalSpec(every=budget, episodes=1),
    )
    method = validate(spec)
    task = rd.task_spec(spec.task)
    ctx = RunContext(
        spec=spec,
        task=task,
        device="cpu",
        rng=np.random.default_rng(0),
        evaluator=Evaluator(task, 1, 0),
    )
    method.train(ctx)
    return method, ctx


def test_feedback_sessions_charge_labels_and_relabel_the_whole_buffer():
    method, ctx = run_pbrl()
    # sessions at steps 200, 350 and 500: 10 labels each, budget 30
    assert ctx.labels_used == 30
    assert [s for s, _ in ctx.series["labels_charged"]] == [200, 350, 500]
    assert [v for _, v in ctx.series["labels_charged"]] == [10.0, 20.0, 30.0]
    assert all(0.0 <= v <= 1.0 for _, v in ctx.series["reward_accuracy"])
    rb, model = ctx.model.replay_buffer, method.reward_model
    used = rb.pos
    assert used == 500
    expected = model.predict(
        rb.observations[:used, 0], ctx.model.policy.unscale_action(rb.actions[:used, 0])
    )
    # float32 matmuls of other batch sizes round differently in the last bits
    np.testing.assert_allclose(rb.rewards[:used, 0], expected, rtol=1e-5, atol=1e-6)


def test_standardized_rewards_have_mean_0_and_std_1_over_the_last_sessions_experience():
    method, ctx = run_pbrl(bounded=False, standardize=True)
    # the last session (step 500) saw every step so far and relabelled the whole buffer
    rewards = ctx.model.replay_buffer.rewards[:500, 0]
    assert abs(rewards.mean()) < 1e-4 and abs(rewards.std() - 1) < 1e-4
    assert float(method.reward_model.out_scale) != 1.0


def test_input_normalisation_is_fitted_on_the_first_sessions_experience_and_kept():
    method, ctx = run_pbrl(normalize_inputs=True)
    model, rb = method.reward_model, ctx.model.replay_buffer
    # the first session (step 200) saw the 200 seed steps: observations and env actions
    x = np.concatenate(
        [rb.observations[:200, 0], ctx.model.policy.unscale_action(rb.actions[:200, 0])], -1
    )
    np.testing.assert_allclose(model.mean.numpy(), x.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model.std.numpy(), x.std(0), rtol=1e-4, atol=1e-5)
    # later sessions leave it alone; the relabelled buffer is still the model's prediction
    expected = model.predict(
        rb.observations[:500, 0], ctx.model.policy.unscale_action(rb.actions[:500, 0])
    )
    np.testing.assert_allclose(rb.rewards[:500, 0], expected, rtol=1e-5, atol=1e-6)


def test_pbrl_with_td3_and_entropy_selection():
    method, ctx = run_pbrl(budget=400, agent="td3", selection="entropy", labels=20)
    assert ctx.labels_used == 20 and type(ctx.model).__name__ == "TD3"
    rb = ctx.model.replay_buffer
    actions = ctx.model.policy.unscale_action(rb.actions[:400, 0])
    expected = method.reward_model.predict(rb.observations[:400, 0], actions)
    # float32 matmuls of other batch sizes round differently in the last bits
    np.testing.assert_allclose(rb.rewards[:400, 0], expected, rtol=1e-5, atol=1e-6)


def test_store_positions_line_up_with_the_replay_buffer():
    from stable_baselines3.common.callbacks import BaseCallback

    from rewarddesign.preferences.store import TransitionStore

    class Record(BaseCallback):
        def _on_training_start(self):
            self.store = TransitionStore(self.model.replay_buffer.buffer_size, 1, 3)

        def _on_step(self):
            info = self.locals["infos"][0]
            self.store.record(
                self.model.replay_buffer.pos,
                np.array([info["true_reward"]]),
                info["factors"][None],
                np.array([False]),
                np.array([info.get("TimeLimit.truncated", False)]),
            )
            return True

    env = rd.make("classic/Pendulum-v1")
    agent = rd.agents.make("sac", env, seed=0, preset="fast", buffer_size=300, learning_starts=1000)
    cb = Record()
    agent.learn(450, callback=cb)  # wraps around the 300-slot buffer
    rb, store = agent.replay_buffer, cb.store
    assert rb.full and store.count == 450
    np.testing.assert_allclose(rb.rewards[:, 0], store.true_reward[:, 0].astype(np.float32))
    view = store.view(rb, actions_fn=agent.policy.unscale_action)
    assert len(view.rewards) == 300 and view.episode_starts[0]
    # the oldest kept step (150), and the resets at steps 200 and 400
    assert np.flatnonzero(view.episode_starts).tolist() == [0, 50, 250]
    np.testing.assert_allclose(view.rewards, view.factors @ [-1.0, -0.1, -0.001], atol=1e-5)
    # relabelling with a model gives exactly its predictions (here: the true reward form)

    class TrueForm:
        def predict(self, obs, actions, next_obs):
            theta = np.arctan2(obs[:, 1], obs[:, 0])
            u = np.clip(actions[:, 0], -2, 2)
            return -(theta**2 + 0.1 * obs[:, 2] ** 2 + 0.001 * u**2)

    assert relabel_buffer(rb, TrueForm(), actions_fn=agent.policy.unscale_action) == 300
    np.testing.assert_allclose(rb.rewards[:, 0], store.true_reward[:, 0], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"labels": 5, "queries": 10}, ParameterError, "smaller than one session"),
        ({"selection": "best"}, UnknownNameError, "pbrl selection"),
        ({"teacher": "oracle"}, UnknownNameError, "pbrl teacher"),
        ({"teacher": "regret"}, ParameterError, r"needs teacher_params\.expert"),
        ({"teacher_params": {"beta": -1}}, ParameterError, "beta must be >= 0"),
        ({"segment": 0}, ParameterError, "segment must be an integer >= 1"),
    ],
)
def test_bad_pbrl_parameters_fail_before_the_run(params, error, match):
    spec = RunSpec(
        task="classic/Pendulum-v1", method="pbrl", agent="sac", budget=100, method_params=params
    )
    with pytest.raises(error, match=match):
        validate(spec)


def test_hierarchical_teacher_needs_a_ranking():
    spec = RunSpec(
        task="mujoco/Walker2d-v5",
        method="pbrl",
        agent="sac",
        budget=100,
        method_params={"teacher": "hierarchical"},
    )
    with pytest.raises(SpecError, match="no `heron:` section"):
        validate(spec)


def test_pbrl_agents_and_pretraining_only_off_policy():
    assert Pbrl.agents == tuple(rd.agents.AGENTS)  # SB3 and SBX alike
    with pytest.raises(ParameterError, match="needs an off-policy agent"):
        validate(
            RunSpec(
                task="classic/Pendulum-v1",
                method="pbrl",
                agent="ppo",
                budget=4096,
                method_params={"pretrain_steps": 100},
            )
        )


def test_ppo_trains_on_the_current_models_reward(monkeypatch):
    """PPO: every reward of every rollout is the reward model's prediction for that
    (obs, env action), computed by the model of that moment (sessions between rollouts)."""
    from stable_baselines3.common.callbacks import BaseCallback

    class Recorder(BaseCallback):
        gaps: list = []

        def _on_step(self):
            obs, act = self.model._last_obs, self.locals["clipped_actions"]
            predicted = self.model_under_test.predict(obs, act)
            self.gaps.append(np.abs(self.locals["rewards"] - predicted).max())
            return True

    original = Pbrl.callbacks

    def callbacks(self, ctx, model):
        Recorder.model_under_test = self.reward_model
        return [*original(self, ctx, model), Recorder()]

    monkeypatch.setattr(Pbrl, "callbacks", callbacks)
    small = {"n_envs": 2, "n_steps": 64, "batch_size": 64}
    _, ctx = run_pbrl(budget=512, agent="ppo", seed_steps=100, labels=20, agent_overrides=small)
    assert type(ctx.model).__name__ == "PPO" and ctx.labels_used == 20
    # 4 rollouts of 2 x 64 steps; sessions at the ends of the first two
    assert [s for s, _ in ctx.series["labels_charged"]] == [128, 256]
    assert len(Recorder.gaps) == 256 and max(Recorder.gaps) < 1e-5  # float32 VecEnv rewards
    assert ctx.series["reward_accuracy"]


def test_pebble_pretraining_uses_the_state_entropy_reward_until_the_first_labels():
    from rewarddesign.models.entropy import EntropyReplayBuffer

    _, ctx = run_pbrl(budget=500, seed_steps=100, pretrain_steps=200, labels=20)
    rb = ctx.model.replay_buffer
    assert isinstance(rb, EntropyReplayBuffer) and rb.intrinsic is None  # ended at 300
    assert ctx.model.learning_starts == 100  # learns on the entropy reward from step 100
    assert [s for s, _ in ctx.series["labels_charged"]] == [300, 450]


# PPO with pbrl on gridworld/delivery: two feedback sessions in 512 steps (a few seconds)
DELIVERY_PPO = dict(
    task="gridworld/delivery",
    method="pbrl",
    agent="ppo",
    seed=0,
    budget=512,
    agent_preset="fast",
    agent_overrides={"n_envs": 2, "n_steps": 64, "batch_size": 64},
    eval_episodes=1,
    labels=20,
    queries=10,
    interval=128,
    seed_steps=100,
    segment=5,
    hidden=[16],
)


def test_ppo_on_a_discrete_observation_space_labels_and_fits():
    """gridworld/delivery: SB3's buffer keeps each state as a column (..., 1); the session's
    segments hold state indices, as a trajectory file does."""
    result = rd.run(**DELIVERY_PPO)
    assert result.labels_used == 20
    assert [s for s, _ in result.series["labels_charged"]] == [128, 256]
    assert all(0.0 <= v <= 1.0 for _, v in result.series["reward_accuracy"])


def test_regret_labels_on_a_tabular_task_come_from_value_iteration(monkeypatch):
    """No expert on gridworld/delivery: the exact oracle, built once for the whole run
    (validation and both sessions), as ``rewarddesign label --teacher regret`` uses."""
    from rewarddesign.preferences import ValueIterationOracle

    built = []
    from_env = ValueIterationOracle.from_env.__func__

    def counted(cls, env, discount):
        built.append(discount)
        return from_env(cls, env, discount)

    monkeypatch.setattr(ValueIterationOracle, "from_env", classmethod(counted))
    result = rd.run(
        **DELIVERY_PPO,
        teacher="regret",
        teacher_params={"beta": 1.0},
    )
    assert result.labels_used == 20
    assert built == [0.99]  # the default discount of `rewarddesign label --discount`
