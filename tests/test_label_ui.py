"""The label UI without a browser: frames in trajectory files, segment videos, the
labelling session's record (answers in order, undo, resume, kill -9), and the web app's
validation and security (token, path traversal, 4xx never 500)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time

import httpx2 as httpx
import imageio_ffmpeg
import numpy as np
import pytest
from starlette.testclient import TestClient

import rewarddesign as rd
from rewarddesign.cli import main
from rewarddesign.errors import FileFormatError, ParameterError
from rewarddesign.human.app import build_app, needs_token
from rewarddesign.human.serve import bind
from rewarddesign.human.session import LabelSession, open_session, plan_pairs
from rewarddesign.human.video import webm
from rewarddesign.preferences import PreferenceDataset, Trajectories, rollout

TASK = "classic/Pendulum-v1"


@pytest.fixture(scope="module")
def traj_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("traj") / "traj.npz"
    assert main(["rollout", TASK, "--steps", "120", "--render", "--frame-size", "32",
                 "--out", str(path)]) == 0  # fmt: skip
    return path


def test_rollout_render_stores_a_frame_of_each_state(traj_file):
    traj = Trajectories.load(traj_file)
    assert traj.frames.shape == (120, 32, 32, 3) and traj.frames.dtype == np.uint8
    env = rd.make(TASK, render_mode="rgb_array")
    again = rollout(env, None, 120, 0, frame_size=32)
    np.testing.assert_array_equal(again.frames, traj.frames)  # seeded: the same frames
    np.testing.assert_array_equal(again.obs, traj.obs)
    assert traj.frames[0].std() > 0  # not a blank image
    plain = rollout(rd.make(TASK), None, 10, 0)
    assert plain.frames is None
    with pytest.raises(ParameterError, match="render_mode='rgb_array'"):
        rollout(rd.make(TASK), None, 10, 0, frame_size=32)


def test_a_segment_video_is_vp9_webm_with_every_frame(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, size=(25, 32, 48, 3), dtype=np.uint8)
    data = webm(frames, fps=20)
    assert data[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in data[:64] and b"V_VP9" in data
    path = tmp_path / "seg.webm"
    path.write_bytes(data)
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    assert meta["size"] == (48, 32) and meta["codec"] == "vp9" and sum(1 for _ in gen) == 25
    with pytest.raises(ParameterError, match="even h and w"):
        webm(np.zeros((3, 31, 32, 3), dtype=np.uint8))


def _session(traj_file, out, pairs=6, H=10):
    return open_session(traj_file, pairs, H, out, seed=0)


def test_answers_are_saved_in_order_with_undo_and_a_restart_resumes(traj_file, tmp_path):
    out = tmp_path / "labels.npz"
    s = _session(traj_file, out)
    s.answer("ann", 0, "left", 1.0)
    s.answer("bo", 0, "right", 2.0)  # two annotators, each through the same pairs
    s.answer("ann", 1, "skip", 3.0)
    s.answer("ann", 2, "equal", 4.0)
    assert s.undo("ann").pair == 2
    s.answer("ann", 2, "right", 5.0)
    again = _session(traj_file, out)  # a restart: the same plan, the answers so far
    assert [(a.annotator, a.pair, a.choice) for a in again.answers] == [
        ("ann", 0, "left"), ("bo", 0, "right"), ("ann", 1, "skip"), ("ann", 2, "right"),
    ]  # fmt: skip
    assert (again.next_pair("ann"), again.next_pair("bo"), again.next_pair("new")) == (3, 1, 0)
    data = PreferenceDataset.load(out)
    assert data.labels.tolist() == [1.0, 0.0, 0.5, 0.0]
    assert data.record().usable.tolist() == [True, True, False, True]
    assert data.charged == 4 and data.task == TASK
    assert [(lab.name, lab.kind) for lab in data.labellers] == [("ann", "human"), ("bo", "human")]
    assert data.record().labeller.tolist() == [0, 1, 0, 0]
    # each label's segments are the plan's: the left one starts where the plan says
    traj = Trajectories.load(traj_file)
    first = data.pairs().first
    for row, pair in enumerate([0, 0, 1, 2]):
        np.testing.assert_array_equal(first.obs[row, 0], traj.obs[s.plan[pair, 0]])
    journal = json.loads((tmp_path / "labels.npz.answers.json").read_text())
    assert [a["seconds"] for a in journal["answers"]] == [1.0, 2.0, 3.0, 5.0]


def test_a_journal_of_other_pairs_is_refused(traj_file, tmp_path):
    out = tmp_path / "labels.npz"
    _session(traj_file, out).answer("ann", 0, "left", 1.0)
    with pytest.raises(FileFormatError, match="another labelling task"):
        open_session(traj_file, 6, 10, out, seed=1)


def test_disagreement_selection_picks_the_pairs_members_disagree_on_most(traj_file):
    traj = Trajectories.load(traj_file)
    env = rd.make(TASK)
    cfg = rd.models.EnsembleConfig.for_spaces(
        env.observation_space, env.action_space, members=4, hidden=(8,)
    )
    model = rd.models.RewardEnsemble(cfg, "cpu")
    plan = plan_pairs(traj, 5, 10, np.random.default_rng(0), model)
    pool = plan_pairs(traj, 50, 10, np.random.default_rng(0))  # the same 10 n candidates
    from rewarddesign.human.session import _pairs

    std = model.predict_proba(_pairs(traj, pool, 10)).std(axis=0)
    np.testing.assert_array_equal(plan, pool[np.argsort(-std, kind="stable")[:5]])


@pytest.fixture()
def client(traj_file, tmp_path):
    s = _session(traj_file, tmp_path / "labels.npz", pairs=3)
    return TestClient(build_app(s, "Keep it <up>."), raise_server_exceptions=False), s


def test_the_app_serves_the_page_and_each_sides_video(client, tmp_path):
    c, s = client
    page = c.get("/")
    assert page.status_code == 200 and "Keep it &lt;up&gt;." in page.text
    assert "const TOKEN = null;" in page.text
    for side in (0, 1):
        r = c.get(f"/video/1/{side}")
        assert r.status_code == 200 and r.headers["content-type"] == "video/webm"
        path = tmp_path / f"side{side}.webm"
        path.write_bytes(r.content)
        gen = imageio_ffmpeg.read_frames(str(path))
        assert next(gen)["size"] == (32, 32)
        assert sum(1 for _ in gen) == len(s.frames(1, side)) == 10


def _answer(**fields):
    return {"annotator": "a", "pair": 0, "choice": "left", "seconds": 1} | fields


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/video/3/0", None, 404),  # unknown pair
        ("GET", "/video/0/2", None, 404),  # no third side
        ("GET", "/video/-1/0", None, 404),
        ("GET", "/video/../../../etc/passwd", None, 404),  # path traversal
        ("GET", "/video/%2e%2e/%2e%2e/etc/passwd", None, 404),
        ("GET", "/page.html", None, 404),  # the package's files are not served
        ("GET", "/api/next", None, 400),  # no annotator
        ("GET", "/api/next?annotator=../x", None, 400),
        ("POST", "/api/answer", b"not json", 400),
        ("POST", "/api/answer", b"[1, 2]", 400),
        ("POST", "/api/answer", b"\xff\xfe", 400),
        ("POST", "/api/answer", _answer(choice="up"), 400),
        ("POST", "/api/answer", {"annotator": "a", "pair": 0, "choice": "left"}, 400),
        ("POST", "/api/answer", _answer(seconds=-1), 400),
        ("POST", "/api/answer", _answer(seconds="1"), 400),
        ("POST", "/api/answer", _answer(annotator=""), 400),
        ("POST", "/api/answer", _answer(pair="0"), 404),
        ("POST", "/api/answer", _answer(pair=9), 404),
        ("POST", "/api/answer", _answer(pair=1), 409),  # out of turn
        ("POST", "/api/answer", _answer(label=1), 400),  # an unknown field
        ("POST", "/api/undo", {"annotator": "a"}, 409),  # nothing to undo
        ("POST", "/api/undo", {}, 400),
        ("DELETE", "/api/answer", None, 405),
    ],
)
def test_every_bad_request_gets_a_clear_4xx(client, method, path, body, status):
    c, s = client
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    r = c.request(method, path, **(kwargs if body is not None else {}))
    assert r.status_code == status, r.text
    if path.startswith("/api") and status != 405:
        assert r.json()["error"]  # says what was wrong
    assert s.answers == []  # nothing recorded


def test_a_double_answer_is_a_409_and_records_once(client):
    c, s = client
    body = {"annotator": "a", "pair": 0, "choice": "left", "seconds": 1.5}
    assert c.post("/api/answer", json=body).json() == {
        "saved": 0, "pair": 1, "answered": 1, "total": 3,
    }  # fmt: skip
    assert c.post("/api/answer", json=body).status_code == 409
    assert len(s.answers) == 1


def test_a_server_on_another_host_needs_its_token(traj_file, tmp_path):
    assert not needs_token("127.0.0.1") and needs_token("0.0.0.0")
    s = _session(traj_file, tmp_path / "labels.npz", pairs=2)
    c = TestClient(build_app(s, "x", token="s3cret"), raise_server_exceptions=False)
    for path in ("/", "/api/next?annotator=a", "/video/0/0"):
        assert c.get(path).status_code == 403
        assert c.get(path, params={"token": "wrong"}).status_code == 403
    assert c.get("/video/0/0", params={"token": "s3cret"}).status_code == 200
    page = c.get("/", params={"token": "s3cret"})
    assert page.status_code == 200 and 'const TOKEN = "s3cret";' in page.text
    r = c.post("/api/answer", json={"annotator": "a", "pair": 0, "choice": "left", "seconds": 1})
    assert r.status_code == 403 and s.answers == []


def test_bad_input_to_label_ui_gets_one_clear_error(traj_file, tmp_path, capsys):
    plain = tmp_path / "plain.npz"
    assert main(["rollout", TASK, "--steps", "50", "--out", str(plain)]) == 0
    out = str(tmp_path / "l.npz")
    assert main(["label-ui", str(plain), "--pairs", "2", "--out", out, "--port", "0"]) == 2
    assert "--render" in capsys.readouterr().out
    args = ["label-ui", str(traj_file), "--H", "10", "--out", out, "--port", "0"]
    assert main([*args, "--pairs", "100000"]) == 2
    assert "distinct pairs" in capsys.readouterr().out
    assert main([*args, "--pairs", "2", "--select", "disagreement"]) == 2
    assert "--model" in capsys.readouterr().out
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(ParameterError, match=f"port {port} on 127.0.0.1 is in use"):
            bind("127.0.0.1", port)
        args[-1] = str(port)
        assert main([*args, "--pairs", "2"]) == 2
        assert "in use" in capsys.readouterr().out
    with pytest.raises(ParameterError, match="no frames"):
        LabelSession(Trajectories.load(plain), np.zeros((1, 2), int), 10, out, TASK)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(traj_file, out, port):
    cmd = [sys.executable, "-m", "rewarddesign.cli", "label-ui", str(traj_file), "--pairs", "6",
           "--H", "10", "--out", str(out), "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{base}/api/next", params={"annotator": "k"}, timeout=1)
            return proc, base
        except httpx.TransportError:
            if proc.poll() is not None:
                raise AssertionError(proc.stdout.read().decode()) from None
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("label-ui did not start")


def test_a_killed_server_loses_no_acknowledged_answer(traj_file, tmp_path):
    out, port = tmp_path / "labels.npz", _free_port()
    proc, base = _serve(traj_file, out, port)
    choices = ["left", "right", "equal"]
    try:
        for pair, choice in enumerate(choices):
            body = {"annotator": "k", "pair": pair, "choice": choice, "seconds": 0.5}
            assert httpx.post(f"{base}/api/answer", json=body, timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGKILL)  # between answers: no chance to flush anything
        proc.wait()
    data = PreferenceDataset.load(out)
    assert data.labels.tolist() == [1.0, 0.0, 0.5]
    proc, base = _serve(traj_file, out, port)  # restarted: it resumes at the fourth pair
    try:
        state = httpx.get(f"{base}/api/next", params={"annotator": "k"}, timeout=10).json()
        assert state == {"pair": 3, "answered": 3, "total": 6}
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
