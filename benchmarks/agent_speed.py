"""Training speed (env steps/s) of every agent beside its SB3 baseline, plus k-NN reward cost.

Usage:
    python benchmarks/agent_speed.py [--steps 3000] [--repeats 1] [--agents sac sbx-sac ...]
        [--tasks mujoco/HalfCheetah-v5 dmc/walker-walk] [--devices cpu cuda] [--core 0]
        [--ppo-steps N] [--skip-knn] [--knn-repeats 30] [--out FILE]

Every measurement runs in a fresh subprocess of this script (``--one AGENT TASK DEVICE``)
pinned to one core, with one torch thread and XLA single-threaded (set before JAX is
imported), one at a time. Same settings for all agents: 256x256 nets (except
sbx-crossq, measured with SBX's own nets; the ``nets`` column says what each agent
built), batch 256, train_freq 1, gradient_steps 1, learning_starts 100, a 100k buffer.
PPO keeps its spec's settings (n_steps 2048, ...; ``--ppo-steps`` shrinks n_steps for
a smoke run only). The JIT/compile warm-up is left out: each subprocess first learns a
warm-up chunk (learning_starts + 300 steps; PPO one rollout), then times
``model.learn(steps, reset_num_timesteps=False)`` (PPO: whole rollouts + updates) and
reports the steps done / seconds. ``--repeats`` fresh subprocesses per cell; the median
is shown. An SBX agent's baseline is the SB3 agent its spec follows; baselines of the
picked agents are always measured. cuda columns appear when torch or JAX sees a GPU.
Then the k-NN state-entropy reward's ms per call, old and new (benchmarks/knn_speed.py),
in a pinned single-thread subprocess too.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import rewarddesign as rd

AGENTS = ("sac", "td3", "ppo", "sbx-sac", "sbx-td3", "sbx-tqc", "sbx-crossq", "sbx-ppo")
TASKS = ("mujoco/HalfCheetah-v5", "dmc/walker-walk")
# an SBX agent's baseline is the SB3 agent whose settings its spec follows
BASELINES = {agent: rd.agents.kind(agent).counterpart for agent in AGENTS}
OWN_NETS = {"sbx-crossq"}  # measured with its own default (wide critic) nets
LEARNING_STARTS = 100
WARMUP = 300  # steps after learning_starts: the JIT compiles and caches warm up
KNN_SCRIPT = Path(__file__).with_name("knn_speed.py")


def pin(core: int) -> None:
    """One core, one torch thread, single-threaded XLA: call before JAX is imported."""
    os.sched_setaffinity(0, {core})
    rd.agents.single_threaded_xla()
    import torch

    torch.set_num_threads(1)


def _overrides(agent: str, ppo_steps: int | None) -> dict[str, Any]:
    nets = {} if agent in OWN_NETS else {"policy_kwargs": {"net_arch": [256, 256]}}
    if not rd.agents.kind(agent).off_policy:
        return nets | ({"n_steps": ppo_steps} if ppo_steps else {})
    fixed = {"batch_size": 256, "train_freq": 1, "gradient_steps": 1, "buffer_size": 100_000}
    return nets | fixed | {"learning_starts": LEARNING_STARTS}


def _nets(model: Any) -> str:
    """The hidden layers the agent built, e.g. ``256x256`` or ``pi 256x256, qf 1024x1024``."""
    policy, size = model.policy, lambda arch: "x".join(map(str, arch))
    parts = {k: getattr(policy, f"net_arch_{k}", None) for k in ("pi", "qf", "vf")}
    parts = {k: v for k, v in parts.items() if v is not None}  # SBX keeps one per head
    arch = parts or getattr(policy, "net_arch", None)
    if isinstance(arch, dict):
        sizes = {k: size(v) for k, v in arch.items()}
        if len(set(sizes.values())) == 1:
            return next(iter(sizes.values()))
        return ", ".join(f"{k} {v}" for k, v in sizes.items())
    return size(arch) if arch else "?"


def measure_here(
    agent: str, task: str, device: str, steps: int, warmup: int, ppo_steps: int | None
) -> dict[str, Any]:
    """Build the agent, learn the warm-up chunk, time ``steps`` more (this process)."""
    model = rd.agents.make(
        agent, rd.make(task), seed=0, device=device, **_overrides(agent, ppo_steps)
    )
    if rd.agents.kind(agent).off_policy:
        model.learn(LEARNING_STARTS + warmup)
    else:
        model.learn(1)  # one whole rollout and its update
    before, start = model.num_timesteps, time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    seconds = time.perf_counter() - start
    done = model.num_timesteps - before  # PPO rounds up to whole rollouts
    return {"steps_per_s": done / seconds, "steps": done, "nets": _nets(model)}


def _child(args: list[str], core: int) -> dict[str, Any]:
    """Run this script with ``args`` in a fresh process; its last stdout line is JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--core", str(core), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"{' '.join(args)} failed (exit {done.returncode}):\n{tail}")
    return json.loads(lines[-1])


