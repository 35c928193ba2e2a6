"""Optuna tuning: the search space, a real small study, pruning, the Pareto front, local
workers sharing a SQLite study, the tuned-weights YAML, and bad input leaving no study;
workers' seeds (no trial repeated on resuming or by workers started apart), progress
lines, default study names and the printed train command."""

from __future__ import annotations

import io
import itertools
import json
import re
import shlex
import threading

import optuna
import pytest
import yaml
from optuna.trial import TrialState

import rewarddesign as rd
from rewarddesign.bench.keys import resolved
from rewarddesign.contract.runspec import RunSpec
from rewarddesign.errors import ParameterError, SpecError, StorageError, UnknownNameError
from rewarddesign.tuning import (
    Dimension,
    TuneConfig,
    open_storage,
    search_space,
    storage_url,
    tune,
    work,
    write_best,
)
from rewarddesign.tuning.progress import StudyProgress
from rewarddesign.tuning.sampler import worker_seed
from rewarddesign.tuning.space import suggest
from rewarddesign.tuning.study import default_study_name

PENDULUM = "classic/Pendulum-v1"
SMALL = {"budget": 200, "agent_preset": "fast", "eval_episodes": 1, "eval_every": 100}
# one evaluation per run: the cheapest real trial (about 1 s)
TINY = {"budget": 100, "agent_preset": "fast", "eval_episodes": 1, "eval_every": 100}


def test_search_space_signs_ranges_and_params():
    dims = search_space(PENDULUM, factors=["theta_sq", "u_sq"], ranges={"u_sq": [1e-3, 1.0]})
    assert dims == [
        Dimension("weight", "theta_sq", 0.1, 10.0, True, -1.0),
        Dimension("weight", "u_sq", 1e-3, 1.0, True, -1.0),
    ]
    beta = search_space(PENDULUM, "weighted", params={"beta": [0.3, 1.0]})
    assert beta == [Dimension("param", "beta", 0.3, 1.0, False, 1.0)]
    scale = search_space(PENDULUM, "shaping", params={"scale": [0.1, 10, "log"]})
    assert scale[0].log and scale[0].key == "param.scale"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"factors": ["theta"]}, UnknownNameError, "unknown factor of task 'classic/Pendulum-v1'"),
        ({"ranges": {"u_sq": [1.0, 0.5]}}, ParameterError, "low < high"),
        ({"ranges": {"u_sq": [0.0, 0.5]}}, ParameterError, "0 < low"),
        ({"method": "weighted", "factors": ["u_sq"]}, ParameterError, "blend' only"),
        ({"method": "weighted"}, ParameterError, "nothing to search"),
        ({"method": "weighted", "params": {"bta": [0, 1]}}, UnknownNameError, "bta"),
        ({"method": "weighted", "params": {"order": [0, 1]}}, ParameterError, "not a scalar"),
        ({"method": "weighted", "params": {"beta": [0.1, 1, "lin"]}}, ParameterError, "'log'"),
    ],
)
def test_bad_search_spaces_are_rejected(kwargs, error, match):
    with pytest.raises(error, match=match):
        search_space(PENDULUM, **kwargs)


def test_a_factor_the_reward_does_not_weight_needs_a_range():
    with pytest.raises(ParameterError, match="give its range"):
        search_space("barfi/GridWorld", factors=["goal", "distance"])
    dims = search_space("barfi/GridWorld", factors=["goal"], ranges={"distance": [0.01, 1.0]})
    assert [(d.name, d.low, d.high, d.sign) for d in dims] == [
        ("goal", 10.0, 1000.0, 1.0),
        ("distance", 0.01, 1.0, -1.0),
    ]


def test_a_small_study_writes_weights_that_runs_and_grids_take(tmp_path):
    db = tmp_path / "t.sqlite"
    study = tune(PENDULUM, trials=3, storage=str(db), factors=["theta_sq", "u_sq"], **SMALL)
    finished = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 3 and len(study.trials) == 3
    best = study.best_trial
    assert best.value == pytest.approx(sum(best.user_attrs["final_returns"]))  # one seed
    out = tmp_path / "best.yaml"
    doc = write_best(study, out)
    weights = doc["params"]["weights"]
    assert set(weights) == {"theta_sq", "u_sq"} and all(w < 0 for w in weights.values())
    assert weights["theta_sq"] == pytest.approx(-best.params["weight.theta_sq"])
    assert yaml.safe_load(out.read_text()) == doc
    # a run (and its store key) holds the file's weights, not its path
    spec = RunSpec(PENDULUM, "blend", "sac", 0, 200, method_params={"weights": str(out)})
    assert resolved(spec)["method"]["weights"] == weights
    # resuming the same study adds trials up to the new total
    again = tune(PENDULUM, trials=4, storage=str(db), factors=["theta_sq", "u_sq"], **SMALL)
    assert len(again.trials) == 4


