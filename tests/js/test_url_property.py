"""URLSearchParams and URL agree with node's for random inputs (property test)."""

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
  return cases.map(([pairs, path, query]) => {
    const p = new URLSearchParams(pairs);
    const text = p.toString();
    const back = [...new URLSearchParams(text)];
    const u = new URL(path + '?' + query, 'http://Example.COM:80/base/dir/');
    return [text, back, u.href, u.pathname, u.search, [...u.searchParams]];
  });
}
"""
part = st.text("ab =&+%/?#é~!'()*.-_", max_size=8)
cases = st.lists(st.tuples(st.lists(st.tuples(part, part), max_size=4),
                           st.sampled_from(["", "x", "./y/z", "../up", "/abs/p", "a b/c", "%41"]),
                           st.text("ab=&+~-_.", max_size=10)),
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
def test_url_and_search_params_match_node(probe, batch: list[object]) -> None:  # type: ignore[no-untyped-def]
    text = json.dumps(batch)
    assert NODE is not None
    expected = json.loads(subprocess.run(
        [NODE, "-e", SCRIPT + "process.stdout.write(JSON.stringify(probe(JSON.parse("
         "process.argv[1]))));", text], capture_output=True, text=True, check=True,
        timeout=30).stdout)
    assert probe(text) == expected
