"""Run inside the imitation 1.0.1 venv: preference comparisons on Pendulum-v1 with the
settings of imitation's tutorial 5 (PPO with FeedForward32Policy and RunningNorm
features, 8 envs, n_steps 256, batch 64, lr 2e-3, clip 0.1, ent 0.01, gamma 0.97,
gae 0.95, 10 epochs; fragments of 100 steps, 3 reward epochs, initial epoch multiplier
4, hyperbolic query schedule, exploration 0.05, 5 iterations: the tutorial as written;
its suggested 60 iterations took 10 CPU-minutes for seed 0). Prints one JSON line: seed,
final true return (10 deterministic episodes), wall time of training.

Usage: python train_imitation_pc.py --seed 0 --steps 100000 --labels 1000
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch
from imitation.algorithms import preference_comparisons as pc
from imitation.policies.base import FeedForward32Policy, NormalizeFeaturesExtractor
from imitation.rewards.reward_nets import BasicRewardNet
from imitation.util.networks import RunningNorm
from imitation.util.util import make_vec_env
from stable_baselines3 import PPO


def evaluate(policy, episodes: int, seed: int) -> float:
    env = gym.make("Pendulum-v1")
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        done, total = False, 0.0
        while not done:
            action, _ = policy.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    venv = make_vec_env("Pendulum-v1", rng=rng)
    reward_net = BasicRewardNet(
        venv.observation_space, venv.action_space, normalize_input_layer=RunningNorm
    )
    trainer = pc.BasicRewardTrainer(
        preference_model=pc.PreferenceModel(reward_net),
        loss=pc.CrossEntropyRewardLoss(),
        epochs=3,
        rng=rng,
    )
    agent = PPO(
        policy=FeedForward32Policy,
        policy_kwargs=dict(
            features_extractor_class=NormalizeFeaturesExtractor,
            features_extractor_kwargs=dict(normalize_class=RunningNorm),
        ),
        env=venv,
        seed=args.seed,
        n_steps=2048 // venv.num_envs,
        batch_size=64,
        ent_coef=0.01,
        learning_rate=2e-3,
        clip_range=0.1,
        gae_lambda=0.95,
        gamma=0.97,
        n_epochs=10,
        device="cpu",
    )
    generator = pc.AgentTrainer(
        algorithm=agent, reward_fn=reward_net, venv=venv, exploration_frac=0.05, rng=rng
    )
    comparisons = pc.PreferenceComparisons(
        generator,
        reward_net,
        num_iterations=args.iterations,
        fragmenter=pc.RandomFragmenter(warning_threshold=0, rng=rng),
        preference_gatherer=pc.SyntheticGatherer(rng=rng),
        reward_trainer=trainer,
        fragment_length=100,
        transition_oversampling=1,
        initial_comparison_frac=0.1,
        allow_variable_horizon=False,
        initial_epoch_multiplier=4,
        query_schedule="hyperbolic",
    )
    comparisons.train(total_timesteps=args.steps, total_comparisons=args.labels)
    wall = time.perf_counter() - start
    ret = evaluate(agent.policy, 10, 1_000_000 + args.seed)
    print(
        json.dumps(
            {
                "seed": args.seed,
                "return": ret,
                "wall_time": wall,
                "labels": len(comparisons.dataset),
            }
        )
    )


if __name__ == "__main__":
    main()
