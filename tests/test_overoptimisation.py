"""Over-optimisation: the proxy return of evaluation episodes is the reward the agent
trains on (exactly, for a blend), logging it leaves a run unchanged, the detection marks a
true-return peak only while the proxy rises, and the report draws and notes it."""

from __future__ import annotations

import numpy as np
import pytest

import rewarddesign as rd
from rewarddesign.bench.report import build_report
from rewarddesign.contract.runspec import EvalPoint, RunResult, RunSpec
from rewarddesign.diagnostics.overoptimisation import find_overoptimisation
from rewarddesign.errors import ParameterError

TASK = "classic/Pendulum-v1"
RUN = dict(seed=0, budget=600, agent_preset="fast", eval_every=300, eval_episodes=2)
RUN |= dict(verbose=0, device="cpu")


def test_a_blends_proxy_return_is_its_weighted_factor_sums():
    w = {"theta_sq": -1.0, "u_sq": -0.5}
    r = rd.run(TASK, "blend", "sac", weights=w, **RUN)
    proxy = dict(r.series["proxy_return"])
    assert sorted(proxy) == [p.step for p in r.curve]
    for p in r.curve:
        assert proxy[p.step] == pytest.approx(-p.factors["theta_sq"] - 0.5 * p.factors["u_sq"])


def test_the_true_method_has_no_proxy_and_a_proxy_leaves_the_run_unchanged(monkeypatch):
    from rewarddesign.methods.shaping import Shaping

    assert "proxy_return" not in rd.run(TASK, "true", "sac", **RUN).series
    shaped = rd.run(TASK, "shaping", "sac", potential="upright", **RUN)
    assert len(shaped.series["proxy_return"]) == len(shaped.curve)
    monkeypatch.setattr(Shaping, "proxy_wrapper", lambda self, ctx: None)
    plain = rd.run(TASK, "shaping", "sac", potential="upright", **RUN)
    assert "proxy_return" not in plain.series
    assert plain.curve == shaped.curve and plain.final_return == shaped.final_return


def test_a_learned_rewards_proxy_is_the_model_of_that_moment():
    params = dict(labels=20, queries=10, interval=200, seed_steps=200, segment=20, hidden=[16])
    r = rd.run(TASK, "pbrl", "sac", reward_epochs=5, **params, **RUN)
    proxy = r.series["proxy_return"]
    assert [s for s, _ in proxy] == [p.step for p in r.curve]
    # standardised learned rewards: a 200-step episode's return is far from the true one's
    assert all(abs(v - p.mean_return) > 1.0 for (_, v), p in zip(proxy, r.curve, strict=True))


def test_the_peak_is_marked_only_when_the_true_return_falls_while_the_proxy_rises():
    steps = [1, 2, 3, 4, 5]
    hit = find_overoptimisation(steps, [0, 4, 10, 6, 5], [0, 1, 2, 3, 4])
    assert (hit.peak_step, hit.peak_true, hit.end_true, hit.max_proxy_after) == (3, 10, 5, 4)
    assert find_overoptimisation(steps, [0, 4, 10, 6, 5], [0, 1, 4, 3, 2]) is None  # proxy falls
    assert find_overoptimisation(steps, [0, 4, 10, 9.9, 9.8], [0, 1, 2, 3, 4]) is None  # noise
    assert find_overoptimisation(steps, [0, 1, 2, 3, 4], [0, 1, 2, 3, 4]) is None
    with pytest.raises(ParameterError, match="differ in length"):
        find_overoptimisation(steps, [0, 1], [0, 1, 2])


def _result(method, seed, true, proxy):
    curve = [EvalPoint(s, t, [t]) for s, t in zip((10, 20, 30, 40), true, strict=True)]
    steps = (10, 20, 30, 40)
    series = {} if proxy is None else {"proxy_return": list(zip(steps, proxy, strict=True))}
    spec = RunSpec(TASK, method, "sac", seed=seed, budget=40)
    return RunResult(spec, curve, true[-1], series=series)


def test_the_report_draws_true_and_proxy_returns_and_notes_the_peak():
    results = [
        ("true", _result("true", 0, [-900, -500, -300, -200], None)),
        ("true", _result("true", 1, [-800, -600, -250, -150], None)),
        ("hacked", _result("blend", 0, [-900, -300, -700, -1000], [1, 2, 3, 4])),
        ("hacked", _result("blend", 1, [-800, -350, -650, -900], [1, 2, 4, 5])),
    ]
    report = build_report(results, reps=20)
    assert report.panels["overoptimisation.png"] == [(f"{TASK}: hacked", ["hacked"])]
    assert report.figures["overoptimisation.png"][:4] == b"\x89PNG"
    notes = [n for n in report.notes if n.startswith("over-optimisation")]
    assert notes == [
        f"over-optimisation, hacked on {TASK}: the true return peaks at step 20 (-325) and ends "
        "at -950 (step 40) while the proxy return rises from 2 to 4.5."
    ]
    no_proxy = build_report(results[:2], reps=20)
    assert "overoptimisation.png" not in no_proxy.figures
    assert np.isfinite(report.cells[0].mean)


def test_barfis_proxy_is_the_blend_being_learned_and_leaves_the_run_unchanged(monkeypatch):
    from rewarddesign.contract.evaluation import Evaluator

    kw = dict(seed=0, budget=300, eval_episodes=1, verbose=0)
    r = rd.run("barfi/GridWorld", "barfi", "pg", **kw)
    assert [s for s, _ in r.series["proxy_return"]] == [p.step for p in r.curve]
    monkeypatch.setattr(Evaluator, "add_proxy", lambda self, wrap: None)
    plain = rd.run("barfi/GridWorld", "barfi", "pg", **kw)
    assert "proxy_return" not in plain.series and plain.curve == r.curve
