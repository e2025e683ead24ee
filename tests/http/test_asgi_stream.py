"""ASGI apps that stream: each body message with ``more_body`` reaches the client as it is
sent (chunked, or within the app's content-length), with backpressure, HEAD, HTTP/1.0,
keep-alive afterwards, a client that leaves mid-stream, and errors before and after the head."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hyphal.http import Limits, Server, ServerConfig
from hyphal.http._asgi import ASGIContext
from hyphal.http._handlers import LoadedHandler

from ._client import Conn, request

GATE: dict[str, asyncio.Event] = {}
SEEN: list[str] = []


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    path = scope["path"]
    start = {"type": "http.response.start", "status": 200,
             "headers": [(b"content-type", b"text/plain")]}
    if path == "/gated":  # the second chunk waits until the client has read the first
        await send(start)
        await send({"type": "http.response.body", "body": b"first,", "more_body": True})
        await GATE["gate"].wait()
        await send({"type": "http.response.body", "body": b"second", "more_body": False})
    elif path == "/chunks":
        await send(start)
        for i in range(5):
            await send({"type": "http.response.body", "body": b"%d;" % i, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    elif path == "/length":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"Content-Length", b"6")]})
        await send({"type": "http.response.body", "body": b"abc", "more_body": True})
        await send({"type": "http.response.body", "body": b"def"})
    elif path == "/unfinished":  # returns without its last body message
        await send(start)
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    elif path == "/forever":
        await send(start)
        try:
            while True:
                await send({"type": "http.response.body", "body": b"tick\n", "more_body": True})
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            SEEN.append("cancelled")
            raise
    elif path == "/big":  # far more than the socket buffers: the app must wait for the reader
        await send(start)
        for _ in range(64):
            await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})
        await send({"type": "http.response.body", "body": b"end"})
    elif path == "/fail-after-head":
        await send(start)
        await send({"type": "http.response.body", "body": b"half", "more_body": True})
        raise ValueError("broken generator")
    elif path == "/fail-before-head":
        raise ValueError("no response at all")
    elif path == "/listen":  # a disconnect listener beside the stream, as Starlette has
        async def listen() -> None:
            message = await receive()
            SEEN.append(message["type"])

        await receive()  # the request body
        listener = asyncio.ensure_future(listen())
        await send(start)
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        await asyncio.sleep(0.05)
        assert not listener.done()  # still streaming: no disconnect yet
        await send({"type": "http.response.body", "body": b"b"})
        await listener
    else:
        await send(start)
        await send({"type": "http.response.body", "body": b"plain " + path.encode()})


@contextlib.asynccontextmanager
async def serving(limits: Limits | None = None) -> AsyncIterator[Server]:
    config = ServerConfig(port=0, quiet=True, interface="asgi",
                          limits=limits or Limits())
    server = Server(config, LoadedHandler("asgi", "test", lambda: ASGIContext(app)))
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown(timeout=1.0)


async def test_each_chunk_reaches_the_client_as_the_app_sends_it() -> None:
    GATE["gate"] = asyncio.Event()
    async with serving() as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET /gated HTTP/1.1\r\n\r\n")
        head = await asyncio.wait_for(conn.reader.readuntil(b"\r\n\r\n"), 5)
        assert b"transfer-encoding: chunked" in head and b"content-length" not in head
        assert await asyncio.wait_for(conn.reader.readuntil(b"first,\r\n"), 5)
        GATE["gate"].set()  # only now may the app send the rest
        rest = await asyncio.wait_for(conn.reader.readuntil(b"0\r\n\r\n"), 5)
        assert rest == b"6\r\nsecond\r\n0\r\n\r\n"
        await conn.close()


async def test_chunked_framing_and_keep_alive_afterwards() -> None:
    async with serving() as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET /chunks HTTP/1.1\r\n\r\n")
        reply = await conn.reply()
        assert reply.headers["transfer-encoding"] == "chunked"
        assert reply.body == b"0;1;2;3;4;"
        await conn.send(b"GET /again HTTP/1.1\r\n\r\n")  # the same connection goes on
        assert (await conn.reply()).body == b"plain /again"
        await conn.close()


async def test_pipelined_answers_keep_their_order_around_a_stream() -> None:
    async with serving() as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET /a HTTP/1.1\r\n\r\nGET /chunks HTTP/1.1\r\n\r\n"
                        b"GET /b HTTP/1.1\r\n\r\n")
        assert (await conn.reply()).body == b"plain /a"
        assert (await conn.reply()).body == b"0;1;2;3;4;"
        assert (await conn.reply()).body == b"plain /b"
        await conn.close()


async def test_the_apps_content_length_frames_the_stream() -> None:
    async with serving() as server:
        reply = await request(server.port, b"GET /length HTTP/1.1\r\n\r\n")
        assert reply.headers["content-length"] == "6"
        assert "transfer-encoding" not in reply.headers
        assert reply.body == b"abcdef"


async def test_http10_streams_until_close_and_head_sends_no_body() -> None:
    async with serving() as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET /chunks HTTP/1.0\r\n\r\n")
        data = await asyncio.wait_for(conn.reader.read(), 5)  # EOF ends the body
        head, _, body = data.partition(b"\r\n\r\n")
        assert b"chunked" not in head and body == b"0;1;2;3;4;"
        await conn.close()
        conn = await Conn.open(server.port)
        await conn.send(b"HEAD /chunks HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n")
        reply = await conn.reply(head=True)
        assert reply.status == 200 and reply.headers["transfer-encoding"] == "chunked"
        assert (await conn.reply()).body == b"plain /after"  # no body bytes came between
        await conn.close()


async def test_an_app_that_returns_mid_stream_gets_its_body_ended() -> None:
    async with serving() as server:
        reply = await request(server.port, b"GET /unfinished HTTP/1.1\r\n\r\n")
        assert reply.body == b"partial"


async def test_backpressure_a_slow_reader_gets_everything() -> None:
    async with serving() as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET /big HTTP/1.1\r\n\r\n")
        await asyncio.sleep(0.2)  # let the socket buffers fill: the app must wait
        reply = await conn.reply(timeout=20)
        assert len(reply.body) == 64 * 65536 + 3 and reply.body.endswith(b"end")
        await conn.close()


async def test_a_client_leaving_mid_stream_cancels_the_app() -> None:
    SEEN.clear()
    async with serving() as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET /forever HTTP/1.1\r\n\r\n")
        await asyncio.wait_for(conn.reader.readuntil(b"tick\n"), 5)
        await conn.close()
        for _ in range(200):
            if SEEN:
                break
            await asyncio.sleep(0.01)
        assert SEEN == ["cancelled"]
        assert (await request(server.port, b"GET /ok HTTP/1.1\r\n\r\n")).body == b"plain /ok"


async def test_a_disconnect_listener_waits_until_the_response_is_complete() -> None:
    SEEN.clear()
    async with serving() as server:
        reply = await request(server.port, b"GET /listen HTTP/1.1\r\n\r\n")
        assert reply.body == b"ab"
        await asyncio.sleep(0.05)
        assert SEEN == ["http.disconnect"]


async def test_errors_before_the_head_are_500_and_after_it_abort(
        caplog: pytest.LogCaptureFixture) -> None:
    async with serving() as server:
        assert (await request(server.port, b"GET /fail-before-head HTTP/1.1\r\n\r\n")).status \
            == 500
        conn = await Conn.open(server.port)
        await conn.send(b"GET /fail-after-head HTTP/1.1\r\n\r\n")
        data = b""
        with contextlib.suppress(ConnectionError):
            while chunk := await asyncio.wait_for(conn.reader.read(65536), 5):
                data += chunk
        assert b"4\r\nhalf\r\n" in data and not data.endswith(b"0\r\n\r\n")  # cut, not ended
        await conn.close()
        assert (await request(server.port, b"GET /ok HTTP/1.1\r\n\r\n")).status == 200
    assert "broken generator" in caplog.text


async def test_the_handler_timeout_stops_at_the_head_not_the_stream() -> None:
    async with serving(Limits(handler_timeout=0.2)) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET /forever HTTP/1.1\r\n\r\n")
        await asyncio.wait_for(conn.reader.readuntil(b"tick\n"), 5)
        await asyncio.sleep(0.5)  # past the handler timeout: still streaming
        got = await asyncio.wait_for(conn.reader.read(65536), 5)
        assert b"tick" in got
        await conn.close()


async def test_starlette_streaming_response() -> None:
    starlette = pytest.importorskip("starlette")
    del starlette
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    gate = asyncio.Event()

    async def numbers() -> AsyncIterator[bytes]:
        yield b"one "
        await gate.wait()
        yield b"two"

    async def endpoint(request: Any) -> StreamingResponse:
        return StreamingResponse(numbers(), media_type="text/plain")

    star = Starlette(routes=[Route("/", endpoint)])
    config = ServerConfig(port=0, quiet=True, interface="asgi")
    server = Server(config, LoadedHandler("asgi", "starlette", lambda: ASGIContext(star)))
    await server.start()
    try:
        conn = await Conn.open(server.port)
        await conn.send(b"GET / HTTP/1.1\r\n\r\n")
        await asyncio.wait_for(conn.reader.readuntil(b"one \r\n"), 5)  # before the gate
        gate.set()
        assert await asyncio.wait_for(conn.reader.readuntil(b"0\r\n\r\n"), 5) \
            == b"3\r\ntwo\r\n0\r\n\r\n"
        await conn.close()
    finally:
        await server.shutdown(timeout=1.0)
