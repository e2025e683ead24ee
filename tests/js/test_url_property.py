"""URLSearchParams and URL agree with node's for random inputs (property test)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.js.node_probe import NODE, assert_engine_matches_node, probe_fixture

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


probe = probe_fixture(SCRIPT)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@settings(max_examples=20, deadline=None)
@given(cases)
def test_url_and_search_params_match_node(probe, batch: list[object]) -> None:  # type: ignore[no-untyped-def]
    assert_engine_matches_node(probe, SCRIPT, batch)
