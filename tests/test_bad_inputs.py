"""Bad inputs across the Python API and the CLI: each is refused during validation, before
any training, with the package's own exception type (the CLI: exit code 2 and one line)
and a message that names the bad value. None is a traceback from inside a library.

Cases a room other than this test's owns are ``xfail(strict=True)``, with the owner.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

import rewarddesign as rd
from rewarddesign import agents
from rewarddesign.bench.grid import load_grid
from rewarddesign.cli.main import main
from rewarddesign.contract.runspec import EvalSpec, RunSpec
from rewarddesign.errors import (
    FileFormatError,
    ParameterError,
    RewardDesignError,
    SpaceMismatchError,
    SpecError,
    UnknownNameError,
)
from rewarddesign.experiment.experts import list_experts
from rewarddesign.experiment.runner import validate
from rewarddesign.models import EnsembleConfig, RewardEnsemble, RewardTrainer
from rewarddesign.models.meta_blend import MetaBlend
from rewarddesign.preferences import (
    LabelRecord,
    PartialReturnTeacher,
    PreferenceDataset,
    Trajectories,
    check_teacher_options,
    cut_segments,
    make_teacher,
    pairs_from_rewards,
    random_pairs,
    rollout,
)

PENDULUM = "classic/Pendulum-v1"


def _write_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _copy_dir(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.fixture(scope="module")
def f(tmp_path_factory) -> SimpleNamespace:
    """Good files of every kind, and bad copies of them (corrupt, truncated, foreign)."""
    root = tmp_path_factory.mktemp("bad_inputs")
    junk = np.random.default_rng(0).bytes(512)
    env = rd.make(PENDULUM)
    traj = rollout(env, None, 60, seed=0)
    traj.save(root / "traj.npz")
    rng = np.random.default_rng(0)
    pairs = random_pairs(cut_segments(traj, H=10), 4, rng)
    data = PreferenceDataset()
    data.append(pairs, PartialReturnTeacher().label(pairs, rng))
    data.save(root / "dataset.npz")
    with np.load(root / "dataset.npz") as arrays:
        arrays = dict(arrays)
    for name, value in (("nan", np.nan), ("high", 1.5)):
        prob = arrays["prob"].copy()
        prob[1] = value
        np.savez(root / f"{name}.npz", **{**arrays, "prob": prob})
    whole = (root / "dataset.npz").read_bytes()
    _write_bytes(root / "truncated.npz", whole[: len(whole) // 2])
    _write_bytes(root / "junk.npz", junk)

    model = RewardEnsemble(
        EnsembleConfig.for_spaces(env.observation_space, env.action_space, hidden=(8,), members=1),
        device="cpu",
    )
    model.save(root / "rm")
    pt = (root / "rm" / "reward_model.pt").read_bytes()
    _write_bytes(_copy_dir(root / "rm", root / "rm_junk") / "reward_model.pt", junk)
    _write_bytes(_copy_dir(root / "rm", root / "rm_trunc") / "reward_model.pt", pt[: len(pt) // 2])
    _write_bytes(_copy_dir(root / "rm", root / "rm_json") / "reward_model.json", b"{hidden: ")
    other = RewardEnsemble(dataclasses.replace(model.config, hidden=(16,)), device="cpu")
    other.save(root / "rm16")
    weights16 = (root / "rm16" / "reward_model.pt").read_bytes()
    _write_bytes(_copy_dir(root / "rm", root / "rm_other") / "reward_model.pt", weights16)

    sac = agents.make("sac", env, seed=0, preset="fast")
    cfg = {"algo": "sac", "task": PENDULUM, "preset": "fast", "overrides": {}}
    agents.save(sac, root / "agent", cfg)
    policy = (root / "agent" / "policy.pt").read_bytes()
    _write_bytes(_copy_dir(root / "agent", root / "agent_junk") / "policy.pt", junk)
    _write_bytes(_copy_dir(root / "agent", root / "agent_trunc") / "policy.pt", policy[:1000])
    _write_bytes(_copy_dir(root / "agent", root / "agent_json") / "agent.json", b"[1, 2]")
    _write_bytes(_copy_dir(root / "agent", root / "agent_algo") / "agent.json", b'{"algo": "dqn"}')
    env.close()
    _write_bytes(root / "experts_bad" / "x" / "expert.json", b'{"task": ')
    for name, seeds in (("grid_negative", [-1]), ("grid_duplicate", [0, 0])):
        grid = {"budget": 100, "seeds": seeds, "tasks": [{"task": PENDULUM}], "methods": ["true"]}
        (root / f"{name}.yaml").write_text(yaml.safe_dump(grid))
    return SimpleNamespace(
        root=root,
        traj=root / "traj.npz",
        dataset=root / "dataset.npz",
        other_env=lambda: rd.make("classic/MountainCarContinuous-v0"),
        pendulum=lambda: rd.make(PENDULUM),
    )


def _spec(**kw) -> RunSpec:
    base = {"task": PENDULUM, "method": "true", "agent": "sac", "budget": 1000}
    return RunSpec(**{**base, **kw})


def _pbrl(**params) -> RunSpec:
    return _spec(method="pbrl", method_params=params)


def _heron(**params) -> RunSpec:
    return _spec(method="heron", method_params=params)


def _config(algo: str = "sac", **overrides):
    return lambda f: agents.config(algo, PENDULUM, **overrides)


def _trainer(**kw):
    model = RewardEnsemble(EnsembleConfig((3,), (1,), hidden=(4,), members=1), device="cpu")
    return RewardTrainer(model, **kw)


def _xfail(owner: str, why: str):
    return pytest.mark.xfail(strict=True, reason=f"owned by {owner}: {why}")


# (id, call(f), error type, regex the message must match: the bad value)
API_CASES = [
    # -- agent hyperparameters (agents/checks.py), refused by agents.config -------------
    ("lr-negative", _config(learning_rate=-1e-3), ParameterError, r"learning_rate .*-0\.001"),
    ("lr-text", _config(learning_rate="abc"), ParameterError, r"learning_rate .*'abc'"),
    ("lr-yaml-text", _config(learning_rate="3e-4"), ParameterError, r"'3e-4'.*3\.0e-04"),
    ("lr-nan", _config(learning_rate=float("nan")), ParameterError, r"learning_rate .*nan"),
    ("batch-zero", _config(batch_size=0), ParameterError, r"batch_size .*>= 1, got 0"),
    ("batch-float", _config(batch_size=2.5), ParameterError, r"batch_size .*got 2\.5"),
    ("gamma-above-1", _config(gamma=1.5), ParameterError, r"gamma must be in \[0, 1\], got 1\.5"),
    ("tau-negative", _config(tau=-0.1), ParameterError, r"tau .*-0\.1"),
    ("buffer-negative", _config(buffer_size=-1), ParameterError, r"buffer_size .*-1"),
    ("learning-starts", _config(learning_starts=-5), ParameterError, r"learning_starts .*-5"),
    ("train-freq-unit", _config(train_freq=[1, "epoch"]), ParameterError, r"'epoch'"),
    ("gradient-steps", _config(gradient_steps=-2), ParameterError, r"gradient_steps .*got -2"),
    ("ent-coef-text", _config(ent_coef="autox"), ParameterError, r"ent_coef .*'autox'"),
    ("ent-coef-auto-", _config(ent_coef="auto_"), ParameterError, r"ent_coef .*'auto_'"),
    ("ent-coef-auto-inf", _config(ent_coef="auto_inf"), ParameterError, r"'auto_inf'"),
    (
        "net-arch-sac-one-head",
        _config(policy_kwargs={"net_arch": {"pi": [8]}}),
        SpecError,
        r"both heads \['pi', 'qf'\]",
    ),
    ("use-sde-text", _config(use_sde="yes"), ParameterError, r"use_sde .*'yes'"),
    ("policy-unknown", _config(policy="Transformer"), UnknownNameError, r"'Transformer'"),
    ("net-arch-text", _config(policy_kwargs={"net_arch": "big"}), SpecError, r"'big'"),
    ("net-arch-zero", _config(policy_kwargs={"net_arch": [64, 0]}), SpecError, r"\[64, 0\]"),
    (
        "net-arch-ppo-head-on-sac",
        _config(policy_kwargs={"net_arch": {"pi": [8], "vf": [8]}}),
        SpecError,
        r"\['vf'\]",
    ),
    ("activation", _config(policy_kwargs={"activation_fn": "gelu"}), UnknownNameError, "'gelu'"),
    ("policy-kwarg", _config(policy_kwargs={"n_layers": 2}), UnknownNameError, r"'n_layers'"),
    ("policy-kwargs-list", _config(policy_kwargs=[64]), SpecError, r"\[64\]"),
    ("hyperparameter-name", _config(learning_rat=1e-3), UnknownNameError, r"'learning_rat'"),
    ("ppo-epochs", _config("ppo", n_epochs=0), ParameterError, r"n_epochs .*got 0"),
    ("ppo-batch-one", _config("ppo", batch_size=1), ParameterError, r"batch_size must be >= 2"),
    ("ppo-gae", _config("ppo", gae_lambda=-0.1), ParameterError, r"gae_lambda .*-0\.1"),
    ("ppo-clip", _config("ppo", clip_range=0), ParameterError, r"clip_range .*got 0"),
    ("ppo-n-envs", _config("ppo", n_envs=0), ParameterError, r"n_envs .*got 0"),
    ("ppo-grad-norm", _config("ppo", max_grad_norm=-1.0), ParameterError, r"max_grad_norm .*-1"),
    ("td3-delay", _config("td3", policy_delay=0), ParameterError, r"policy_delay .*got 0"),
    (
        "td3-noise-type",
        _config("td3", action_noise={"type": "ou", "std": 0.1}),
        SpecError,
        r"'ou'",
    ),
    ("agent-unknown", lambda f: agents.config("dqn"), UnknownNameError, r"'dqn'"),
    (
        "preset-unknown",
        lambda f: agents.config("sac", preset="fastest"),
        UnknownNameError,
        "'fastest'",
    ),
    ("agent-seed", lambda f: agents.make("sac", f.pendulum(), seed=-1), ParameterError, r"got -1"),
    # -- run specs: seeds (contract/runspec.py), budgets, names --------------------------
    ("seed-negative", lambda f: _spec(seed=-1).validate(), ParameterError, r"seed .*got -1"),
    ("seed-2**32", lambda f: _spec(seed=2**32).validate(), ParameterError, r"got 4294967296"),
    ("seed-float", lambda f: _spec(seed=1.5).validate(), ParameterError, r"seed .*got 1\.5"),
    ("seed-bool", lambda f: _spec(seed=True).validate(), ParameterError, r"seed .*got True"),
    ("seed-text", lambda f: _spec(seed="0").validate(), ParameterError, r"seed .*got '0'"),
    (
        "eval-seed-overflows",
        lambda f: _spec(eval=EvalSpec(episodes=5, seed=2**32 - 2)).validate(),
        ParameterError,
        r"eval seed .*4294967294",
    ),
    ("budget-zero", lambda f: _spec(budget=0).validate(), ParameterError, r"budget .*got 0"),
    ("task-empty", lambda f: _spec(task="").validate(), SpecError, r"task .*got ''"),
    ("spec-key", lambda f: RunSpec.from_dict({"task": PENDULUM, "sede": 1}), SpecError, "'sede'"),
    (
        "spec-agent-lr",
        lambda f: validate(_spec(agent_overrides={"learning_rate": "abc"})),
        ParameterError,
        r"learning_rate .*'abc'",
    ),
    (
        "rd-run-seed",
        lambda f: rd.run(PENDULUM, "true", "sac", seed=-3, budget=100),
        ParameterError,
        r"seed .*got -3",
    ),
    (
        "grid-seed-negative",
        lambda f: load_grid(f.root / "grid_negative.yaml"),
        ParameterError,
        r"seed .*got -1",
    ),
    (
        "grid-seeds-duplicate",
        lambda f: load_grid(f.root / "grid_duplicate.yaml"),
        SpecError,
        r"\[0, 0\]",
    ),
    # -- pbrl and heron settings under which no label can be asked (methods/pbrl) --------
    ("pbrl-labels-zero", lambda f: validate(_pbrl(labels=0)), ParameterError, r"labels .*got 0"),
    (
        "pbrl-queries-over-labels",
        lambda f: validate(_pbrl(labels=10, queries=20)),
        ParameterError,
        r"budget of 10 .* 20 queries",
    ),
    (
        "pbrl-segment-over-horizon",
        lambda f: validate(_pbrl(segment=500)),
        ParameterError,
        r"segment 500 .*at most 200 steps",
    ),
    (
        "pbrl-reward-lr",
        lambda f: validate(_pbrl(reward_lr=-1.0)),
        ParameterError,
        r"reward_lr .*-1",
    ),
    ("pbrl-hidden", lambda f: validate(_pbrl(hidden=[64, 0])), ParameterError, r"\[64, 0\]"),
    ("pbrl-bounded", lambda f: validate(_pbrl(bounded="no")), ParameterError, r"bounded .*'no'"),
    ("pbrl-teacher", lambda f: validate(_pbrl(teacher="oracle")), UnknownNameError, "'oracle'"),
    ("pbrl-selection", lambda f: validate(_pbrl(selection="best")), UnknownNameError, "'best'"),
    ("pbrl-param", lambda f: validate(_pbrl(segmnt=10)), UnknownNameError, r"'segmnt'"),
    (
        "pbrl-teacher-option",
        lambda f: validate(_pbrl(teacher_params={"beta": -1.0})),
        ParameterError,
        r"beta.*-1",
    ),
    (
        "pbrl-run-no-label",
        lambda f: rd.run(PENDULUM, "pbrl", "sac", budget=600, seed_steps=700, segment=20),
        ParameterError,
        r"at least 701 env steps .*got budget 600",
    ),
    (
        "pbrl-validate-no-label",
        lambda f: validate(_spec(method="pbrl", budget=600, method_params={"seed_steps": 700})),
        ParameterError,
        r"at least 701 env steps .*got budget 600",
    ),
    (
        "pbrl-regret-expert-not-an-agent",
        lambda f: validate(_pbrl(teacher="regret", teacher_params={"expert": str(f.root / "rm")})),
        SpecError,
        r"no saved agent in .*rm'",
    ),
    (
        "pbrl-regret-expert-corrupt",
        lambda f: validate(
            _pbrl(teacher="regret", teacher_params={"expert": str(f.root / "agent_junk")})
        ),
        FileFormatError,
        r"agent_junk/policy\.pt' is not a sac policy state dict",
    ),
    ("heron-window", lambda f: validate(_heron(segment=5, window=3)), ParameterError, r"got 3"),
    ("heron-teacher", lambda f: validate(_heron(teacher="regret")), ParameterError, "'regret'"),
    ("heron-inputs", lambda f: validate(_heron(inputs="pixels")), UnknownNameError, "'pixels'"),
    (
        "heron-segment-over-horizon",
        lambda f: validate(_heron(segment=201, window=1000)),
        ParameterError,
        r"segment 201 .*at most 200",
    ),
    # -- reward models (models/) ---------------------------------------------------------
    (
        "ensemble-hidden-bool",
        lambda f: EnsembleConfig((3,), hidden=(True,)),
        ParameterError,
        r"True",
    ),
    ("ensemble-seed", lambda f: EnsembleConfig((3,), seed=-1), ParameterError, r"seed .*-1"),
    ("ensemble-shape", lambda f: EnsembleConfig((3, 0)), ParameterError, r"\(3, 0\)"),
    ("trainer-lr", lambda f: _trainer(lr="abc"), ParameterError, r"lr .*got 'abc'"),
    (
        "trainer-val-fraction",
        lambda f: _trainer(val_fraction=1.0),
        ParameterError,
        r"val_fraction .*got 1\.0",
    ),
    ("trainer-seed", lambda f: _trainer(seed=2**40), ParameterError, r"seed .*1099511627776"),
    (
        "learned-reward-given-a-path",
        lambda f: rd.wrappers.LearnedReward(f.pendulum(), str(f.root / "rm")),
        SpecError,
        r"got the path .*rm'; load it first",
    ),
    (
        "learned-reward-other-spaces",
        lambda f: rd.wrappers.LearnedReward(f.other_env(), RewardEnsemble.load(f.root / "rm")),
        SpaceMismatchError,
        r"obs_shape=\(3,\).*the env has \(2,\)",
    ),
    # -- teachers (preferences/registry.py) -----------------------------------------------
    (
        "teacher-beta-text",
        lambda f: make_teacher("partial-return", PENDULUM, beta="abc"),
        ParameterError,
        r"beta .*'abc'",
    ),
    (
        "teacher-myopic-gamma",
        lambda f: make_teacher("partial-return", PENDULUM, myopic_gamma=2),
        ParameterError,
        r"myopic_gamma .*got 2",
    ),
    (
        "teacher-discount",
        lambda f: make_teacher("regret", "gridworld/delivery", discount=1.5),
        ParameterError,
        r"discount .*1\.5",
    ),
    (
        "teacher-option-of-another",
        lambda f: check_teacher_options("hierarchical", {"beta": 1.0}),
        ParameterError,
        r"'beta'",
    ),
    ("teacher-unknown", lambda f: make_teacher("crowd", PENDULUM), UnknownNameError, r"'crowd'"),
    # -- files: corrupt, truncated, foreign, missing, folder vs file ---------------------
    (
        "model-random-bytes",
        lambda f: RewardEnsemble.load(f.root / "rm_junk", "cpu"),
        FileFormatError,
        r"rm_junk/reward_model\.pt' is not a reward model state dict: not a torch file",
    ),
    (
        "model-truncated",
        lambda f: RewardEnsemble.load(f.root / "rm_trunc", "cpu"),
        FileFormatError,
        r"rm_trunc/reward_model\.pt' .*corrupt or truncated",
    ),
    (
        "model-json",
        lambda f: RewardEnsemble.load(f.root / "rm_json", "cpu"),
        FileFormatError,
        r"rm_json/reward_model\.json' is not a reward model config",
    ),
    (
        "model-weights-of-another",
        lambda f: RewardEnsemble.load(f.root / "rm_other", "cpu"),
        FileFormatError,
        r"rm_other/reward_model\.pt' does not fit its config",
    ),
    (
        "model-folder-is-file",
        lambda f: RewardEnsemble.load(f.traj, "cpu"),
        FileFormatError,
        r"from '.*traj\.npz': it is a file, not a folder",
    ),
    (
        "model-missing",
        lambda f: RewardEnsemble.load(f.root / "nope", "cpu"),
        FileFormatError,
        r"cannot load a reward model .*nope': no such folder",
    ),
    (
        "dataset-is-trajectory-file",
        lambda f: PreferenceDataset.load(f.traj),
        FileFormatError,
        r"traj\.npz' is not a preference dataset .*: it is a trajectory file",
    ),
    (
        "trajectory-is-dataset",
        lambda f: Trajectories.load(f.dataset),
        FileFormatError,
        r"dataset\.npz' is not a trajectory file .*: it is a preference dataset",
    ),
    (
        "dataset-truncated",
        lambda f: PreferenceDataset.load(f.root / "truncated.npz"),
        FileFormatError,
        r"truncated\.npz' .*truncated or corrupt",
    ),
    (
        "dataset-random-bytes",
        lambda f: PreferenceDataset.load(f.root / "junk.npz"),
        FileFormatError,
        r"junk\.npz' is not a preference dataset.*: not an \.npz archive",
    ),
    (
        "dataset-nan-prob",
        lambda f: PreferenceDataset.load(f.root / "nan.npz"),
        FileFormatError,
        r"nan\.npz' .*prob of pair 1 is nan",
    ),
    (
        "dataset-prob-above-1",
        lambda f: PreferenceDataset.load(f.root / "high.npz"),
        FileFormatError,
        r"high\.npz' .*prob of pair 1 is 1\.5",
    ),
    (
        "dataset-folder",
        lambda f: PreferenceDataset.load(f.root),
        FileFormatError,
        r"is a folder; expected a preference dataset",
    ),
    (
        "trajectory-missing",
        lambda f: Trajectories.load(f.root / "none.npz"),
        FileFormatError,
        r"no such file .*none\.npz'",
    ),
    (
        "trajectory-random-bytes",
        lambda f: Trajectories.load(f.root / "junk.npz"),
        FileFormatError,
        r"junk\.npz' is not a trajectory file",
    ),
    (
        "labels-nan-append",
        lambda f: PreferenceDataset().append(
            pairs_from_rewards([[1.0]], [[0.0]]),
            LabelRecord(np.array([np.nan]), np.array([1.0]), np.array([True]), 1),
        ),
        ParameterError,
        r"prob of pair 0 is nan",
    ),
    (
        "policy-random-bytes",
        lambda f: agents.load(f.root / "agent_junk", f.pendulum(), device="cpu"),
        FileFormatError,
        r"agent_junk/policy\.pt' is not a sac policy state dict",
    ),
    (
        "policy-truncated",
        lambda f: agents.load(f.root / "agent_trunc", f.pendulum(), device="cpu"),
        FileFormatError,
        r"agent_trunc/policy\.pt' .*corrupt or truncated",
    ),
    (
        "policy-json-list",
        lambda f: agents.load(f.root / "agent_json", f.pendulum(), device="cpu"),
        FileFormatError,
        r"agent_json/agent\.json' is not an agent config: it holds a JSON list",
    ),
    (
        "policy-json-algo",
        lambda f: agents.load(f.root / "agent_algo", f.pendulum(), device="cpu"),
        FileFormatError,
        r"agent_algo/agent\.json' .*'dqn'",
    ),
    (
        "policy-of-another-task",
        lambda f: agents.load(f.root / "agent", f.other_env(), device="cpu"),
        SpaceMismatchError,
        r"agent' was saved for task 'classic/Pendulum-v1'",
    ),
    (
        "policy-folder-is-file",
        lambda f: agents.load(f.traj, f.pendulum(), device="cpu"),
        FileFormatError,
        r"from '.*traj\.npz': it is a file, not a folder",
    ),
    (
        "expert-record-corrupt",
        lambda f: list_experts(f.root / "experts_bad"),
        FileFormatError,
        r"experts_bad/x/expert\.json' is not an expert record: not readable JSON",
    ),
    (
        "meta-blend-missing",
        lambda f: MetaBlend.load(f.root / "no_blend"),
        FileFormatError,
        r"cannot load a meta-learned blend .*no_blend': no such folder",
    ),
    (
        "meta-blend-no-npz",
        lambda f: MetaBlend.load(f.root / "rm"),
        FileFormatError,
        r"rm/meta_blend\.json'",
    ),
    # -- reward distances (diagnostics/): refused before any rollout ----------------------
    (
        "compare-one-reward",
        lambda f: rd.compare(PENDULUM, ["true"]),
        ParameterError,
        r"2 or more rewards, got \['true'\]",
    ),
    (
        "compare-one-sample",
        lambda f: rd.compare(PENDULUM, ["true", "env"], samples=1),
        ParameterError,
        r"coverage samples must be an integer >= 2, got 1",
    ),
    (
        "compare-one-transition",
        lambda f: rd.compare(PENDULUM, ["true", "env"], transitions=1),
        ParameterError,
        r"transitions must be an integer >= 2, got 1",
    ),
    (
        "compare-constant-reward",
        lambda f: rd.compare(
            PENDULUM, ["true", "expr:0 * theta_sq + 2"], transitions=50, samples=8
        ),
        ParameterError,
        r"reward 'expr:0 \* theta_sq \+ 2' is constant .* EPIC distance is undefined",
    ),
    (
        "compare-info-factor",
        lambda f: rd.compare("dmc/walker-walk", ["true", "env"]),
        SpecError,
        r"reads factor\(s\) 'standing' \(info\['standing'\]\).* Declare `transition:",
    ),
    (
        "compare-trajectories-of-another-task",
        lambda f: rd.compare(
            PENDULUM, ["true", "env"], traj=rollout(f.other_env(), None, 5, seed=0)
        ),
        SpecError,
        r"trajectories are of task 'classic/MountainCarContinuous-v0', the rewards of "
        r"'classic/Pendulum-v1'",
    ),
    (
        "compare-model-of-other-spaces",
        lambda f: rd.compare(
            PENDULUM,
            {
                "true": "true",
                "m": RewardEnsemble(EnsembleConfig((5,), (1,), hidden=(4,)), device="cpu"),
            },
        ),
        SpaceMismatchError,
        r"built for obs_shape=\(5,\)",
    ),
    (
        "compare-unknown-form",
        lambda f: rd.compare(PENDULUM, ["true", "weights.yaml"]),
        SpecError,
        r"reward 'weights\.yaml' is none of the forms",
    ),
]


def _params(cases):
    """pytest params of a case table: the id first, an optional mark last."""
    out = []
    for case in cases:
        marks = case[-1] if isinstance(case[-1], pytest.MarkDecorator) else ()
        values = case[:-1] if marks else case
        out.append(pytest.param(*values, id=values[0], marks=marks))
    return out


@pytest.mark.parametrize(("name", "call", "error", "match"), _params(API_CASES))
def test_api_refuses_bad_input(name, call, error, match, f):
    with pytest.raises(error, match=match) as caught:
        call(f)
    assert isinstance(caught.value, RewardDesignError)
    assert "weights_only" not in str(caught.value) and "allow_pickle" not in str(caught.value)


# (id, argv(f), text the one output line must hold)
def _label(f, trajectories: str, *flags: str) -> list[str]:
    """``label``'s command line with good teacher, pairs and output flags, plus ``flags``."""
    args = ["label", trajectories, "--teacher", "partial-return", "--pairs", "2", *flags]
    return [*args, "--out", str(f.root / "o.npz")]


