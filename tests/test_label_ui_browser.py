"""The label UI in a real browser: Debian's Chromium, headless, driven by Playwright with
the system executable. It sees both videos playing, answers 5 pairs with clicks and 3 with
keys, undoes one, reloads mid-way and resumes; the saved dataset holds exactly those
answers, in order. Skips locally without Chromium; under CI=true it must run.

``LABEL_UI_SCREENSHOT=path.png`` also writes the page's screenshot there (the README's).
"""

from __future__ import annotations

import os
import shutil
import threading
import time

import numpy as np
import pytest

from rewarddesign.cli import main
from rewarddesign.human.app import build_app
from rewarddesign.human.serve import bind, server, url
from rewarddesign.human.session import open_session
from rewarddesign.preferences import PreferenceDataset

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
H, FPS, SIZE = 20, 20, 96


@pytest.fixture()
def served(tmp_path):
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have Chromium (.ci/run installs Debian's chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium); CI runs this test")
    traj = tmp_path / "traj.npz"
    argv = ["rollout", "mujoco/HalfCheetah-v5", "--steps", "400", "--render",
            "--frame-size", str(SIZE), "--out", str(traj)]  # fmt: skip
    assert main(argv) == 0
    out = tmp_path / "labels.npz"
    session = open_session(traj, 10, H, out, seed=0)
    instructions = "HalfCheetah: run forward fast. Which of the two does the task better?"
    sock = bind("127.0.0.1", 0)
    srv = server(build_app(session, instructions))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    yield url(sock, "127.0.0.1", annotator="alice"), session, out
    srv.should_exit = True
    thread.join(10)
    sock.close()


VIDEOS = """() => ["left", "right"].map(id => {
  const v = document.getElementById(id);
  return {duration: v.duration, width: v.videoWidth, height: v.videoHeight,
          time: v.currentTime, paused: v.paused, ready: v.readyState};
})"""


def _wait_answered(page, n: int) -> None:
    page.wait_for_function(f"document.body.dataset.answered === '{n}'", timeout=20_000)


def _wait_playing(page) -> list[dict]:
    page.wait_for_function(
        """() => ["left", "right"].every(id => {
             const v = document.getElementById(id);
             return v.readyState >= 2 && !v.paused && v.currentTime > 0; })""",
        timeout=20_000,
    )
    return page.evaluate(VIDEOS)


def test_a_person_labels_pairs_in_headless_chromium(served, tmp_path):
    from playwright.sync_api import sync_playwright

    address, session, out = served
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox"],
        )
        try:
            page = browser.new_page(viewport={"width": 900, "height": 620})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(address)
            _wait_answered(page, 0)
            videos = _wait_playing(page)
            for v in videos:  # both play the segment: H frames at FPS, the recorded size
                assert v["duration"] == pytest.approx(H / FPS, abs=0.06)
                assert (v["width"], v["height"]) == (SIZE, SIZE)
            assert "0 / 10 answered" in page.inner_text("#status")
            assert "run forward fast" in page.inner_text("#instructions")
            shot = tmp_path / "label_ui.png"
            page.screenshot(path=str(shot))
            if os.environ.get("LABEL_UI_SCREENSHOT"):
                shutil.copy(shot, os.environ["LABEL_UI_SCREENSHOT"])

            for k, button in enumerate(["#b-left", "#b-right", "#b-equal", "#b-skip", "#b-left"]):
                page.click(button)
                _wait_answered(page, k + 1)
            for k, key in enumerate(["ArrowRight", "ArrowUp", "ArrowLeft"]):
                page.keyboard.press(key)
                _wait_answered(page, 6 + k)
            page.keyboard.press("u")  # takes back the last (ArrowLeft on pair 7)
            _wait_answered(page, 7)
            assert page.evaluate("document.body.dataset.pair") == "7"

            page.reload()  # mid-way: the page resumes where the answers stop
            _wait_answered(page, 7)
            assert page.evaluate("document.body.dataset.pair") == "7"
            assert _wait_playing(page)[0]["duration"] == pytest.approx(H / FPS, abs=0.06)
            page.click("#b-right")
            _wait_answered(page, 8)
            assert "8 / 10 answered" in page.inner_text("#status")
            assert errors == []
        finally:
            browser.close()

    data = PreferenceDataset.load(out)
    assert data.labels.tolist() == [1.0, 0.0, 0.5, 0.5, 1.0, 0.0, 0.5, 0.0]
    assert data.record().usable.tolist() == [True, True, True, False, True, True, True, True]
    assert [(lab.name, lab.kind) for lab in data.labellers] == [("alice", "human")]
    assert [a.pair for a in session.answers] == list(range(8))
    assert all(a.seconds > 0 for a in session.answers)
    first = data.pairs().first.obs[:, 0]  # each label on the pair shown, in plan order
    np.testing.assert_array_equal(first, session.traj.obs[session.plan[:8, 0]])
    # fit-reward reads what the browser wrote (8 labels: 7 usable, 2 held out)
    assert main(["fit-reward", str(out), "--out", str(tmp_path / "rm"), "--hidden", "16",
                 "--held-out", "0.25"]) == 0  # fmt: skip
    assert (tmp_path / "rm" / "fit.json").is_file()
