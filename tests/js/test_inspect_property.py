"""console.log formatting matches node's util.inspect for arbitrary nested plain values
(property test: hypothesis generates values; node prints the reference)."""

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

keys = st.one_of(st.sampled_from(["a", "b", "key_1", "with-dash", "1", "x y", "$d"]),
                 st.text("abcz_'\"", min_size=1, max_size=6))
# Fractions with short exact decimals: QuickJS's number-to-string is not always the shortest
# round trip (5.9604644775390625e-8 where V8 prints 5.960464477539063e-8), an engine detail.
leaves = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                   st.integers(-10**6, 10**6).map(lambda i: i / 8),
                   st.text("ab c'\"\n\t\\é", max_size=30))
values = st.recursive(
    leaves, lambda inner: st.one_of(st.lists(inner, max_size=12),
                                    st.dictionaries(keys, inner, max_size=7)),
    max_leaves=40)


@pytest.fixture(scope="module", params=["quickjs", "v8"])
def engine_inspect(request):  # type: ignore[no-untyped-def]
    engine = create_engine(request.param)
    load_prelude(engine, argv=[], env={})
    engine.eval("globalThis.__inspect_all = (s) => JSON.stringify(JSON.parse(s)"
                ".map((v) => __hyphal.formatArgs([v])));")
    yield lambda batch: json.loads(engine.call("__inspect_all", batch))
    engine.close()


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@settings(max_examples=20, deadline=None)
@given(st.lists(values, min_size=1, max_size=8))
def test_formatting_matches_node(engine_inspect, batch: list[object]) -> None:  # type: ignore[no-untyped-def]
    text = json.dumps(batch)
    script = ("const util = require('util'); const vals = JSON.parse(process.argv[1]);"
              "process.stdout.write(JSON.stringify(vals.map((v) => util.format(v))));")
    assert NODE is not None
    expected = json.loads(subprocess.run([NODE, "-e", script, text], capture_output=True,
                                         text=True, check=True, timeout=30).stdout)
    assert engine_inspect(text) == expected
