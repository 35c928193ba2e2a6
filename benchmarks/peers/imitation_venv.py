"""The imitation 1.0.1 venv the peer benchmarks run in (created on first use).

imitation 1.0.1 pins gymnasium < 1 and stable-baselines3 2.2, so it cannot share this
project's environment: it gets its own venv at ``benchmarks/peers/.venv-imitation``,
with the same torch as this project.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PEERS = Path(__file__).parent
VENV = PEERS / ".venv-imitation"


def peer_python() -> Path:
    """The venv's Python, after creating the venv if it is missing."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0"], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "imitation==1.0.1"], check=True)
    return python
