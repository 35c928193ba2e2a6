"""SAC training speed on each available torch device, side by side in one process.

Usage: python benchmarks/device_speed.py [--budget 3000] [--task classic/Pendulum-v1]

For each preset (fast: 64x64 nets; default: 256x256) and each device (cpu, and cuda when
torch sees one), runs ``rd.run(task, "true", "sac", seed=0, budget)`` with one final
evaluation and prints env steps per second and the ratio to cpu.
"""

from __future__ import annotations

import argparse

import torch

import rewarddesign as rd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=3000)
    parser.add_argument("--task", default="classic/Pendulum-v1")
    args = parser.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    print(f"torch {torch.__version__}, {name}, auto -> {rd.agents.resolve_device('auto')}")
    print("| preset | device | steps/s | ratio to cpu | final true return |")
    print("|---|---|---:|---:|---:|")
    for preset in ("fast", None):
        base = None
        for device in devices:
            r = rd.run(
                args.task,
                "true",
                "sac",
                seed=0,
                budget=args.budget,
                agent_preset=preset,
                eval_every=args.budget,
                eval_episodes=2,
                device=device,
            )
            speed = r.env_steps / r.wall_time
            base = base or speed
            print(
                f"| {preset or 'default'} | {r.device} | {speed:.0f} | {speed / base:.2f} "
                f"| {r.final_return:.0f} |"
            )


if __name__ == "__main__":
    main()
