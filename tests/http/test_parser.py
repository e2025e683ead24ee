"""The sans-IO request parser, driven without sockets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hyphal.http import Limits, ProtocolError, RequestParser
from hyphal.http._parser import BODY, HEAD, IDLE

STREAM = (b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\nX-Two: 2\r\n\r\n"
          b"POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
          b"PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
          b"GET /d HTTP/1.0\r\n\r\n")


def parse(chunks: list[bytes]) -> list[tuple[str, str, bytes, str, bool]]:
    parser = RequestParser(Limits())
    for chunk in chunks:
        parser.feed(chunk)
    return [(r.method, r.url, r.body, r.http_version, r.keep_alive) for r in parser.completed]


EXPECTED = [("GET", "/a?x=1", b"", "1.1", True), ("POST", "/b", b"hello", "1.1", True),
            ("PUT", "/c", b"abcde", "1.1", True), ("GET", "/d", b"", "1.0", False)]


def test_pipelined_stream_in_one_piece():
    assert parse([STREAM]) == EXPECTED


@given(st.lists(st.integers(0, len(STREAM)), max_size=12))
def test_any_split_gives_the_same_requests(cuts):
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    assert parse(chunks) == EXPECTED


@given(st.binary(max_size=300))
def test_garbage_only_ever_raises_protocol_error(data):
    parser = RequestParser(Limits(max_request_line=64, max_header_bytes=128, max_body=64))
    status = None
    try:
        parser.feed(data)
    except ProtocolError as exc:
        status = exc.status
    assert status in (None, 400, 413, 414, 417, 431)


def test_phases_follow_the_request():
    parser = RequestParser(Limits())
    assert parser.phase == IDLE
    parser.feed(b"POST / HTTP/1.1\r\nContent-")
    assert parser.phase == HEAD
    parser.feed(b"Length: 4\r\n\r\nab")
    assert parser.phase == BODY
    parser.feed(b"cd")
    assert parser.phase == IDLE
    assert parser.completed.popleft().body == b"abcd"


def test_expect_continue_flag():
    parser = RequestParser(Limits())
    parser.feed(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    assert parser.continue_wanted
    parser.feed(b"ok")
    assert not parser.continue_wanted


def test_request_accessors():
    parser = RequestParser(Limits())
    parser.feed(b"GET /caf%C3%A9/x?a=1&a=2&b=%20 HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\n"
                b"Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"k\":1}")
    req = parser.completed.popleft()
    assert req.path == "/café/x"
    assert req.query == {"a": "2", "b": " "}
    assert req.headers["x-a"] == "1, 2"
    assert req.header("CONTENT-TYPE") == "application/json"
    assert req.json() == {"k": 1}
    assert req.text() == '{"k":1}'
    assert ("x-a", "1") in req.header_list()


@pytest.mark.parametrize(("limits", "data", "status"), [
    (Limits(max_request_line=10), b"GET /0123456789a HTTP/1.1\r\n\r\n", 414),
    (Limits(max_headers=1), b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", 431),
    (Limits(max_body=3), b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n", 413),
])
def test_limits(limits, data, status):
    with pytest.raises(ProtocolError) as info:
        RequestParser(limits).feed(data)
    assert info.value.status == status
