"""A distance matrix as files: CSV (one row per ordered pair), JSON (the matrix and its
intervals with what they were computed from) and a heatmap PNG, each written atomically."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import matplotlib.pyplot as plt

from rewarddesign.common.files import write_atomic
from rewarddesign.contract.figures import png
from rewarddesign.diagnostics.epic import DistanceMatrix
from rewarddesign.errors import SpecError

FORMATS = (".csv", ".json")


def to_json(m: DistanceMatrix) -> dict:
    """The matrix as plain data."""
    return {
        "distance": m.distance_kind,
        "names": list(m.names),
        "matrix": m.distance.tolist(),
        "low": m.low.tolist(),
        "high": m.high.tolist(),
        "confidence": m.confidence,
        "transitions": m.transitions,
        "samples": m.samples,
        "gamma": m.gamma,
    }


def to_csv(m: DistanceMatrix) -> str:
    """One row per ordered pair: ``a, b, distance, low, high``."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, ["a", "b", "distance", "low", "high"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(m.rows())
    return buf.getvalue()


def heatmap(m: DistanceMatrix) -> bytes:
    """The matrix as a heatmap PNG (0 dark: the same reward up to shaping and scale)."""
    k = len(m.names)
    fig, ax = plt.subplots(figsize=(1.4 + 0.9 * k, 1.0 + 0.8 * k))
    im = ax.imshow(m.distance, vmin=0.0, vmax=1.0, cmap="viridis")
    ax.set_xticks(range(k), m.names, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(k), m.names, fontsize=8)
    for i in range(k):
        for j in range(k):
            d = m.distance[i, j]
            text = f"{d:.2f}" if i == j else f"{d:.2f}\n[{m.low[i, j]:.2f}, {m.high[i, j]:.2f}]"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if d < 0.5 else "black")  # fmt: skip
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    level = f"{m.confidence:.0%}"
    ax.set_title(
        f"{m.distance_kind.upper()} distance ({level} CI), {m.transitions} transitions, "
        f"{m.samples} samples, gamma {m.gamma:g}",
        fontsize=8,
    )
    return png(fig)


def check_path(path: str | Path) -> Path:
    """``path`` if it names a ``.csv`` or ``.json`` file.

    Raises:
        SpecError: Another suffix.
    """
    path = Path(path)
    if path.suffix not in FORMATS:
        raise SpecError(f"--out {str(path)!r}: write a .csv or a .json file, got {path.suffix!r}.")
    return path


def write(m: DistanceMatrix, path: str | Path) -> list[Path]:
    """Write the matrix to ``path`` (``.csv`` or ``.json``) and its heatmap beside it
    (the same name, ``.png``). Returns the paths written.

    Raises:
        SpecError: Another suffix.
    """
    path = check_path(path)
    text = to_csv(m) if path.suffix == ".csv" else json.dumps(to_json(m), indent=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
    image = path.with_suffix(".png")
    write_atomic(image, heatmap(m))
    return [path, image]
