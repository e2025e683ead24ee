"""The C request scanner (``hyphal.http._speedups``): built where a compiler exists, and
indistinguishable from the full parser -- same requests, same errors -- on any byte stream cut
anywhere (the HTTP suite also runs on the pure-Python twin)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyphal.http import Limits, ProtocolError, RequestParser, _parser

LIMITS = Limits(max_request_line=40, max_headers=4, max_header_bytes=120, max_body=16)
fast_only = pytest.mark.skipif(_parser._speedups is None, reason="C scanner not built")


@pytest.mark.skipif(sys.platform == "win32" or bool(os.environ.get("HYPHAL_PURE_PYTHON")),
                    reason="pure Python asked for, or no compiler expected")
def test_c_scanner_was_built() -> None:
    assert _parser._speedups is not None, "the install did not compile hyphal.http._speedups"
    parser = RequestParser(Limits())
    parser.feed(b"GET /a?b=1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /e HTTP/1.1\r\n"
                b"Content-Length: 2\r\n\r\nhi")
    assert parser._clean  # the scanner took both: the full parser never saw a byte
    assert [(r.method, r.path, r.body) for r in parser.completed] == [
        ("GET", "/a", b""), ("POST", "/e", b"hi")]


def outcome(data: bytes, cuts: list[int], fast: bool) -> tuple[list[tuple[object, ...]], object]:
    parser = RequestParser(LIMITS, fast=fast)
    points = sorted({c % (len(data) + 1) for c in cuts})
    error: object = None
    try:
        for a, b in zip([0, *points], [*points, len(data)], strict=True):
            parser.feed(data[a:b])
    except ProtocolError as exc:
        error = exc.status
    requests = [(r.method, r.raw_url, r.raw_headers, r.body, r.http_version, r.keep_alive,
                 r.path, r.query, r.headers) for r in parser.completed]
    return requests, (error, parser.messages, parser.phase, parser.continue_wanted,
                      parser.upgrade)


METHODS = st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"PATCH",
                           b"TRACE", b"get", b"PO ST", b""])
TARGETS = st.sampled_from([b"/", b"/api/health", b"/a?x=1&y=%20", b"/caf%C3%A9", b"*",
                           b"http://h/p", b"/a#f", b"/a<b>", b"/" + b"x" * 45, b"/a\x7f",
                           b"/\xc3\xa9"])
VERSIONS = st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"http/1.1", b"HTTP/1.1 "])
NAMES = st.sampled_from([b"Host", b"X-A", b"content-length", b"Content-Length",
                         b"Transfer-Encoding", b"Connection", b"Expect", b"Upgrade",
                         b"Proxy-Connection", b"Bad Name", b"", b"X-\xff"])
VALUES = st.sampled_from([b"h", b"0", b"5", b"007", b"+5", b"5 ", b" 5", b"99999999999",
                          b"chunked", b"close", b"keep-alive", b"upgrade", b"100-continue",
                          b"a\tb",
                          b"", b"\xc3\xa9", b"v" * 70, b"x\x01"])
EOLS = st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r"])


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    head = draw(METHODS) + b" " + draw(TARGETS) + b" " + draw(VERSIONS) + draw(EOLS)
    for name, value in draw(st.lists(st.tuples(NAMES, VALUES), max_size=5)):
        head += name + b":" + draw(st.sampled_from([b" ", b"", b"\t"])) + value + draw(EOLS)
    body = draw(st.sampled_from([b"", b"hello", b"0\r\n\r\n", b"5\r\nhello\r\n0\r\n\r\n",
                                 b"x" * 20]))
    return head + draw(EOLS) + body


@st.composite
def plain_requests(draw: st.DrawFn) -> bytes:
    """Mostly what the scanner takes, sometimes just over a limit."""
    method = draw(st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS",
                                   b"PATCH"]))
    target = b"/" + draw(st.text("abz09-._~!$&'()*+,;=:@/?%", max_size=44)).encode()
    head = method + b" " + target + b" HTTP/1.1\r\n"
    for name, value in draw(st.lists(st.tuples(st.sampled_from([b"Host", b"X-A", b"accept"]),
                                               st.text("abc 09\t/;=", min_size=1,
                                                       max_size=40)), max_size=5)):
        head += name + b":" + draw(st.sampled_from([b" ", b""])) + value.strip().encode() + (
            b"x\r\n")
    body = draw(st.binary(max_size=20))
    if body or draw(st.booleans()):
        head += b"Content-Length: %d\r\n" % len(body)
    return head + b"\r\n" + body


@fast_only
@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(plain_requests(), requests()), min_size=1, max_size=4),
       st.lists(st.integers(0, 2000), max_size=4))
def test_scanner_and_full_parser_agree(stream: list[bytes], cuts: list[int]) -> None:
    data = b"".join(stream)
    assert outcome(data, cuts, fast=True) == outcome(data, cuts, fast=False)


@fast_only
@given(st.binary(max_size=200), st.lists(st.integers(0, 200), max_size=3))
def test_scanner_and_full_parser_agree_on_garbage(data: bytes, cuts: list[int]) -> None:
    plain = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    assert outcome(plain + data, cuts, fast=True) == outcome(plain + data, cuts, fast=False)


@fast_only
def test_a_partial_method_keeps_the_scanner_out() -> None:
    parser = RequestParser(Limits())
    parser.feed(b"G")  # llhttp now holds a byte: what follows is not a fresh request
    with pytest.raises(ProtocolError):
        parser.feed(b"GET / HTTP/1.1\r\n\r\n")
    assert not parser.completed


@pytest.mark.slow
@pytest.mark.skipif(_parser._speedups is None, reason="already running pure Python")
def test_http_suite_passes_on_the_pure_python_parser() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "HYPHAL_PURE_PYTHON": "1"}
    tests = ["tests/http/test_conformance.py", "tests/http/test_parser.py",
             "tests/http/test_handlers.py"]
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                           *tests], cwd=root, env=env, capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout


@fast_only
@given(st.lists(st.tuples(st.binary(max_size=8), st.binary(max_size=8)), max_size=4))
def test_c_header_helpers_match_their_python_twins(headers: list[tuple[bytes, bytes]]) -> None:
    from hyphal.http import _asgi, _jshandler

    joined = _parser._speedups.join_headers(headers)
    assert joined == _jshandler._py_join_headers(headers)
    assert joined.isascii() == all(p.isascii() for pair in headers for p in pair)
    assert _parser._speedups.lower_headers(headers) == _asgi._py_lower_headers(headers)


@fast_only
@given(st.sampled_from(["GET", "HEAD", "POST"]), st.sampled_from(["1.1", "1.0"]), st.booleans(),
       st.sampled_from([200, 204, 304, 404, 599, 299]), st.integers(0, 9000),
       st.sampled_from([None, "x", b"raw", 3]), st.booleans())
def test_c_answerer_matches_its_python_twin(method: str, version: str, keep: bool, status: int,
                                            size: int, other: object, raises: bool) -> None:
    from hyphal.http import Request, Response, _protocol, _response

    request = Request(method, b"/", [], b"", version, keep)
    response = Response(b"b" * size, status, {"x-a": "1"})
    twins = [_parser._speedups.Answerer(Request, Response, _response._STATUS_LINES),
             _protocol._PyAnswerer(Request, Response, _response._STATUS_LINES)]
    results = []
    for answerer in twins:
        def call(req: Request) -> object:
            if raises:
                raise KeyError("handler")
            return response if other is None else other

        out: list[bytes] = []
        try:
            got = answerer.answer(call, request, b"date: d\r\n", out)
        except KeyError:
            got = "raised"
        assert answerer.elapsed >= 0
        for_sink = answerer.answer(call, request, b"date: d\r\n", None) if not raises else None
        assert for_sink is None or for_sink is response or for_sink is other
        encoded = answerer.encode(request, response, b"date: d\r\n", [])
        results.append((got is _protocol.DONE or got, out, encoded))
    assert results[0] == results[1]


@fast_only
async def test_c_step_matches_its_python_twin() -> None:
    import contextvars

    from hyphal.http import _protocol

    var: contextvars.ContextVar[int] = contextvars.ContextVar("var", default=0)
    loop = asyncio.get_running_loop()
    outer = asyncio.current_task()
    stand_in: asyncio.Future[None] = loop.create_future()  # anything may stand in as the task

    async def done() -> object:
        var.set(1)
        return asyncio.current_task()

    class Yield:
        def __await__(self):  # type: ignore[no-untyped-def]
            yield "pending"

    async def suspends() -> None:
        await Yield()

    async def fails() -> None:
        raise KeyError("x")

    tasks = _protocol._current_tasks
    for step in (_parser._speedups.step_as, _protocol._py_step_as):
        context = contextvars.copy_context()
        assert step(tasks, loop, stand_in, context, done()) == (True, stand_in)
        assert context[var] == 1 and var.get() == 0  # ran inside the given context only
        assert asyncio.current_task() is outer  # restored
        coro = suspends()
        assert step(tasks, loop, stand_in, contextvars.copy_context(), coro) == (False, "pending")
        coro.close()
        with pytest.raises(KeyError):
            step(tasks, loop, stand_in, contextvars.copy_context(), fails())
        assert asyncio.current_task() is outer
    stand_in.cancel()
