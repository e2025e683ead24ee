"""examples/script.js runs on both engines and prints what node prints."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from hyphal.js.runtime import Runtime

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "script.js"


@pytest.mark.hyphal(loops=["uvloop"])
async def test_example_script(engine: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = await Runtime(engine, argv=["reader"], stdout=out,  # type: ignore[arg-type]
                         stderr=err).run_file(str(SCRIPT))
    assert code == 0, err.getvalue()
    assert out.getvalue().startswith(
        "hello, reader\nevent order: nextTick -> promise -> immediate -> timeout\n")
    node = shutil.which("node")
    if node is not None:
        expected = subprocess.run([node, str(SCRIPT), "reader"], capture_output=True,  # noqa: ASYNC221
                                  text=True, check=True, timeout=30).stdout
        assert out.getvalue() == expected
