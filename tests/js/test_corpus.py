"""The corpus: small scripts whose expected stdout is what node v20 printed (generated once
with ``node FILE one two`` and committed as ``FILE.out``), run on both engines."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from hyphal.js.runtime import Runtime

CORPUS = Path(__file__).parent / "corpus"
SCRIPTS = sorted(p for p in CORPUS.iterdir() if p.suffix in (".js", ".mjs"))
EXIT_CODES = {"process_env.js": 3}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
async def test_corpus_matches_node(script: Path, engine: str, hyphal_loop: str) -> None:
    if hyphal_loop != "uvloop" and script.name != "timers_order.js":
        pytest.skip("the corpus runs on one loop; timers_order runs on both")
    out, err = io.StringIO(), io.StringIO()
    runtime = Runtime(engine, argv=["one", "two"], stdout=out, stderr=err,  # type: ignore[arg-type]
                      env={"PATH": "/usr/bin", "HYPHAL_CORPUS_VAR": "corpus"})
    code = await runtime.run_file(str(script))
    expected = script.with_suffix(".out").read_text()
    assert out.getvalue() == expected, err.getvalue()
    assert code == EXIT_CODES.get(script.name, 0), err.getvalue()
