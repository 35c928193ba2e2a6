"""Benchmark statistics: IQM by hand; CIs and P(improvement) equal rliable's own calls."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from rliable import library as rly
from rliable import metrics

from rewarddesign.bench import groups, stats, summarize
from rewarddesign.bench.report import build_report, to_markdown, write_report
from rewarddesign.bench.table import COLUMNS, row_text
from rewarddesign.contract.runspec import EvalPoint, RunResult, RunSpec
from rewarddesign.errors import RewardDesignError, SpecError
from rewarddesign.methods.blend import Blend
from rewarddesign.methods.true_reward import TrueReward


def test_iqm_on_an_asymmetric_table_by_hand():
    scores = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [100.0, 1000.0]])
    # 8 values sorted: 1 2 3 10 20 30 100 1000; drop 2 lowest and 2 highest: 3 10 20 30
    assert stats.iqm(scores) == pytest.approx((3 + 10 + 20 + 30) / 4)


def test_interval_estimates_equal_rliable_with_the_same_seed():
    rng = np.random.default_rng(0)
    scores = {"a": rng.normal(size=(5, 3)), "b": rng.normal(1.0, size=(5, 3))}
    points, cis = stats.interval_estimates(scores, stats.iqm_and_gap, reps=500, seed=7)
    func = lambda x: np.array([metrics.aggregate_iqm(x), metrics.aggregate_optimality_gap(x)])  # noqa: E731
    np.random.seed(7)  # rliable resamples from numpy's global generator
    ref_points, ref_cis = rly.get_interval_estimates(
        scores, func, reps=500, random_state=np.random.RandomState(7)
    )
    for k in scores:
        np.testing.assert_allclose(points[k], ref_points[k])
        np.testing.assert_allclose(cis[k], ref_cis[k])


def test_probability_of_improvement_equals_rliable():
    rng = np.random.default_rng(1)
    scores = {"x": rng.normal(1.0, size=(6, 2)), "y": rng.normal(size=(6, 2))}
    points, cis = stats.probability_of_improvement([("x", "y")], scores, reps=300, seed=3)
    np.random.seed(3)
    ref_points, ref_cis = rly.get_interval_estimates(
        {"x vs y": (scores["x"], scores["y"])},
        metrics.probability_of_improvement,
        reps=300,
        random_state=np.random.RandomState(3),
    )
    assert points["x vs y"] == pytest.approx(float(ref_points["x vs y"]))
    np.testing.assert_allclose(cis["x vs y"], np.ravel(ref_cis["x vs y"]))
    assert points["x vs y"] == pytest.approx(
        metrics.probability_of_improvement(scores["x"], scores["y"])
    )


def _result(task: str, method: str, seed: int, final: float) -> RunResult:
    spec = RunSpec(task=task, method=method, agent="sac", seed=seed, budget=100)
    curve = [EvalPoint(50, final - 100.0, [final - 100.0]), EvalPoint(100, final, [final])]
    return RunResult(spec=spec, curve=curve, final_return=final, wall_time=1.0)


def synthetic_results():
    out = []
    for task, base in (("classic/Pendulum-v1", -800.0), ("classic/CartPole-v1", 100.0)):
        for seed in range(4):
            out.append(("true", _result(task, "true", seed, base + 10.0 * seed)))
            out.append(("blend", _result(task, "blend", seed, base + 200.0 + 10.0 * seed)))
    return out


def test_report_tables_aggregate_and_files(tmp_path):
    report = build_report(synthetic_results(), reps=200, seed=0)
    cell = next(c for c in report.cells if c.task == "classic/CartPole-v1" and c.method == "true")
    assert cell.n == 4 and cell.mean == pytest.approx(115.0)
    assert cell.iqm == pytest.approx(115.0)  # seeds give 100, 110, 120, 130: IQM of 110, 120
    assert cell.mean_ci[0] <= 115.0 <= cell.mean_ci[1]
    assert set(report.aggregate) == {"true", "blend"}
    assert report.improvement["blend vs true"][0] == pytest.approx(1.0)
    text = to_markdown(report)
    assert "| classic/Pendulum-v1 | blend | 4 |" in text and "optimality gap" in text
    paths = write_report(report, tmp_path, "test report")
    assert {
        "report.md",
        "scores.csv",
        "report.html",
        "learning_curves.png",
        "interval_estimates.png",
        "performance_profiles.png",
    } <= set(paths)
    assert all(paths[n].read_bytes().startswith(b"\x89PNG") for n in paths if n.endswith(".png"))
    csv_lines = paths["scores.csv"].read_text().splitlines()
    assert len(csv_lines) == 17 and csv_lines[0].startswith("task,method,agent,seed")


def test_report_plots_learned_weights_when_barfi_runs_record_them(tmp_path):
    results = synthetic_results()
    assert "learned_weights.png" not in build_report(results, reps=20).figures
    for i, (_, r) in enumerate(results[:4]):
        r.series["phi3"] = [(10 + i, 1.0), (60, 0.5 - 0.1 * i), (100, 0.2)]
        r.series["gamma"] = [(10, 0.99), (100, 0.95)]
    # the weights plot is BARFI's (its report_figures hook), not the generic report's
    assert "learned_weights.png" not in build_report(results, reps=20).figures
    for _, r in results[:4]:
        r.spec = dataclasses.replace(r.spec, method="barfi")
    paths = write_report(build_report(results, reps=20), tmp_path)
    assert paths["learned_weights.png"].read_bytes().startswith(b"\x89PNG")


def test_report_figures_come_from_each_methods_hook(monkeypatch):
    results = synthetic_results()
    results.append(("gone", _result("classic/CartPole-v1", "gone", 0, 1.0)))
    seen = {}

    def hook(cls, runs):
        seen[cls.name] = sorted({label for label, _ in runs})
        return {"blend_extra.png": b"\x89PNG"}

    monkeypatch.setattr(Blend, "report_figures", classmethod(hook))
    report = build_report(results, reps=20)
    assert seen == {"blend": ["blend"]} and report.figures["blend_extra.png"] == b"\x89PNG"
    assert "method 'gone' is not registered: no figures of its own" in report.notes
    monkeypatch.setattr(Blend, "report_figures", classmethod(lambda cls, runs: {"x.png": b""}))
    monkeypatch.setattr(TrueReward, "report_figures", classmethod(lambda cls, runs: {"x.png": b""}))
    with pytest.raises(RewardDesignError, match=r"'x\.png', a name already taken"):
        build_report(results, reps=20)


def test_report_bad_input():
    with pytest.raises(SpecError, match="no complete runs"):
        build_report([])
    with pytest.raises(SpecError, match="pair blend:nope"):
        build_report(synthetic_results(), pairs=[("blend", "nope")], reps=50)


def test_improvement_between_methods_uses_the_tasks_both_ran():
    results = synthetic_results()
    for seed in range(4):  # a method run on CartPole only
        results.append(("shaped", _result("classic/CartPole-v1", "shaped", seed, 50.0 + seed)))
    report = build_report(results, reps=100, seed=0)
    assert report.improvement["shaped vs true"][0] == pytest.approx(0.0)  # 50s < 100s
    assert "P(improvement) of shaped over true: on tasks ['classic/CartPole-v1']" in report.notes
    assert "shaped" not in report.aggregate  # aggregates need every task


def test_success_rate_with_interval_where_the_task_defines_success():
    results = []
    for seed, success in enumerate([1.0, 1.0, 0.0, 1.0]):
        r = _result("classic/MountainCarContinuous-v0", "true", seed, 90.0)
        r.final_success = success
        results.append(("true", r))
    report = build_report(results, reps=200, seed=0)
    (cell,) = report.cells
    assert cell.success == pytest.approx(0.75)
    assert 0.0 <= cell.success_ci[0] <= 0.75 <= cell.success_ci[1] <= 1.0
    assert "| 75% [" in to_markdown(report)


def test_bench_table_prints_the_reports_intervals_whatever_the_order():
    results = synthetic_results()
    report = build_report(results, reps=200, seed=3)
    assert summarize(results, reps=200, seed=3) == report.cells
    # a cell's interval depends on its own runs only: not on their order, nor on the
    # other methods and tasks of the table
    shuffled = [results[i] for i in np.random.default_rng(0).permutation(len(results))]
    by_cell = {(r.task, r.method): r for r in summarize(shuffled, reps=200, seed=3)}
    (alone,) = summarize(
        [(m, r) for m, r in results if m == "blend" and "Cart" in r.spec.task], 200, 3
    )
    assert by_cell[alone.task, alone.method] == alone
    assert all(by_cell[c.task, c.method] == c for c in report.cells)
    # the table says what its interval is, and shows the report's numbers
    assert "IQM [95% stratified bootstrap CI]" in COLUMNS
    row = next(r for r in report.cells if r.task == "classic/CartPole-v1" and r.method == "true")
    text = dict(zip(COLUMNS, row_text(row), strict=True))
    iqm = f"{row.iqm:.1f} [{row.iqm_ci[0]:.1f}, {row.iqm_ci[1]:.1f}]"
    assert text["IQM [95% stratified bootstrap CI]"] == iqm and f"| {iqm} |" in to_markdown(report)


def test_groups_sort_each_cell_by_seed_in_first_seen_order():
    results = synthetic_results()[::-1]
    grouped = groups.by_task_and_method(results)
    assert list(grouped) == ["classic/CartPole-v1", "classic/Pendulum-v1"]
    assert list(grouped["classic/CartPole-v1"]) == ["blend", "true"]
    assert [r.spec.seed for r in grouped["classic/CartPole-v1"]["true"]] == [0, 1, 2, 3]
    assert groups.method_labels(results) == ["blend", "true"]
