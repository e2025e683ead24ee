"""TextEncoder/TextDecoder, btoa/atob and structuredClone agree with node (property test)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyphal.js.abc import create_engine
from hyphal.js.runtime import load_prelude

NODE = shutil.which("node")
SCRIPT = """
function probe(cases) {
  return cases.map(([text, bytes, latin]) => {
    const encoded = Array.from(new TextEncoder().encode(text));
    const decoded = new TextDecoder().decode(new Uint8Array(bytes));
    const b64 = btoa(latin);
    const clone = structuredClone({ text, bytes, nested: [{ latin }] });
    return [encoded, decoded, b64, atob(b64) === latin, JSON.stringify(clone)];
  });
}
"""
cases = st.lists(st.tuples(st.text(max_size=20),
                           st.lists(st.integers(0, 255), max_size=20),
                           st.text(st.characters(max_codepoint=255), max_size=20)),
                 min_size=1, max_size=6)


@pytest.fixture(scope="module", params=["quickjs", "v8"])
def probe(request):  # type: ignore[no-untyped-def]
    engine = create_engine(request.param)
    load_prelude(engine, argv=[], env={})
    engine.eval(SCRIPT + "globalThis.__probe = (s) => JSON.stringify(probe(JSON.parse(s)));")
    yield lambda text: json.loads(engine.call("__probe", text))
    engine.close()


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@settings(max_examples=20, deadline=None)
@given(cases)
def test_encodings_match_node(probe, batch: list[object]) -> None:  # type: ignore[no-untyped-def]
    text = json.dumps(batch)
    assert NODE is not None
    expected = json.loads(subprocess.run(
        [NODE, "-e", SCRIPT + "process.stdout.write(JSON.stringify(probe(JSON.parse("
         "process.argv[1]))));", text], capture_output=True, text=True, check=True,
        timeout=30).stdout)
    assert probe(text) == expected
