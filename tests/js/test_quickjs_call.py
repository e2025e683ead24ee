"""QuickJS's C call path (hyphal.js._speedups.quickjs_call) behaves like the binding's call."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyphal.js.quickjs_engine import QuickJSEngine, _fast_path

pytestmark = pytest.mark.skipif(_fast_path() is None, reason="hyphal.js._speedups not built")

ECHO = "function echo(...a) { return JSON.stringify(a.map((x) => [typeof x, x])); }"
SCALARS = st.one_of(st.text(), st.integers(-2 ** 63, 2 ** 63),
                    st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none())
TYPES = {str: "string", int: "number", float: "number", bool: "boolean", type(None): "object"}


@settings(max_examples=300, deadline=None)
@given(st.lists(SCALARS, max_size=6))
def test_arguments_arrive_as_javascript_values(args: list[Any]) -> None:
    engine = QuickJSEngine()
    try:
        engine.eval(ECHO)
        fast = functools.partial(_fast_path().quickjs_call, engine._ctx.get("echo"), 0.0)
        try:
            answer = fast(*args)
        except UnicodeEncodeError:  # a lone surrogate: not valid text to pass
            assert any(isinstance(a, str) for a in args)
            return
        got = json.loads(answer)
        assert [kind for kind, _ in got] == [TYPES[type(a)] for a in args]
        for (_, value), arg in zip(got, args, strict=True):
            if isinstance(arg, bool | str) or arg is None:
                assert value == arg
            else:  # a JavaScript number: a double (the binding wraps ints past 2**31)
                assert float(value) == float(arg)
    finally:
        engine.close()


def test_results_errors_and_the_deadline() -> None:
    engine = QuickJSEngine(time_limit=0.2)
    try:
        engine.eval("function f(k) { switch (k) { case 0: return 'a\\u0000b\\ud800';"
                    " case 1: return 2 ** 40; case 2: return {}; case 3: throw new "
                    "TypeError('nope'); case 4: for (;;) {} } return k === 5; }")
        assert engine.call("f", 0) == "a\x00b\ud800"
        assert engine.call("f", 1) == 2 ** 40
        assert engine.call("f", 2) is None
        with pytest.raises(Exception, match="TypeError: nope"):
            engine.call("f", 3)
        with pytest.raises(Exception, match="time limit"):
            engine.call("f", 4)
    finally:
        engine.close()
