"""The package version, computed in one place: ``rewarddesign.__version__``, every run
key (:mod:`rewarddesign.bench.keys`) and every result's ``versions`` use it."""

from __future__ import annotations

import importlib.metadata

SOURCE_VERSION = "0.0.0+source"
"""The version of an uninstalled source tree (no package metadata to read)."""


def package_version() -> str:
    """The installed ``rewarddesign`` version, or :data:`SOURCE_VERSION` without one.

    It goes into every run key, so an installed package's value must stay what
    ``importlib.metadata`` reports (a store's keys depend on it).

    Example:
        >>> import importlib.metadata
        >>> try:
        ...     installed = importlib.metadata.version("rewarddesign")
        ... except importlib.metadata.PackageNotFoundError:
        ...     installed = SOURCE_VERSION
        >>> package_version() == installed
        True
    """
    try:
        return importlib.metadata.version("rewarddesign")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return SOURCE_VERSION