def measure(
    agent: str,
    task: str,
    device: str = "cpu",
    steps: int = 3000,
    warmup: int = WARMUP,
    core: int | None = None,
    ppo_steps: int | None = None,
) -> dict[str, Any]:
    """One measurement in a fresh pinned subprocess: ``{"steps_per_s", "steps", "nets"}``."""
    extra = ["--steps", str(steps), "--warmup", str(warmup)]
    extra += ["--ppo-steps", str(ppo_steps)] if ppo_steps else []
    core = min(os.sched_getaffinity(0)) if core is None else core
    return _child(["--one", agent, task, device, *extra], core)


def probe_here() -> dict[str, Any]:
    """Versions and GPUs as torch and JAX see them (in a child: JAX's GPU stays unclaimed)."""
    import torch

    info: dict[str, Any] = {"torch": torch.__version__, "jax": None, "sbx": None, "jax_gpu": []}
    info["torch_gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    if rd.agents.has_jax():
        import jax
        import sbx

        info["jax"], info["sbx"] = jax.__version__, sbx.__version__
        with contextlib.suppress(RuntimeError):  # no GPU backend, or none visible
            info["jax_gpu"] = [d.device_kind for d in jax.devices("gpu")]
    return info


def knn_here(repeats: int) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("knn_speed", KNN_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"rows": module.knn_rows(pools=(10_000, 100_000), batch=256, dim=17, repeats=repeats)}


def build_rows(
    timings: dict[tuple[str, str, str], float | None],
    nets: dict[str, str],
    tasks: list[str],
    agents: list[str],
    devices: list[str],
) -> list[dict[str, Any]]:
    """Table rows from ``timings[(task, agent, device)]`` (steps/s; None: failed or not run).

    ``ratio`` is steps/s over the baseline's on the cpu; ``<device>_ratio`` is steps/s on
    that device over the agent's own cpu steps/s.
    """
    rows = []
    for task in tasks:
        for agent in agents:
            cpu = timings.get((task, agent, "cpu"))
            base = timings.get((task, BASELINES[agent], "cpu"))
            row = {"task": task, "agent": agent, "family": rd.agents.kind(agent).family}
            row |= {"baseline": BASELINES[agent], "nets": nets.get(agent, "?"), "cpu": cpu}
            row["ratio"] = cpu / base if cpu and base else None
            for device in (d for d in devices if d != "cpu"):
                speed = timings.get((task, agent, device))
                row[device] = speed
                row[f"{device}_ratio"] = speed / cpu if speed and cpu else None
            rows.append(row)
    return rows


def _cell(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def format_table(rows: list[dict[str, Any]], devices: list[str]) -> str:
    """The rows as a markdown table (cuda columns for each non-cpu device)."""
    others = [d for d in devices if d != "cpu"]
    head = ["task", "agent", "family", "baseline", "nets", "steps/s (cpu)", "ratio to baseline"]
    head += [c for d in others for c in (f"steps/s ({d})", f"{d} / cpu")]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * 4 + "---|" + "---:|" * (2 + 2 * len(others)),
    ]
    for r in rows:
        cells = [r["task"], r["agent"], r["family"], r["baseline"], r["nets"]]
        cells += [_cell(r["cpu"], 1), _cell(r["ratio"], 2)]
        cells += [c for d in others for c in (_cell(r[d], 1), _cell(r[f"{d}_ratio"], 2))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_knn(rows: list[dict[str, Any]]) -> str:
    lines = ["| pool size | old ms per call (median) | new ms per call (median) | ratio |"]
    lines.append("|---:|---:|---:|---:|")
    lines += [
        f"| {r['pool']:,} | {r['old_ms']:.2f} | {r['new_ms']:.2f} | {r['ratio']:.1f}x |"
        for r in rows
    ]
    return "\n".join(lines)


def _machine(info: dict[str, Any]) -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    first = {}  # the first core's fields: "model name", "cpu family", "model", "flags"
    for line in lines:
        key, _, value = line.partition(":")
        first.setdefault(key.strip(), value.strip())
    cpu = first.get("model name", "unknown CPU")
    # the same model name covers CPU generations whose speeds differ by 2x here
    cpu += f" (family {first.get('cpu family', '?')}, model {first.get('model', '?')}"
    cpu += ", AVX-512)" if "avx512f" in first.get("flags", "").split() else ", no AVX-512)"
    gpu = info["torch_gpu"] or (info["jax_gpu"] or ["no GPU"])[0]
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{now}; {cpu}, {os.cpu_count()} cores; torch {info['torch']}, jax {info['jax']}, "
        f"sbx {info['sbx']}; GPU: {gpu} (torch sees {info['torch_gpu'] or 'none'}, "
        f"JAX sees {', '.join(info['jax_gpu']) or 'none'})"
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=3000, help="measured env steps per run")
    p.add_argument("--warmup", type=int, default=WARMUP, help="steps after learning_starts")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--agents", nargs="+", choices=AGENTS, default=list(AGENTS))
    p.add_argument("--tasks", nargs="+", default=list(TASKS))
    p.add_argument("--devices", nargs="+", choices=("cpu", "cuda"), default=None)
    p.add_argument("--core", type=int, default=min(os.sched_getaffinity(0)))
    p.add_argument("--ppo-steps", type=int, default=None, help="PPO n_steps, smoke runs only")
    p.add_argument("--skip-knn", action="store_true")
    p.add_argument("--knn-repeats", type=int, default=30)
    p.add_argument("--out", default=None, help="also write the markdown here")
    p.add_argument("--one", nargs=3, metavar=("AGENT", "TASK", "DEVICE"), help=argparse.SUPPRESS)
    p.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--knn", action="store_true", help=argparse.SUPPRESS)
    return p


def main() -> None:
    args = _parser().parse_args()
    if args.one or args.probe or args.knn:  # a child: pin, work, print JSON last
        pin(args.core)
        if args.one:
            result = measure_here(*args.one, args.steps, args.warmup, args.ppo_steps)
        else:
            result = probe_here() if args.probe else knn_here(args.knn_repeats)
        print(json.dumps(result))
        return
    info = _child(["--probe"], args.core)
    gpus = {"sb3": bool(info["torch_gpu"]), "sbx": bool(info["jax_gpu"])}
    devices = args.devices or ["cpu"] + (["cuda"] if any(gpus.values()) else [])
    devices = ["cpu", *(d for d in devices if d != "cpu")]  # ratios need the cpu column
    agents = [a for a in AGENTS if a in args.agents or a in {BASELINES[b] for b in args.agents}]
    out = [f"# Agent training speed\n\n{_machine(info)}"]
    print(out[0] + "\n", flush=True)
    timings: dict[tuple[str, str, str], float | None] = {}
    nets: dict[str, str] = {}
    for task in args.tasks:
        for agent in agents:
            family = rd.agents.kind(agent).family
            for device in (d for d in devices if d == "cpu" or gpus[family]):
                speeds = []
                for _ in range(args.repeats):
                    try:
                        r = measure(
                            agent, task, device, args.steps, args.warmup, args.core, args.ppo_steps
                        )
                    except RuntimeError as exc:
                        print(f"  {exc}", file=sys.stderr)
                        break
                    speeds.append(r["steps_per_s"])
                    nets[agent] = r["nets"]
                timings[(task, agent, device)] = statistics.median(speeds) if speeds else None
                speed = _cell(timings[(task, agent, device)], 1)
                print(f"  {task} {agent} {device}: {speed} steps/s", flush=True)
    rows = build_rows(timings, nets, args.tasks, agents, devices)
    out.append(
        f"Env steps/s of training, median of {args.repeats}; {args.steps} measured steps after the "
        f"warm-up (PPO: whole rollouts); one core, one thread; 256x256 nets except sbx-crossq "
        f"(its own){f'; PPO n_steps {args.ppo_steps} (smoke run)' if args.ppo_steps else ''}.\n\n"
        + format_table(rows, devices)
    )
    if args.skip_knn:
        pass
    elif not KNN_SCRIPT.exists():
        out.append("k-NN: benchmarks/knn_speed.py not found")
    else:
        knn = _child(["--knn", "--knn-repeats", str(args.knn_repeats)], args.core)
        out.append(
            "k-NN state-entropy reward, batch 256, dim 17, one thread:\n\n"
            + format_knn(knn["rows"])
        )
    text = "\n\n".join(out[1:])
    print(text)
    if args.out:
        Path(args.out).write_text("\n\n".join(out) + "\n")


if __name__ == "__main__":
    main()