def test_evaluations_are_reported_and_a_pruner_stops_the_trial(tmp_path):
    config = TuneConfig(
        task=PENDULUM,
        method="blend",
        agent="sac",
        budget=200,
        seeds=(1000, 1001),
        space=tuple(search_space(PENDULUM, factors=["theta_sq"])),
        agent_preset="fast",
        eval_every=100,
        eval_episodes=1,
    )
    # Pendulum's returns are negative: a threshold of 0 prunes at the first report
    study = optuna.create_study(
        storage=storage_url(str(tmp_path / "p.sqlite")),
        pruner=optuna.pruners.ThresholdPruner(lower=0.0),
    )
    work(study, config, trials=1)
    trial = study.trials[0]
    assert trial.state == TrialState.PRUNED
    assert list(trial.intermediate_values) == [100]  # seed 0 (k = 0), step 100
    # without pruning, seed k = 1 reports at budget + step, averaged with seed 0's final
    study = optuna.create_study(storage=storage_url(str(tmp_path / "q.sqlite")))
    work(study, config, trials=1)
    trial = study.trials[0]
    assert list(trial.intermediate_values) == [100, 200, 300, 400]
    finals = trial.user_attrs["final_returns"]
    assert trial.intermediate_values[400] == pytest.approx(sum(finals) / 2)
    assert trial.value == pytest.approx(sum(finals) / 2)


def test_a_cost_objective_gives_a_pareto_front(tmp_path):
    study = tune(
        PENDULUM,
        trials=2,
        storage=str(tmp_path / "m.sqlite"),
        cost="u_sq",
        factors=["u_sq"],
        **SMALL,
    )
    assert len(study.directions) == 2
    doc = write_best(study, tmp_path / "front.yaml")
    assert doc["objectives"] == ["final true return", "u_sq episode sum"]
    assert doc["pareto"] and all(
        len(e["values"]) == 2 and e["values"][1] >= 0 for e in doc["pareto"]
    )


def test_two_local_workers_share_a_sqlite_study(tmp_path):
    study = tune(
        PENDULUM,
        trials=4,
        storage=str(tmp_path / "w.sqlite"),
        workers=2,
        factors=["theta_sq"],
        **SMALL,
    )
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) >= 4
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states
    assert len({t.params["weight.theta_sq"] for t in study.trials}) == len(study.trials)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"trials": 0}, ParameterError, "trials must be an integer >= 1"),
        ({"factors": ["torque"]}, UnknownNameError, "torque"),
        ({"cost": "fuel"}, UnknownNameError, "fuel"),
        ({"pruner": "hyperband"}, UnknownNameError, "hyperband"),
        ({"budget": -5}, ParameterError, "budget"),
        ({"sampler_seed": -1}, ParameterError, "sampler_seed must be an integer >= 0, got -1"),
        ({"seed_base": -3}, ParameterError, r"seed_base must be an integer in \[0, 4294967295\]"),
        (
            {"seed_base": 2**32 - 1, "seeds": 2},
            ParameterError,
            r"seed_base must be an integer in \[0, 4294967294\], got 4294967295",
        ),
        ({"worker_id": ""}, ParameterError, "worker_id must be a non-empty string"),
        ({"worker_id": 7}, ParameterError, "worker_id must be a non-empty string.*got 7"),
        ({"heartbeat": 0}, ParameterError, r"heartbeat \(seconds\) must be an integer >= 1"),
        ({"heartbeat": "60"}, ParameterError, "heartbeat .* got '60'"),
        ({"heartbeat": 10, "grace": 5}, ParameterError, "grace must be more seconds .* got 5"),
        ({"retries": -1}, ParameterError, "retries must be an integer >= 0, got -1"),
        ({"device": "tpu"}, ParameterError, "unknown torch device 'tpu'"),
        ({"storage": 5}, ParameterError, "storage must be a URL or a SQLite file path, got int 5"),
        ({"verbose": "yes"}, ParameterError, "verbose must be True or False, got 'yes'"),
        ({"progress_every": 0}, ParameterError, "progress_every must be a positive finite"),
        ({"study": " "}, ParameterError, "study must be a non-empty name"),
        ({"factors": "theta_sq"}, ParameterError, "factors must be a list .* got 'theta_sq'"),
        ({"ranges": {"u_sq": "0.1:1"}}, ParameterError, r"range of 'u_sq' must be \[low, high\]"),
        ({"ranges": {"u_sq": 1.0}}, ParameterError, r"range of 'u_sq' must be .* got 1.0"),
        ({"method_params": "weights"}, SpecError, "method_params must be a YAML mapping"),
        (
            {"method_params": {"weights": {"u_sq": -1.0}}},
            ParameterError,
            "'weights' is both fixed .* and searched",
        ),
        (
            {"method": "weighted", "params": {"beta": [0.1, 1]}, "method_params": {"beta": 0.5}},
            ParameterError,
            "'beta' is both fixed",
        ),
        # the middle (1.0) is a beta weighted takes, the upper end is not
        (
            {"method": "weighted", "params": {"beta": [0.5, 1.5]}},
            ParameterError,
            r"upper end \{'beta': 1.5\} is refused: weighted: beta must be in \(0, 1\]",
        ),
        ({"method": "weighted", "params": {"beta": 0.5}}, ParameterError, "must be .* got 0.5"),
        (
            {"method": "pbrl", "params": {"labels": [10.5, 100]}},
            ParameterError,
            r"'labels' is an integer parameter .* whole bounds, got \[10.5, 100.0\]",
        ),
    ],
)
def test_bad_input_fails_before_a_study_exists(tmp_path, kwargs, error, match):
    db = tmp_path / "bad.sqlite"
    with pytest.raises(error, match=match):
        tune(PENDULUM, **{"trials": 2, "storage": str(db), **SMALL, **kwargs})
    assert not db.exists() or not optuna.get_all_study_names(storage_url(str(db)))


