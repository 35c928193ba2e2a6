"""Benchmark statistics: IQM by hand; CIs and P(improvement) equal rliable's own calls."""

from __future__ import annotations

import dataclasses
import html
from html.parser import HTMLParser

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
    # both tasks ran both methods: one group, one aggregate row per method over both tasks
    assert [(a.tasks, a.method, a.n) for a in report.aggregate] == [
        (("classic/Pendulum-v1", "classic/CartPole-v1"), "true", 4),
        (("classic/Pendulum-v1", "classic/CartPole-v1"), "blend", 4),
    ]
    assert report.improvement["blend vs true"].p[0] == pytest.approx(1.0)
    text = to_markdown(report)
    assert "| classic/Pendulum-v1 | blend | 4 | env's own reward |" in text
    assert "optimality gap" in text
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
    shaped = report.improvement["shaped vs true"]
    assert shaped.p[0] == pytest.approx(0.0) and shaped.tasks == ("classic/CartPole-v1",)
    assert "| shaped vs true | classic/CartPole-v1 | 4 | 0.00 [0.00, 0.00] rough |" in (
        to_markdown(report)
    )
    # each group of tasks that ran the same methods has its own aggregate
    assert [(a.tasks, a.method) for a in report.aggregate] == [
        (("classic/Pendulum-v1",), "true"),
        (("classic/Pendulum-v1",), "blend"),
        (("classic/CartPole-v1",), "true"),
        (("classic/CartPole-v1",), "blend"),
        (("classic/CartPole-v1",), "shaped"),
    ]
    assert not any("left out" in n for n in report.notes)


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
    iqm = f"{row.iqm:.1f} [{row.iqm_ci[0]:.1f}, {row.iqm_ci[1]:.1f}] rough"  # 4 seeds
    assert text["IQM [95% stratified bootstrap CI]"] == iqm and f"| {iqm} |" in to_markdown(report)


def test_groups_sort_each_cell_by_seed_in_first_seen_order():
    results = synthetic_results()[::-1]
    grouped = groups.by_task_and_method(results)
    assert list(grouped) == ["classic/CartPole-v1", "classic/Pendulum-v1"]
    assert list(grouped["classic/CartPole-v1"]) == ["blend", "true"]
    assert [r.spec.seed for r in grouped["classic/CartPole-v1"]["true"]] == [0, 1, 2, 3]
    assert groups.method_labels(results) == ["blend", "true"]


def demo_results(seeds: int = 3) -> list[tuple[str, RunResult]]:
    """The shape of `make demo`'s grid (benchmarks/grids/quick.yaml): Pendulum with three
    methods, sparse MountainCar with two, a method label `true` on both."""
    out = []
    for task, runs in (
        ("classic/Pendulum-v1", (("true", -400.0), ("pbrl-100", -300.0), ("heron", -350.0))),
        ("classic/MountainCarContinuous-sparse-v0", (("true", 0.0), ("shaped-energy", 60.0))),
    ):
        for label, base in runs:
            method = {"pbrl-100": "pbrl", "shaped-energy": "shaping"}.get(label, label)
            out += [(label, _result(task, method, s, base + 10.0 * s)) for s in range(seeds)]
    return out


class _Figures(HTMLParser):
    """Each <figure>'s caption: its name and, per panel (<li>), the methods it draws."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, list[list[str]]] = {}
        self._name: str | None = None
        self._in_method = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img" and self._name is None:
            self._name = attrs["alt"]
            self.figures[self._name] = []
        elif tag == "li" and self._name is not None:
            self.figures[self._name].append([])
        elif tag == "span" and attrs.get("class") == "method":
            self._in_method = True

    def handle_endtag(self, tag):
        if tag == "figure":
            self._name = None
        elif tag == "span":
            self._in_method = False

    def handle_data(self, data):
        if self._in_method:
            self.figures[self._name][-1].append(data)


def figure_panels(page: str) -> dict[str, list[list[str]]]:
    """Figure name -> the method labels of each of its panels, from a report's HTML."""
    parser = _Figures()
    parser.feed(page)
    return parser.figures


def test_demo_shaped_report_compares_methods_only_where_they_share_tasks(tmp_path):
    report = build_report(demo_results(), reps=100, seed=0)
    page = write_report(report, tmp_path)["report.html"].read_text()
    panels = figure_panels(page)
    pendulum, mountaincar = ["true", "pbrl-100", "heron"], ["true", "shaped-energy"]
    # one panel per task; the aggregate of a one-task group would repeat its task's panel
    assert panels == {
        "learning_curves.png": [pendulum, mountaincar],
        "interval_estimates.png": [pendulum, mountaincar],
        "performance_profiles.png": [pendulum, mountaincar],
    }
    assert [(a.tasks[0].split("/")[1], a.method) for a in report.aggregate] == [
        ("Pendulum-v1", "true"),
        ("Pendulum-v1", "pbrl-100"),
        ("Pendulum-v1", "heron"),
        ("MountainCarContinuous-sparse-v0", "true"),
        ("MountainCarContinuous-sparse-v0", "shaped-energy"),
    ]
    assert list(report.improvement) == [
        "pbrl-100 vs true",
        "heron vs true",
        "shaped-energy vs true",
    ]
    assert not any("left out" in n or "on tasks" in n for n in report.notes)
    # what each row's `true` is: the env's own reward vs the sparse primary
    text = to_markdown(report)
    row = "| classic/Pendulum-v1 | true | 3 | env's own reward |"
    assert f"{row} -390.0 [-400.0, -380.0] rough |" in text
    sparse = "primary 100*reached_goal (env: 100*reached_goal - 0.1*a_sq)"
    row = f"| classic/MountainCarContinuous-sparse-v0 | true | 3 | {sparse} |"
    assert f"{row} 10.0 [0.0, 20.0] rough |" in text
    # three seeds: every interval says it is rough (the CI of 3 seeds is their min-max)
    assert "| classic/Pendulum-v1 | heron | 3 | 0.832 [0.823, 0.841] rough |" in text
    assert "| heron vs true | classic/Pendulum-v1 | 3 | 1.00 [1.00, 1.00] rough |" in text
    assert groups.ROUGH_NOTE in report.notes and html.escape(groups.ROUGH_NOTE) in page


def test_five_seeds_are_not_rough_and_one_method_gets_no_comparison_figure(tmp_path):
    report = build_report(demo_results(seeds=5), reps=100, seed=0)
    assert groups.ROUGH_NOTE not in report.notes and "rough" not in to_markdown(report)
    only_true = [(m, r) for m, r in demo_results() if m == "true"]
    report = build_report(only_true, reps=100, seed=0)
    assert report.aggregate == [] and report.improvement == {}
    assert "performance_profiles.png" not in report.figures
    (sentence,) = [n for n in report.notes if "no aggregate" in n]
    assert sentence == (
        "no aggregate or performance profile where fewer than two methods share the tasks "
        "(they compare methods): ['classic/Pendulum-v1', "
        "'classic/MountainCarContinuous-sparse-v0'] ran only 'true'."
    )
    assert figure_panels(write_report(report, tmp_path)["report.html"].read_text()) == {
        "learning_curves.png": [["true"], ["true"]],
        "interval_estimates.png": [["true"], ["true"]],
    }