CLI_CASES = [
    (  # brackets in a message are text, not rich markup
        "tune-search-nan",
        lambda f: [
            "tune",
            PENDULUM,
            "--trials",
            "1",
            "--method",
            "weighted",
            "--search",
            "beta=nan:1",
            "--storage",
            f"sqlite:///{f.root / 'nan.db'}",
        ],
        "must be [low, high] numbers, got [nan, 1.0]",
    ),
    (
        "train-lr-text",
        lambda f: ["train", PENDULUM, "--agent-param", "learning_rate=abc"],
        "learning_rate must be a positive finite number, got 'abc'",
    ),
    (
        "train-batch-zero",
        lambda f: ["train", PENDULUM, "--agent-param", "batch_size=0"],
        "batch_size must be an integer >= 1, got 0",
    ),
    ("train-seed", lambda f: ["train", PENDULUM, "--seed", "-1"], "seed must be an integer"),
    (
        "train-net-arch",
        lambda f: ["train", PENDULUM, "--agent-param", "policy_kwargs={net_arch: 64}"],
        "got 64",
    ),
    (
        "train-pbrl-segment",
        lambda f: ["train", PENDULUM, "--method", "pbrl", "--param", "segment=300"],
        "segment 300 is longer than every episode",
    ),
    (
        "label-given-a-dataset",
        lambda f: _label(f, str(f.dataset)),
        "is not a trajectory file",
    ),
    (
        "label-random-bytes",
        lambda f: _label(f, str(f.root / "junk.npz")),
        "junk.npz' is not a trajectory file",
    ),
    (
        "label-missing",
        lambda f: _label(f, str(f.root / "gone.npz")),
        "no such file",
    ),
    (
        "rollout-random-policy-bytes",
        lambda f: [
            "rollout",
            PENDULUM,
            "--policy",
            str(f.root / "agent_junk"),
            "--steps",
            "5",
            "--out",
            str(f.root / "o.npz"),
        ],
        "policy.pt' is not a sac policy state dict",
    ),
    (
        "rollout-policy-of-another-task",
        lambda f: [
            "rollout",
            "classic/MountainCarContinuous-v0",
            "--policy",
            str(f.root / "agent"),
            "--steps",
            "5",
            "--out",
            str(f.root / "o.npz"),
        ],
        "was saved for task 'classic/Pendulum-v1'",
    ),
    (
        "label-a-folder",
        lambda f: _label(f, str(f.root)),
        "is a folder; expected a trajectory file",
    ),
    (
        "bench-grid-seed",
        lambda f: [
            "bench",
            str(f.root / "grid_negative.yaml"),
            "--store",
            str(f.root / "s.sqlite"),
        ],
        "seed must be an integer in [0, 4294967295], got -1",
    ),
    ("train-device", lambda f: ["train", PENDULUM, "--device", "tpu"], "'tpu'"),
    (
        "train-ppo-n-steps",
        lambda f: ["train", PENDULUM, "--agent", "ppo", "--agent-param", "n_steps=0"],
        "n_steps must be an integer >= 1, got 0",
    ),
    (
        "tune-seed-base",
        lambda f: [
            "tune",
            PENDULUM,
            "--trials",
            "1",
            "--seed-base",
            "-5",
            "--budget",
            "100",
            "--storage",
            f"sqlite:///{f.root / 'tune.db'}",
        ],
        "seed_base must be an integer in [0, 4294967295], got -5",
    ),
    (
        "tune-sampler-seed",
        lambda f: [
            "tune",
            PENDULUM,
            "--trials",
            "1",
            "--sampler-seed",
            "-1",
            "--budget",
            "100",
            "--storage",
            f"sqlite:///{f.root / 'tune.db'}",
        ],
        "-1",
    ),
    (
        "label-seed",
        lambda f: _label(f, str(f.traj), "--seed", "-1"),
        "seed must be an integer in [0, 4294967295], got -1",
    ),
    (
        "rollout-seed",
        lambda f: [
            "rollout",
            PENDULUM,
            "--steps",
            "5",
            "--seed",
            "-1",
            "--out",
            str(f.root / "o.npz"),
        ],
        "seed must be an integer in [0, 4294967295], got -1",
    ),
    (
        "expert-seed",
        lambda f: [
            "expert",
            "train",
            PENDULUM,
            "--seed",
            "-1",
            "--steps",
            "10",
            "--dir",
            str(f.root / "experts"),
        ],
        "seed must be an integer in [0, 4294967295], got -1",
    ),
    (
        "compare-one-reward",
        lambda f: ["compare", PENDULUM, "--reward", "true"],
        "compare needs 2 or more rewards",
    ),
    (
        "compare-out-suffix",
        lambda f: ["compare", PENDULUM, "--reward", "true", "--reward", "env", "--out", "m.txt"],
        "write a .csv or a .json file, got '.txt'",
    ),
]


@pytest.mark.parametrize(("name", "argv", "message"), _params(CLI_CASES))
def test_cli_refuses_bad_input_with_one_line(name, argv, message, f, capsys):
    args = argv(f)
    code = main(args)
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert code == 2
    assert len(lines) == 1, out
    assert lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in out + err


def test_train_refusal_prints_only_the_error(capsys):
    assert main(["train", PENDULUM, "--agent-param", "batch_size=0"]) == 2
    assert len(capsys.readouterr().out.strip().splitlines()) == 1