def test_an_unreachable_storage_is_one_clear_error():
    with pytest.raises(StorageError, match=r"cannot open the Optuna storage|driver"):
        open_storage("postgresql://tuner:secret@127.0.0.1:9/nowhere", heartbeat=1, grace=2)
    with pytest.raises(StorageError, match="cannot open") as info:
        open_storage("notadb://x/y")
    assert "secret" not in str(info.value)


def test_a_study_with_another_search_space_is_not_resumed(tmp_path):
    db = str(tmp_path / "s.sqlite")
    tune(PENDULUM, trials=1, storage=db, study="s", factors=["theta_sq"], **SMALL)
    with pytest.raises(SpecError, match=r"already exists .* a different search space"):
        tune(PENDULUM, trials=2, storage=db, study="s", factors=["u_sq"], **SMALL)
    assert len(optuna.load_study(study_name="s", storage=storage_url(db)).trials) == 1


def test_tune_on_the_command_line(tmp_path, capsys):
    from rewarddesign.cli import main

    out = tmp_path / "w.yaml"
    code = main(
        [
            "tune",
            PENDULUM,
            "--trials",
            "1",
            "--storage",
            str(tmp_path / "c.sqlite"),
            "--budget",
            "200",
            "--preset",
            "fast",
            "--eval-episodes",
            "1",
            "--factors",
            "theta_sq",
            "--out",
            str(out),
        ]
    )
    assert code == 0 and "optuna-dashboard sqlite:///" in capsys.readouterr().out
    result = rd.run(
        PENDULUM, "blend", "sac", budget=200, agent_preset="fast", eval_episodes=1, weights=str(out)
    )
    assert set(result.spec.method_params) == {"weights"}
    assert main(["tune", PENDULUM, "--trials", "0", "--storage", str(tmp_path / "z")]) == 2
    assert main(["tune", PENDULUM, "--trials", "1", "--range", "u_sq=1"]) == 2


def test_worker_seeds_differ_by_every_input_and_repeat_for_the_same():
    assert worker_seed(0, 0, "a") == worker_seed(0, 0, "a", 0) == 2105058137
    # another local index, trials at start, worker id or sampler seed: another seed
    assert worker_seed(0, 0, "a", 1) == 3053727204
    assert worker_seed(0, 2, "a") == 3110586673
    assert worker_seed(0, 0, "b") == 2583708560
    assert worker_seed(1, 0, "a") == 2935200624
    with pytest.raises(ParameterError, match="sampler_seed must be an integer >= 0"):
        worker_seed(-1, 0, "a")


