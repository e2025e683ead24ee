"""TextEncoder/TextDecoder, btoa/atob and structuredClone agree with node (property test)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.js.node_probe import NODE, assert_engine_matches_node, probe_fixture

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


probe = probe_fixture(SCRIPT)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@settings(max_examples=20, deadline=None)
@given(cases)
def test_encodings_match_node(probe, batch: list[object]) -> None:  # type: ignore[no-untyped-def]
    assert_engine_matches_node(probe, SCRIPT, batch)
