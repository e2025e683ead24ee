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


def _js_literal(draw: Any, depth: int = 0) -> str:
    """A JavaScript expression for JSON-like data, with the values JSON treats specially."""
    choices = ["string", "int", "float", "const", "special"]
    if depth < 3:
        choices += ["array", "object", "object"]
    kind = draw(st.sampled_from(choices))
    if kind == "string":
        return json.dumps(draw(st.text(max_size=12)))  # \uXXXX escapes, lone surrogates too
    if kind == "int":
        return str(draw(st.integers(-2 ** 53, 2 ** 53)))
    if kind == "float":
        return repr(draw(st.floats(allow_nan=False, allow_infinity=False)))
    if kind == "const":
        return draw(st.sampled_from(["true", "false", "null", "undefined", "-0", "NaN",
                                     "Infinity", "1e21", "0.1", "-1.5e-7"]))
    if kind == "special":
        return draw(st.sampled_from([
            "new Date(0)", "() => 1", "Symbol('s')", "new Map([[1, 2]])", "10n ** 0n ? 1 : 0",
            "{toJSON() { return 'custom'; }}", "new (class K { constructor() { this.k = 1; } })",
            "Object.create(null)", "[1, , 3]", "Object.assign(Object.create(null), {n: 1})",
            "'con' + 'cat' + String(1)", "new String('boxed')"]))
    if kind == "array":
        items = draw(st.lists(st.builds(lambda: None), max_size=4))
        return "[" + ", ".join(_js_literal(draw, depth + 1) for _ in items) + "]"
    keys = draw(st.lists(st.text(max_size=6), max_size=4))
    return "{" + ", ".join(f"{json.dumps(k)}: {_js_literal(draw, depth + 1)}" for k in keys) + "}"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_native_json_is_json_stringify(data: st.DataObject) -> None:
    """Response.json's native serializer gives JSON.stringify's text, or steps aside."""
    from hyphal.js.prelude import prelude_source

    literal = _js_literal(data.draw)
    engine = QuickJSEngine()
    try:
        engine.eval(prelude_source())
        same = engine.eval(f"(() => {{ const v = ({literal}); "
                           "return Response.json(v)._text === JSON.stringify(v); })()")
        assert same is True, literal
    finally:
        engine.close()


def test_native_json_takes_plain_data() -> None:
    engine = QuickJSEngine()
    try:
        from hyphal.js.prelude import prelude_source

        engine.eval(prelude_source())
        text = engine.eval("__hyphal_json({a: [1, 'x\\n\"', null, undefined, {b: -0.5}], "
                           "u: undefined, f: 1e21}, Object.prototype, Array.prototype)")
        assert text == '{"a":[1,"x\\n\\"",null,null,{"b":-0.5}],"f":1e+21}'
        assert engine.eval("__hyphal_json(new Date(0), Object.prototype, Array.prototype)") \
            is None  # steps aside
        assert engine.eval("const o = {}; o.o = o; "
                           "__hyphal_json(o, Object.prototype, Array.prototype)") is None
        with pytest.raises(Exception, match="Error: from a getter"):
            engine.eval("Response.json({get x() { throw new Error('from a getter'); }})")
    finally:
        engine.close()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 60, 2 ** 60)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
    | st.sampled_from(["__proto__", "1", "0", "-0"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=5) | st.sampled_from(["__proto__", "7", "a"]), inner,
                      max_size=4),
    max_leaves=12)

# A deep comparison that tells -0 from 0 and sees key order and prototypes.
SAME = """function same(a, b) {
  if (typeof a !== typeof b) return false;
  if (typeof a === "number") return Object.is(a, b);
  if (a === null || typeof a !== "object") return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same(a[k], b[k]));
}
function check(text) {
  let expected, error = null;
  try { expected = JSON.parse(text); } catch (e) { error = e; }
  const value = __hyphal_json_parse(text);
  if (value === undefined) return "fallback";
  if (error !== null) return "native parsed what JSON.parse refuses";
  return same(value, expected) ? "same" : "different: " + JSON.stringify(value);
}"""


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, ascii=st.booleans(), indent=st.sampled_from([None, 0, 2]),
       cut=st.none() | st.integers(0, 40), insert=st.sampled_from(["", ",", "}", "0", " ", "\\"]))
def test_native_json_parse_is_json_parse(value: Any, ascii: bool, indent: int | None,
                                         cut: int | None, insert: str) -> None:
    """request.json()'s native parser gives JSON.parse's value, or steps aside (and then
    JSON.parse throws its own SyntaxError for text that is not JSON)."""
    text = json.dumps(value, ensure_ascii=ascii, indent=indent)
    if cut is not None:  # broken or odd text too: the parser must step aside, never guess
        text = text[:cut] + insert + text[cut:]
    engine = QuickJSEngine()
    try:
        engine.eval(SAME)
        result = engine.call("check", text)
        assert result in ("same", "fallback"), (text, result)
        if cut is None and ascii is False and "\\u" not in text:
            assert result == "same", text  # plain JSON is parsed natively
    finally:
        engine.close()