def _params(db: str, name: str) -> list[float]:
    trials = optuna.load_study(study_name=name, storage=storage_url(db)).trials
    return [t.params["weight.theta_sq"] for t in trials]


def test_a_resumed_study_never_repeats_a_trial(tmp_path, capsys, no_forced_terminal):
    db = str(tmp_path / "r.sqlite")
    call = {"storage": db, "factors": ["theta_sq"], "worker_id": "laptop", **TINY}
    first = tune(PENDULUM, trials=1, **call)
    # the default progress: one last line even when the trials took under 10 s
    out = capsys.readouterr().out
    assert re.fullmatch(
        rf"study {re.escape(first.study_name)}: 1/1 trials finished, best \S+ \(trial 0\), "
        r"\d+s elapsed\n",
        out,
    )
    # the same call, resumed to 2 trials (as after an interrupted run): a new parameter
    # (a sampler seeded as at the start drew trial 0's again)
    again = tune(PENDULUM, trials=2, verbose=False, **call)
    assert again.study_name == first.study_name and capsys.readouterr().out == ""
    params = _params(db, first.study_name)
    assert len(params) == 2 and params[0] != params[1]
    # the same call with the same worker id on an empty study draws the same trial again
    fresh = str(tmp_path / "f.sqlite")
    tune(PENDULUM, trials=1, verbose=False, **{**call, "storage": fresh})
    assert _params(fresh, first.study_name) == params[:1]


