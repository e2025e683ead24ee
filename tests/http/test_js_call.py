"""The JS handler call in C (``hyphal.http._speedups.JSCall``) against its Python twin
(``JSHandlerContext._call_py``): the same request reaches JavaScript and the same response
comes back, for every request and answer shape, including the ones C hands to Python."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyphal import BusyResourceError
from hyphal.http._config import Limits
from hyphal.http._jshandler import JSHandlerContext, load_js_handler
from hyphal.http._native import speedups
from hyphal.http._parser import RequestParser
from hyphal.http._request import Request
from hyphal.http._response import Response

pytest.importorskip("hyphal.js.handler")
pytestmark = pytest.mark.skipif(speedups is None, reason="the C extension is not built")

# The request as JavaScript sees it, and an answer whose shape the path picks.
HANDLER = r"""
function handler(request) {
  const seen = { method: request.method, url: request.url, path: request.path,
                 query: request.query, body: request.text(), headers: [...request.headers] };
  const kind = request.path.split("/")[1];
  if (kind === "created") return Response.json(seen, { status: 201 });
  if (kind === "headers") return new Response(JSON.stringify(seen), { headers: { "x-a": "1" } });
  if (kind === "bytes") return new Response(new Uint8Array([0, 255, 10]));
  if (kind === "text") return Response.text("héllo ✓ " + request.path);
  if (kind === "html") return Response.html("<p>" + request.method + "</p>");
  if (kind === "log") { console.log("logged", request.path); return Response.json(seen); }
  if (kind === "plain") return "a string";
  if (kind === "wait") return new Promise((ok) => setTimeout(() => ok(Response.json(seen)), 1));
  if (kind === "resolved") return (async () => { await null; return Response.json(seen); })();
  if (kind === "throw") throw new Error("boom");
  if (kind === "rejected") return (async () => { await null; throw new Error("late boom"); })();
  if (kind === "badheader") return new Response("x", { headers: { "bad name": "v" } });
  return Response.json(seen);
}
"""

KINDS = ["json", "created", "headers", "bytes", "text", "html", "log", "plain", "resolved"]


def make_context(directory: Path) -> JSHandlerContext:
    path = directory / "handler.js"
    path.write_text(HANDLER)
    ctx = load_js_handler(str(path)).factory()
    assert isinstance(ctx, JSHandlerContext) and ctx.call is not ctx._call_py
    ctx._ctx._host.stdout = io.StringIO()  # console.log output of the "log" kind
    return ctx


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> JSHandlerContext:
    return make_context(tmp_path_factory.mktemp("js"))


def parse(raw: bytes) -> Request:
    parser = RequestParser(Limits())
    parser.feed(raw)
    assert len(parser.completed) == 1
    return parser.completed.popleft()


def same(a: Response, b: Response) -> bool:
    return (a.status, a._head, a.body, a.stream_body) == (b.status, b._head, b.body,
                                                           b.stream_body)


segment = st.text(st.sampled_from("abcz09-._~%20é✓"), min_size=0, max_size=8)
query = st.none() | st.dictionaries(st.text("abq", min_size=1, max_size=3),
                                    st.text("xyz19", max_size=4), max_size=3)
header = st.tuples(st.sampled_from(["X-Token", "x-tag", "Accept", "X-Tag"]),
                   st.text(st.sampled_from("ab: ,;=1"), min_size=1, max_size=6).map(str.strip)
                   .filter(bool))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(KINDS), rest=segment, q=query,
       method=st.sampled_from(["GET", "POST", "PUT"]), headers=st.lists(header, max_size=4),
       body=st.text(max_size=20))
def test_c_and_python_calls_give_the_same_response(context: JSHandlerContext, kind: str,
                                                   rest: str, q: dict[str, str] | None,
                                                   method: str, headers: list[tuple[str, str]],
                                                   body: str) -> None:
    from urllib.parse import quote, unquote, urlencode

    target = "/" + kind + "/" + quote(rest, safe="%")
    if q is not None:
        target += "?" + urlencode(q)
    data = body.encode() if method != "GET" else b""
    head = "".join(f"{k}: {v}\r\n" for k, v in headers)
    raw = (f"{method} {target} HTTP/1.1\r\nHost: h\r\n{head}content-length: {len(data)}\r\n\r\n"
           .encode() + data)
    fast = context.call(parse(raw))
    slow = context._call_py(parse(raw))
    assert isinstance(fast, Response) and isinstance(slow, Response)
    assert same(fast, slow), (fast.status, fast._head, fast.body, slow.body)
    if kind in ("json", "created"):
        import orjson

        seen = orjson.loads(fast.body)
        assert seen["method"] == method and seen["url"] == target and seen["body"] == data.decode()
        assert seen["query"] == ({} if q is None else q)
        assert seen["path"] == unquote(target.partition("?")[0], errors="replace")


def test_a_promise_settled_by_the_microtask_checkpoint_is_answered_in_the_call(
        context: JSHandlerContext) -> None:
    response = context.call(parse(b"GET /resolved/x HTTP/1.1\r\n\r\n"))
    assert isinstance(response, Response) and b'"path":"/resolved/x"' in response.body


def test_the_common_answer_is_built_in_c(context: JSHandlerContext) -> None:
    fast = context._fast
    assert fast is not None
    before = fast.calls
    response = context.call(parse(b"GET /json/x HTTP/1.1\r\n\r\n"))
    assert isinstance(response, Response) and fast.calls == before + 1
    assert response.status == 200 and response._head == b"content-type: application/json\r\n"
    text = context.call(parse(b"GET /text/x HTTP/1.1\r\n\r\n"))
    assert isinstance(text, Response) and text.body == "héllo ✓ /text/x".encode()


def test_errors_and_invalid_answers_match_the_python_path(context: JSHandlerContext) -> None:
    from hyphal.js.errors import JSError

    for call in (context.call, context._call_py):
        with pytest.raises(JSError, match="boom"):
            call(parse(b"GET /throw HTTP/1.1\r\n\r\n"))
        with pytest.raises(JSError, match="late boom"):
            call(parse(b"GET /rejected HTTP/1.1\r\n\r\n"))
        with pytest.raises(ValueError, match="invalid HTTP header"):
            call(parse(b"GET /badheader HTTP/1.1\r\n\r\n"))
    assert context._fast is not None and context._fast.ready  # still serving
    assert isinstance(context.call(parse(b"GET /json HTTP/1.1\r\n\r\n")), Response)


async def test_an_async_answer_keeps_the_context_busy_until_it_settles(tmp_path: Path) -> None:
    context = make_context(tmp_path)  # bound to this test's event loop
    pending = context.call(parse(b"GET /wait/1 HTTP/1.1\r\n\r\n"))
    assert asyncio.iscoroutine(pending)
    assert context._fast is not None and not context._fast.ready
    with pytest.raises(BusyResourceError):
        context.call(parse(b"GET /json HTTP/1.1\r\n\r\n"))
    response = await pending
    assert response.status == 200 and b'"path":"/wait/1"' in response.body
    assert context._fast.ready
    assert isinstance(context.call(parse(b"GET /json HTTP/1.1\r\n\r\n")), Response)


def test_a_closed_context_refuses_calls(tmp_path: Path) -> None:
    from hyphal import ClosedResourceError

    ctx = make_context(tmp_path)
    ctx.close()
    with pytest.raises(ClosedResourceError):
        ctx.call(parse(b"GET /json HTTP/1.1\r\n\r\n"))


def test_console_log_shows_the_request_a_handler_reads(tmp_path: Path) -> None:
    path = tmp_path / "handler.js"
    path.write_text("function handler(request) { console.log(request); "
                    "console.log(Response.json({ok: 1})); return Response.text('x'); }")
    ctx = load_js_handler(str(path)).factory()
    assert isinstance(ctx, JSHandlerContext)
    out = ctx._ctx._host.stdout = io.StringIO()
    response = ctx.call(parse(b"GET /a%20b?q=1 HTTP/1.1\r\nHost: h\r\n\r\n"))
    assert isinstance(response, Response) and response.body == b"x"
    logged = out.getvalue()
    for field in ("method: 'GET'", "url: '/a%20b?q=1'", "path: '/a b'", "query: { q: '1' }",
                  "headers: Headers { host: 'h' }", "body: ''", "status: 200",
                  "body: '{\"ok\":1}'", "'content-type': 'application/json'"):
        assert field in logged, (field, logged)
    assert "_headers" not in logged and "_text" not in logged
