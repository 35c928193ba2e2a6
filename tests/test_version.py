"""The package version comes from one place: __version__, run keys and result versions."""

from __future__ import annotations

import importlib.metadata

import rewarddesign as rd
from rewarddesign.bench.keys import resolved
from rewarddesign.common import version
from rewarddesign.contract.runspec import RunSpec
from rewarddesign.experiment.runner import versions


def test_version_is_the_same_everywhere():
    spec = RunSpec(task="classic/Pendulum-v1", method="true", agent="sac", seed=0)
    found = version.package_version()
    assert found == importlib.metadata.version("rewarddesign")  # installed: its metadata
    assert rd.__version__ == found == versions()["rewarddesign"] == resolved(spec)["rewarddesign"]


def test_an_uninstalled_source_tree_has_one_fallback(monkeypatch):
    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    spec = RunSpec(task="classic/Pendulum-v1", method="true", agent="sac", seed=0)
    assert version.package_version() == version.SOURCE_VERSION == "0.0.0+source"
    assert versions()["rewarddesign"] == resolved(spec)["rewarddesign"] == "0.0.0+source"