def test_workers_started_apart_on_one_study_draw_different_trials(tmp_path):
    db = str(tmp_path / "apart.sqlite")
    errors = []

    def worker(name: str) -> None:  # as `rewarddesign tune ... --worker-id NAME` does
        try:
            call = {"storage": db, "factors": ["theta_sq"], "verbose": False, **TINY}
            tune(PENDULUM, trials=2, worker_id=name, **call)
        except Exception as exc:  # reported below: a thread's exception would be lost
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("host-a", "host-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    (name,) = optuna.get_all_study_names(storage_url(db))
    params = _params(db, name)
    # each worker's first draw: the same one with samplers seeded alike
    assert 2 <= len(params) <= 3 and len(set(params)) == len(params)


def test_default_study_names_keep_searches_apart(tmp_path):
    db = str(tmp_path / "n.sqlite")
    plain = tune(PENDULUM, trials=1, storage=db, factors=["u_sq"], verbose=False, **TINY)
    # the README's `--cost u_sq` search after a plain one: its own study, not a refusal
    costed = tune(
        PENDULUM, trials=1, storage=db, factors=["u_sq"], cost="u_sq", verbose=False, **TINY
    )
    attrs = plain.user_attrs["rewarddesign"]
    assert plain.study_name == default_study_name(PENDULUM, "blend", attrs)
    assert re.fullmatch(r"classic/Pendulum-v1:blend:[0-9a-f]{8}", plain.study_name)
    assert costed.study_name != plain.study_name
    assert sorted(optuna.get_all_study_names(storage_url(db))) == sorted(
        [plain.study_name, costed.study_name]
    )


def _config(**kwargs) -> TuneConfig:
    return TuneConfig(
        task=PENDULUM,
        method="blend",
        agent="sac",
        budget=100,
        seeds=(1000,),
        space=tuple(search_space(PENDULUM, factors=["theta_sq"])),
        agent_preset="fast",
        eval_every=100,
        eval_episodes=1,
        **kwargs,
    )


@pytest.fixture
def no_forced_terminal(monkeypatch):
    """rich takes any stream for a terminal under these: not the case tested."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)


def test_progress_lines_in_a_log(tmp_path, no_forced_terminal):
    study = optuna.create_study(
        study_name="s", storage=storage_url(str(tmp_path / "p.sqlite")), direction="maximize"
    )
    log = io.StringIO()  # not a terminal, as a CI or nohup log
    times = itertools.chain([0.0], itertools.repeat(65.0))
    with StudyProgress(study, 2, stream=log, every=0.05, clock=lambda: next(times)):
        work(study, _config(), trials=2)
    lines = log.getvalue().splitlines()
    best = study.best_trial
    assert lines[-1] == (
        f"study s: 2/2 trials finished, best {best.value:.6g} (trial {best.number}), 1m05s elapsed"
    )
    # a line every 0.05 s while the trials ran (about 1 s in all on an idle machine; under
    # a loaded pytest-xdist run the printing thread can wake less often: 4 lines were seen)
    assert len(lines) >= 3
    assert all(line.startswith("study s: ") and line.endswith(" elapsed") for line in lines)
    done = [int(re.match(r"study s: (\d)/2", line)[1]) for line in lines]
    assert done == sorted(done) and done[0] < 2
    assert any(", 1 running, " in line for line in lines)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_in_a_terminal_is_one_live_line(tmp_path, monkeypatch):
    monkeypatch.setenv("TERM", "xterm")  # rich draws nothing live in a dumb terminal
    study = optuna.create_study(study_name="t", storage=storage_url(str(tmp_path / "t.sqlite")))
    screen = _Terminal()
    with StudyProgress(study, 1, stream=screen, every=0.05, clock=lambda: 0.0):
        work(study, _config(), trials=1)
    text = screen.getvalue()
    best = study.best_trial
    assert "\x1b[" in text  # redrawn in place, not one line after another
    assert text.endswith(
        f"study t: 1/1 trials finished, best {best.value:.6g} (trial 0), 0s elapsed\n"
    )


def test_an_integer_parameter_is_searched_over_integers():
    (dim,) = search_space(PENDULUM, "pbrl", params={"labels": [10, 100]})
    assert dim == Dimension("param", "labels", 10.0, 100.0, False, 1.0, integer=True)
    assert dim.stored()["integer"] is True
    # float dimensions are stored as before integer ones existed, so old studies resume
    assert (
        "integer" not in search_space(PENDULUM, "weighted", params={"beta": [0.1, 1]})[0].stored()
    )
    study = optuna.create_study()
    for _ in range(5):
        _, params = suggest(study.ask(), [dim])
        assert type(params["labels"]) is int and 10 <= params["labels"] <= 100


def test_the_printed_train_command_runs(tmp_path, capsys):
    from rewarddesign.cli import main

    out = tmp_path / "beta.yaml"
    args = ["tune", PENDULUM, "--method", "weighted", "--trials", "1", "--search", "beta=0.1:1"]
    args += ["--storage", str(tmp_path / "c.sqlite"), "--budget", "100", "--eval-every", "100"]
    args += ["--preset", "fast", "--eval-episodes", "1", "--out", str(out), "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "trials finished" not in printed  # --quiet
    command = re.search(r"train on it: (.*)\n", printed)[1]
    beta = yaml.safe_load(out.read_text())["params"]["beta"]
    assert command == (
        f"rewarddesign train {PENDULUM} --method weighted --preset fast --param beta={beta!r}"
    )
    run_dir = tmp_path / "run"
    words = shlex.split(command)[1:]
    assert main([*words, "--budget", "100", "--eval-episodes", "1", "--out", str(run_dir)]) == 0
    result = json.loads((run_dir / "result.json").read_text())
    assert result["spec"]["method"] == "weighted"
    assert result["spec"]["method_params"] == {"beta": beta}


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--out", "."], "--out '.' is a folder"),
        (["--range", "u_sq=0.1:1:log"], "--range expects FACTOR=LOW:HIGH"),
        (["--search", "beta=0.1:1", "--search", "beta=0.2:1"], "--search beta is given twice"),
        (["--worker-id", ""], "worker_id must be a non-empty string"),
        (["--sampler-seed", "-1"], "sampler_seed must be an integer >= 0"),
        (["--grace", "30"], r"grace must be more seconds than the heartbeat \(60\)"),
        (["--progress-every", "-1"], "progress_every must be a positive finite number, got -1.0"),
    ],
)
def test_bad_tune_flags_exit_2_before_a_study_exists(tmp_path, capsys, extra, match):
    from rewarddesign.cli import main

    db = tmp_path / "bad.sqlite"
    method = ["--method", "weighted"] if "--search" in extra else []
    code = main(["tune", PENDULUM, "--trials", "1", "--storage", str(db), *method, *extra])
    assert code == 2
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.search(match, lines[-1]) and lines[-1].startswith("error:")
    assert not db.exists() or not optuna.get_all_study_names(storage_url(str(db)))


def test_a_folder_or_a_file_path_is_no_storage(tmp_path):
    with pytest.raises(StorageError, match="is a folder; give a SQLite file in it"):
        open_storage(str(tmp_path))
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError, match="a parent of it is a file"):
        open_storage(str(tmp_path / "file" / "t.sqlite"))
