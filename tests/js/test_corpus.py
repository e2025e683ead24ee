"""The corpus: small scripts whose expected stdout is what node v20 printed (generated once
with ``node FILE one two`` and committed as ``FILE.out``), run on both engines."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from hyphal.js.runtime import Runtime

CORPUS = Path(__file__).parent / "corpus"
SCRIPTS = sorted(p for p in CORPUS.iterdir() if p.suffix in (".js", ".mjs"))
EXIT_CODES = {"process_env.js": 3, "rejection_async.js": 1, "rejection_handled_too_late.js": 1,
              "rejection_late.js": 1, "rejection_unhandled.js": 1}


def corpus_runtime(engine: str, out: io.StringIO, err: io.StringIO) -> Runtime:
    return Runtime(engine, argv=["one", "two"], stdout=out, stderr=err,  # type: ignore[arg-type]
                   env={"PATH": "/usr/bin", "HYPHAL_CORPUS_VAR": "corpus"})


async def check(script: Path, engine: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = await corpus_runtime(engine, out, err).run_file(str(script))
    expect(script, code, out, err)


def expect(script: Path, code: int, out: io.StringIO, err: io.StringIO) -> None:
    expected = script.with_suffix(".out").read_text()
    assert out.getvalue() == expected, err.getvalue()
    assert code == EXIT_CODES.get(script.name, 0), err.getvalue()


@pytest.mark.hyphal(loops=["uvloop"])
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
async def test_corpus_matches_node(script: Path, engine: str) -> None:
    await check(script, engine)


async def test_timer_ordering_on_each_loop(engine: str) -> None:
    await check(CORPUS / "timers_order.js", engine)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_corpus_through_the_blocking_path(script: Path, engine: str) -> None:
    """``hyphal run``'s path: the main script runs before any loop exists."""
    out, err = io.StringIO(), io.StringIO()
    code = corpus_runtime(engine, out, err).run_file_blocking(str(script))
    expect(script, code, out, err)
