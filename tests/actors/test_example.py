"""examples/actors.py runs and shows supervision, streams and dead letters at work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "actors.py"


def test_actors_example_runs() -> None:
    done = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                          timeout=60, check=True)
    assert "total: 180" in done.stdout
    assert "restarts: 1" in done.stdout
    assert "dead letters: [('parser-0', 'stopped')]" in done.stdout
