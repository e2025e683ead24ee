"""The examples users copy from must run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_pipeline_example_runs() -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / "pipeline.py")], capture_output=True,
                          text=True, timeout=60, check=True)
    assert "sum of squares below 100,000: 333328333350000" in done.stdout
