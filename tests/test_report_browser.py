"""The HTML report of a grid shaped like `make demo`'s opens in headless Chromium: the page
loads, shows the table, every embedded image decodes, no figure's panel draws a single
method, and its 3-seed intervals say they are rough. Skips locally without Chromium;
under CI=true it must run."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from rewarddesign.bench.report import build_report, write_report
from tests.test_bench_stats import demo_results, figure_panels

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Appended to a copy of the report: counts images that decoded to a non-empty bitmap, and
# the figure panels (caption items) that list fewer than two methods.
PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.setAttribute("data-images", ok + "/" + imgs.length);
  const panels = [...document.querySelectorAll("figure figcaption li")];
  const single = panels.filter(li => li.querySelectorAll("span.method").length < 2).length;
  document.body.setAttribute("data-panels", panels.length + " single " + single);
});
</script>"""


def test_html_report_renders_in_headless_chromium(tmp_path):
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have Chromium (.ci/run installs Debian's chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium); CI runs this test")
    paths = write_report(build_report(demo_results(), reps=100), tmp_path, "browser test")
    page = tmp_path / "probe.html"
    page.write_text(paths["report.html"].read_text().replace("</body>", PROBE + "</body>"))
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "<table>" in dom and "classic/Pendulum-v1" in dom
    assert 'data-images="3/3"' in dom, dom[-500:]
    # learning curves, per-task intervals and profiles: two panels each (Pendulum, MountainCar)
    assert 'data-panels="6 single 0"' in dom, dom[-500:]
    assert all(len(p) >= 2 for panels in figure_panels(dom).values() for p in panels)
    assert "rough</td>" in dom and "rough: an interval from fewer than 5 seeds" in dom
