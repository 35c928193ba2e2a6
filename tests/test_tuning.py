"""Optuna tuning: the search space, a real small study, pruning, the Pareto front, local
workers sharing a SQLite study, the tuned-weights YAML, and bad input leaving no study."""

from __future__ import annotations

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

PENDULUM = "classic/Pendulum-v1"
SMALL = {"budget": 200, "agent_preset": "fast", "eval_episodes": 1, "eval_every": 100}


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
