"""HTTP/1.1 conformance through raw sockets: keep-alive, pipelining, chunked bodies, HEAD,
100-continue, HTTP/1.0, Date/Content-Length/Connection, every limit and smuggling shape."""

from __future__ import annotations

import asyncio
from email.utils import parsedate_to_datetime

import pytest

from hyphal.http import Limits, Request, Response

from ._client import Conn, request, serving


def app(req: Request) -> Response:
    if req.path == "/echo":
        return Response(req.body, headers={"x-method": req.method})
    if req.path == "/json":
        return Response.json({"path": req.path, "query": req.query})
    if req.path == "/empty":
        return Response(b"", 204)
    return Response.text(f"hello {req.method} {req.url}")


GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


async def test_basic_response_has_date_length_and_type():
    async with serving(app) as server:
        reply = await request(server.port, b"GET /json?a=1&b=x%20y HTTP/1.1\r\nHost: t\r\n\r\n")
    assert reply.status == 200
    assert reply.body == b'{"path":"/json","query":{"a":"1","b":"x y"}}'
    assert reply.headers["content-length"] == str(len(reply.body))
    assert reply.headers["content-type"] == "application/json"
    assert parsedate_to_datetime(reply.headers["date"]).tzinfo is not None
    assert "connection" not in reply.headers  # HTTP/1.1 default: keep-alive


async def test_keep_alive_serves_many_requests_on_one_connection():
    async with serving(app) as server:
        conn = await Conn.open(server.port)
        for i in range(5):
            await conn.send(f"GET /{i} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            reply = await conn.reply()
            assert reply.body == f"hello GET /{i}".encode()
        await conn.close()


async def test_pipelined_requests_are_answered_in_order():
    async with serving(app) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"".join(f"GET /{i} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
                                 for i in range(20))
                        + b"POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
        bodies = [(await conn.reply()).body for _ in range(21)]
        assert bodies == [f"hello GET /{i}".encode() for i in range(20)] + [b"abc"]
        await conn.close()


async def test_chunked_request_body_is_reassembled():
    async with serving(app) as server:
        reply = await request(server.port, b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked"
                              b"\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    assert reply.body == b"hello world"


async def test_body_split_over_many_writes():
    async with serving(app) as server:
        conn = await Conn.open(server.port)
        data = b"POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789"
        for i in range(len(data)):
            await conn.send(data[i:i + 1])
        assert (await conn.reply()).body == b"0123456789"
        await conn.close()


async def test_head_has_length_but_no_body():
    async with serving(app) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + GET)
        head = await conn.reply(head=True)
        assert head.status == 200
        assert head.headers["content-length"] == str(len(b"hello HEAD /"))
        # the next response starts right away: no body bytes were sent for HEAD
        assert (await conn.reply()).body == b"hello GET /"
        await conn.close()


async def test_204_has_no_body_and_no_length():
    async with serving(app) as server:
        reply = await request(server.port, b"GET /empty HTTP/1.1\r\n\r\n")
    assert reply.status == 204
    assert "content-length" not in reply.headers


async def test_expect_100_continue():
    async with serving(app) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"POST /echo HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        interim = await conn.reply()
        assert interim.status == 100
        await conn.send(b"data")
        assert (await conn.reply()).body == b"data"
        await conn.close()


async def test_expect_100_continue_with_too_large_body_gets_413_without_100():
    async with serving(app, limits=Limits(max_body=10)) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"POST /echo HTTP/1.1\r\nContent-Length: 11\r\n"
                        b"Expect: 100-continue\r\n\r\n")
        reply = await conn.reply()
        assert reply.status == 413
        assert reply.headers["connection"] == "close"
        assert await conn.closed()


async def test_http_10_closes_by_default():
    async with serving(app) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET / HTTP/1.0\r\n\r\n")
        reply = await conn.reply()
        assert reply.headers["connection"] == "close"
        assert await conn.closed()


async def test_http_10_keep_alive_when_asked():
    async with serving(app) as server:
        conn = await Conn.open(server.port)
        for _ in range(2):
            await conn.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            reply = await conn.reply()
            assert reply.headers["connection"] == "keep-alive"
            assert reply.body == b"hello GET /"
        await conn.close()


