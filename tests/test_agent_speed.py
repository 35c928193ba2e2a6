"""benchmarks/agent_speed.py: its table from synthetic timings, and one tiny pinned run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "agent_speed.py"
_spec = importlib.util.spec_from_file_location("agent_speed", SCRIPT)
speed = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(speed)

TASK = "mujoco/HalfCheetah-v5"
AGENTS = ["sac", "td3", "sbx-sac", "sbx-td3", "sbx-crossq"]
TIMINGS = {
    (TASK, "sac", "cpu"): 50.0,
    (TASK, "td3", "cpu"): 40.0,
    (TASK, "sbx-sac", "cpu"): 125.0,
    (TASK, "sbx-td3", "cpu"): 60.0,
    (TASK, "sbx-crossq", "cpu"): None,  # failed
    (TASK, "sac", "cuda"): 200.0,
    (TASK, "sbx-sac", "cuda"): 250.0,
}
NETS = {a: "256x256" for a in AGENTS} | {"sbx-crossq": "pi 256x256, qf 1024x1024"}


def test_baselines_are_the_sb3_agents_the_specs_follow():
    assert speed.BASELINES["sbx-sac"] == speed.BASELINES["sbx-tqc"] == "sac"
    assert speed.BASELINES["sbx-crossq"] == "sac"
    assert (speed.BASELINES["sbx-td3"], speed.BASELINES["sbx-ppo"]) == ("td3", "ppo")
    assert all(speed.BASELINES[a] == a for a in ("sac", "td3", "ppo"))
    assert set(speed.BASELINES) == set(speed.AGENTS)


def test_rows_ratios_to_baseline_and_to_cpu():
    rows = speed.build_rows(TIMINGS, NETS, [TASK], AGENTS, ["cpu", "cuda"])
    by_agent = {r["agent"]: r for r in rows}
    assert [r["agent"] for r in rows] == AGENTS
    assert by_agent["sac"]["ratio"] == 1.0 and by_agent["td3"]["ratio"] == 1.0
    assert by_agent["sbx-sac"]["ratio"] == 2.5  # 125 / 50
    assert by_agent["sbx-td3"]["ratio"] == 1.5  # 60 / 40 (td3, not sac)
    assert by_agent["sbx-crossq"]["ratio"] is None
    assert by_agent["sac"]["cuda_ratio"] == 4.0 and by_agent["sbx-sac"]["cuda_ratio"] == 2.0
    assert by_agent["td3"]["cuda"] is None and by_agent["td3"]["cuda_ratio"] is None
    assert (by_agent["sbx-sac"]["family"], by_agent["sac"]["family"]) == ("sbx", "sb3")


def test_table_names_each_agent_and_its_nets():
    rows = speed.build_rows(TIMINGS, NETS, [TASK], AGENTS, ["cpu", "cuda"])
    lines = speed.format_table(rows, ["cpu", "cuda"]).splitlines()
    assert lines[0] == (
        "| task | agent | family | baseline | nets | steps/s (cpu) | ratio to baseline "
        "| steps/s (cuda) | cuda / cpu |"
    )
    assert lines[2] == f"| {TASK} | sac | sb3 | sac | 256x256 | 50.0 | 1.00 | 200.0 | 4.00 |"
    assert lines[4] == f"| {TASK} | sbx-sac | sbx | sac | 256x256 | 125.0 | 2.50 | 250.0 | 2.00 |"
    assert lines[5] == f"| {TASK} | sbx-td3 | sbx | td3 | 256x256 | 60.0 | 1.50 | n/a | n/a |"
    crossq = (
        f"| {TASK} | sbx-crossq | sbx | sac | pi 256x256, qf 1024x1024 | n/a | n/a | n/a | n/a |"
    )
    assert lines[6] == crossq
    cpu_only = speed.format_table(speed.build_rows(TIMINGS, NETS, [TASK], AGENTS, ["cpu"]), ["cpu"])
    assert "cuda" not in cpu_only


def test_knn_table():
    rows = [{"pool": 10_000, "old_ms": 12.0, "new_ms": 4.0, "ratio": 3.0}]
    assert speed.format_knn(rows).splitlines()[2] == "| 10,000 | 12.00 | 4.00 | 3.0x |"


def test_one_tiny_measurement_in_a_pinned_subprocess():
    result = speed.measure("sac", "classic/Pendulum-v1", "cpu", steps=50, warmup=20)
    assert result["steps_per_s"] > 0
    assert result["steps"] == 50
    assert result["nets"] == "256x256"


def test_a_failed_measurement_says_why():
    with pytest.raises(RuntimeError, match="no-such-agent"):
        speed.measure("no-such-agent", "classic/Pendulum-v1", "cpu", steps=5, warmup=5)
