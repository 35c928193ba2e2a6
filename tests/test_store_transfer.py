"""Moving a grid between machines: `store export` a store's complete runs to JSON lines,
`store import` them into another store; the report of the copy is the original's."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import yaml

from rewarddesign.bench import (
    ResultsStore,
    SequentialExecutor,
    export_runs,
    import_runs,
    load_grid,
    run_grid,
    run_key,
)
from rewarddesign.bench.report import build_report, to_markdown
from rewarddesign.cli.main import main
from rewarddesign.errors import FileFormatError, SpecError
from tests.conftest import SHORT_GRID

ROWS = (
    "SELECT key, grid, method_label, spec, status, result, final_return, final_success, "
    "started, finished, wall_time, versions, device, attempts, error, traceback "
    "FROM runs ORDER BY key"
)
SERIES = "SELECT * FROM series ORDER BY run_key, name, step"


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> SimpleNamespace:
    """A store of two real tiny grids: `a` (seeds 0 and 1) and `b` (seed 2), 3 runs."""
    root = tmp_path_factory.mktemp("transfer")
    grids = {}
    for name, seeds in (("a", [0, 1]), ("b", [2])):
        grids[name] = root / f"{name}.yaml"
        grids[name].write_text(yaml.safe_dump(SHORT_GRID | {"name": name, "seeds": seeds}))
    store = ResultsStore(root / "src.sqlite")
    for path in grids.values():
        run_grid(load_grid(str(path)), store, SequentialExecutor("cpu"))
    store.close()
    return SimpleNamespace(root=root, store=root / "src.sqlite", grids=grids)


def dump(path) -> tuple[list, list]:
    store = ResultsStore(path)
    try:
        return store._db.execute(ROWS).fetchall(), store._db.execute(SERIES).fetchall()
    finally:
        store.close()


def exported(src, tmp_path, name="runs.jsonl", grid=None) -> tuple:
    store = ResultsStore(src.store)
    count = export_runs(store, tmp_path / name, grid=grid)
    store.close()
    return tmp_path / name, count


def test_export_then_import_copies_every_row_series_and_the_report(src, tmp_path):
    path, count = exported(src, tmp_path)
    assert count == 3
    docs = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(d["grid"], d["key"]) for d in docs] == sorted((d["grid"], d["key"]) for d in docs)
    assert docs[0]["result"]["curve"] and docs[0]["result"]["versions"]  # the whole result
    dst = ResultsStore(tmp_path / "dst.sqlite")
    assert import_runs(dst, path) == (3, 0)
    assert dump(dst.path) == dump(src.store)  # every column (wall time, versions, ...)
    original = ResultsStore(src.store)
    assert [(lab, r.to_json()) for lab, r in dst.results()] == [
        (lab, r.to_json()) for lab, r in original.results()
    ]
    assert to_markdown(build_report(dst.results(), reps=50)) == to_markdown(
        build_report(original.results(), reps=50)
    )
    assert export_runs(dst, tmp_path / "again.jsonl") == 3
    assert (tmp_path / "again.jsonl").read_bytes() == path.read_bytes()  # the same file
    assert import_runs(dst, path) == (0, 3)  # a second import skips every run
    assert dump(dst.path) == dump(src.store)


def test_import_keeps_the_source_order_whatever_the_line_order(src, tmp_path):
    path, _ = exported(src, tmp_path)
    lines = path.read_text().splitlines()
    (tmp_path / "reversed.jsonl").write_text("\n".join(reversed(lines)) + "\n\n")  # + a blank
    dst = ResultsStore(tmp_path / "dst.sqlite")
    assert import_runs(dst, tmp_path / "reversed.jsonl") == (3, 0)
    order = [r.spec.seed for _, r in ResultsStore(src.store).results()]
    assert order == [0, 1, 2] and [r.spec.seed for _, r in dst.results()] == order


def test_running_and_failed_keys_are_replaced_complete_ones_kept(src, tmp_path):
    path, _ = exported(src, tmp_path)
    grid = load_grid(str(src.grids["a"]))
    (k0, k1), specs = [run_key(r.spec) for r in grid.runs], [r.spec for r in grid.runs]
    dst = ResultsStore(tmp_path / "dst.sqlite")
    dst.mark_running(k0, "a", "true", specs[0])  # a run in flight when the machine went
    dst.mark_running(k1, "a", "true", specs[1])
    dst.record_failure(k1, "boom", "Traceback ...")
    assert dst.statuses([k0, k1]) == {k0: "running", k1: "failed"}
    assert import_runs(dst, path) == (3, 0)
    assert dump(dst.path) == dump(src.store)  # replaced whole: no error left, attempts copied

    other = ResultsStore(tmp_path / "other.sqlite")
    run_grid(load_grid(str(src.grids["b"])), other, SequentialExecutor("cpu"))
    before = dump(other.path)
    assert import_runs(other, path) == (2, 1)  # its own complete run of b stays
    rows, _ = dump(other.path)
    kept = [row for row in rows if row[1] == "b"]
    assert kept == [row for row in before[0] if row[1] == "b"]
    assert kept != [row for row in dump(src.store)[0] if row[1] == "b"]  # its own times


def test_grid_filter_and_an_unknown_grid(src, tmp_path):
    path, count = exported(src, tmp_path, grid="b")
    (doc,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert count == 1 and doc["grid"] == "b" and doc["result"]["spec"]["seed"] == 2
    with pytest.raises(SpecError, match=r"holds no runs of grid 'c'; its grids: a, b\."):
        exported(src, tmp_path, "c.jsonl", grid="c")
    assert not (tmp_path / "c.jsonl").exists()


def _without_result(doc):
    return {k: v for k, v in doc.items() if k != "result"}


def _bad_result(doc):
    return doc | {"result": {**doc["result"], "curve": "x"}}


@pytest.mark.parametrize(
    ("line2", "message"),
    [
        (lambda doc: "{not json", r"line 2 is not JSON \(Expecting property name"),
        (lambda doc: "[1, 2]", r"line 2 holds a JSON list, not an object"),
        (_without_result, r"line 2: missing field\(s\) \['result'\]"),
        (lambda doc: doc | {"extra": 1}, r"line 2: unknown field\(s\) \['extra'\]"),
        (lambda doc: doc | {"key": "xyz"}, r"line 2: key must be 20 hex digits, got 'xyz'"),
        (lambda doc: doc | {"attempts": -1}, r"line 2: attempts must be an integer >= 0"),
        (_bad_result, r"line 2: the result does not parse as a RunResult \(TypeError"),
        (
            lambda doc: doc | {"result": {**doc["result"], "spec": {"seed": 0}}},
            r"line 2: the result does not parse as a RunResult",
        ),
        (lambda doc: None, r"line 2: run key [0-9a-f]{20} is also on line 1"),
    ],
)
def test_a_malformed_line_is_named_and_nothing_is_written(src, tmp_path, line2, message):
    path, _ = exported(src, tmp_path)
    first, second, third = path.read_text().splitlines()
    changed = line2(json.loads(second))
    if changed is None:  # the duplicate case: line 2 repeats line 1
        changed = first
    bad = tmp_path / "bad.jsonl"
    text = changed if isinstance(changed, str) else json.dumps(changed)
    bad.write_text("\n".join([first, text, third]))
    dst = ResultsStore(tmp_path / "dst.sqlite")
    dst.mark_running("0" * 20, "a", "true", load_grid(str(src.grids["a"])).runs[0].spec)
    before = dump(dst.path)
    with pytest.raises(FileFormatError, match=message) as caught:
        import_runs(dst, bad)
    assert str(bad) in str(caught.value)
    assert dump(dst.path) == before  # line 1 was fine, and is not written either


def test_the_cli_moves_a_grid_and_bench_then_runs_nothing(src, tmp_path, capsys):
    out, dst = str(tmp_path / "a.jsonl"), str(tmp_path / "elsewhere" / "a.sqlite")
    assert main(["store", "export", str(src.store), out, "--grid", "a"]) == 0
    assert f"exported 2 complete run(s) of grid a to {out}" in capsys.readouterr().out
    (tmp_path / "elsewhere").mkdir()
    assert main(["store", "import", dst, out]) == 0  # the store is created
    assert f"imported 2 run(s) into {dst}; skipped 0 already complete there" in (
        capsys.readouterr().out
    )
    assert main(["store", "import", dst, out]) == 0
    assert "imported 0 run(s) into" in (printed := capsys.readouterr().out)
    assert "skipped 2 already complete there" in printed

    grid = str(src.grids["a"])
    assert main(["bench", grid, "--store", dst, "--dry-run"]) == 0
    assert "2 runs: 2 complete and skipped, 0 to run" in capsys.readouterr().out
    reports = {}
    for name, args in (("src", [str(src.store), "--grid", grid]), ("dst", [dst])):
        folder = tmp_path / f"{name}-report"
        assert main(["report", *args, "--reps", "50", "--out", str(folder)]) == 0
        printed = capsys.readouterr().out
        reports[name] = (printed.split("\nwrote ")[0], (folder / "report.md").read_text())
    assert reports["dst"] == reports["src"]
    assert "| classic/CartPole-v1 | true | 2 |" in reports["dst"][1]


def test_cli_errors_exit_2_and_create_no_store(src, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{}\n")
    dst = tmp_path / "new.sqlite"
    assert main(["store", "import", str(dst), str(bad)]) == 2
    assert f"error: '{bad}', line 1: missing field(s)" in capsys.readouterr().out
    assert not dst.exists()
    assert main(["store", "import", str(dst), str(tmp_path / "none.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().out and not dst.exists()
    assert main(["store", "export", str(dst), str(tmp_path / "x.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().out and not dst.exists()
    assert main(["store", "export", str(src.store), str(tmp_path / "x.jsonl"), "--grid", "z"]) == 2
    assert "its grids: a, b" in capsys.readouterr().out