async def test_connection_close_is_honoured():
    async with serving(app) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n" + GET)
        reply = await conn.reply()
        assert reply.headers["connection"] == "close"
        assert await conn.closed()  # the pipelined second request is not answered


LIMITS = Limits(max_request_line=100, max_header_bytes=300, max_headers=5, max_body=50)


@pytest.mark.parametrize(("data", "status"), [
    (b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET /" + b"a" * 200, 414),  # still arriving
    (b"GET / HTTP/1.1\r\nX-Big: " + b"b" * 400 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nX-Big: " + b"b" * 2000, 431),  # one endless header line
    (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(6)) + b"\r\n", 431),
    (b"POST /echo HTTP/1.1\r\nContent-Length: 51\r\n\r\n", 413),
    (b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + b"x" * 64, 413),
    (b"NOT HTTP AT ALL\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400),
    (b"GET / HTTP/9.9\r\n\r\n", 400),
    # smuggling shapes
    (b"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
    (b"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    (b"POST /echo HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc", 400),
    (b"POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
     b"\r\n0\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx", 417),
])
async def test_limits_and_bad_requests_get_status_and_close(data, status):
    async with serving(app, limits=LIMITS) as server:
        conn = await Conn.open(server.port)
        await conn.send(data)
        reply = await conn.reply()
        assert reply.status == status
        assert reply.headers["connection"] == "close"
        assert b"Traceback" not in reply.body
        assert await conn.closed()


async def test_requests_before_a_bad_one_are_still_answered():
    async with serving(app, limits=LIMITS) as server:
        conn = await Conn.open(server.port)
        await conn.send(GET + b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n")
        assert (await conn.reply()).status == 200
        assert (await conn.reply()).status == 400
        assert await conn.closed()


async def test_limits_at_their_exact_size_pass():
    async with serving(app, limits=LIMITS) as server:
        reply = await request(server.port, b"POST /echo HTTP/1.1\r\nContent-Length: 50\r\n\r\n"
                              + b"x" * 50)
        assert reply.status == 200
        reply = await request(server.port, b"GET /" + b"a" * 99 + b" HTTP/1.1\r\n\r\n")
        assert reply.status == 200


async def test_header_read_timeout_is_408():
    async with serving(app, limits=Limits(header_timeout=0.2)) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET / HTTP/1.1\r\nHost: slow")
        reply = await conn.reply(timeout=3)
        assert reply.status == 408
        assert await conn.closed()


async def test_slowloris_trickle_still_times_out():
    async with serving(app, limits=Limits(header_timeout=0.3)) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET / HTTP/1.1\r\n")
        for i in range(40):
            try:
                reply = await conn.reply(timeout=0.05)
            except TimeoutError:
                await conn.send(b"X-%d: 1\r\n" % i)
            else:
                break
        assert reply.status == 408
        assert i < 30


async def test_body_read_timeout_is_408():
    async with serving(app, limits=Limits(body_timeout=0.2)) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
        assert (await conn.reply(timeout=3)).status == 408
        assert await conn.closed()


async def test_idle_keep_alive_connection_is_closed_silently():
    async with serving(app, limits=Limits(keepalive_timeout=0.2)) as server:
        conn = await Conn.open(server.port)
        await conn.send(GET)
        assert (await conn.reply()).status == 200
        assert await conn.closed(timeout=3)


async def test_busy_connection_is_not_cut_by_keepalive_timeout():
    async def slow(req: Request) -> Response:
        await asyncio.sleep(0.4)
        return Response.text("done")

    async with serving(slow, limits=Limits(keepalive_timeout=0.1)) as server:
        assert (await request(server.port, GET)).body == b"done"


async def test_upgrade_request_is_answered_then_closed():
    async with serving(app) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
                        b"\x81\x05hello")
        reply = await conn.reply()
        assert reply.status == 200
        assert reply.headers["connection"] == "close"
        assert await conn.closed()


async def test_absolute_form_target_gives_the_path():
    async with serving(app) as server:
        reply = await request(server.port, b"GET http://example.com/json?a=1 HTTP/1.1\r\n"
                              b"Host: example.com\r\n\r\n")
    assert reply.body == b'{"path":"/json","query":{"a":"1"}}'


async def test_chunked_request_with_trailers():
    async with serving(app) as server:
        reply = await request(server.port, b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked"
                              b"\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n")
    assert reply.body == b"abc"
