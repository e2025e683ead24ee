"""The handler timeout stops handler code that never yields to the event loop: a synchronous
handler in a busy loop, one that swallows ``Exception``, one blocked in a system call, and the
first step of an async handler. The request gets 504 and the server keeps serving."""

from __future__ import annotations

import logging
import time

import pytest

from hyphal.http import Limits, Request, Response

from ._client import Conn, request, serving

LIMIT = Limits(handler_timeout=0.3)


def handler(req: Request) -> Response:
    if req.path == "/spin":
        while True:
            pass
    if req.path == "/swallow":  # catches everything a handler usually catches
        while True:
            try:
                while True:
                    pass
            except Exception:
                pass
    if req.path == "/sleep":
        time.sleep(30)
    if req.path == "/slow-but-in-time":
        time.sleep(0.05)
    return Response.text(f"ok {req.path}")


async def async_handler(req: Request) -> Response:
    if req.path == "/spin":  # before its first await: nothing for the loop's timeout to do
        while True:
            pass
    return Response.text("ok")


@pytest.mark.parametrize("path", ["/spin", "/swallow", "/sleep"])
async def test_a_runaway_sync_handler_gets_504_and_the_server_keeps_serving(
        path: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "hyphal.http")
    async with serving(handler, limits=LIMIT) as server:
        started = time.monotonic()
        reply = await request(server.port, f"GET {path} HTTP/1.1\r\n\r\n".encode(), timeout=10)
        assert reply.status == 504
        assert time.monotonic() - started < 5  # the limit plus the watchdog's period
        ok = await request(server.port, b"GET /next HTTP/1.1\r\n\r\n")
        assert (ok.status, ok.body) == (200, b"ok /next")
    assert f"handler timed out after 0.3s on GET {path}" in caplog.text


async def test_pipelined_requests_after_a_timeout_are_answered_in_order() -> None:
    async with serving(handler, limits=LIMIT) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET /spin HTTP/1.1\r\n\r\n" + b"GET /a HTTP/1.1\r\n\r\n" * 50)
        assert (await conn.reply(timeout=10)).status == 504
        for _ in range(50):
            assert (await conn.reply()).body == b"ok /a"


async def test_a_handler_within_the_limit_is_not_interrupted() -> None:
    async with serving(handler, limits=Limits(handler_timeout=2.0)) as server:
        conn = await Conn.open(server.port)
        for _ in range(5):
            await conn.send(b"GET /slow-but-in-time HTTP/1.1\r\n\r\n")
            assert (await conn.reply()).status == 200


async def test_the_first_step_of_an_async_handler_is_bounded_too() -> None:
    async with serving(async_handler, limits=LIMIT) as server:
        assert (await request(server.port, b"GET /spin HTTP/1.1\r\n\r\n",
                              timeout=10)).status == 504
        assert (await request(server.port, b"GET /x HTTP/1.1\r\n\r\n")).status == 200


async def test_an_asgi_app_that_never_yields_is_stopped(tmp_path, monkeypatch) -> None:
    (tmp_path / "spinapp.py").write_text(
        "async def app(scope, receive, send):\n"
        "    if scope['path'] == '/spin':\n"
        "        while True:\n"
        "            pass\n"
        "    await send({'type': 'http.response.start', 'status': 200, 'headers': []})\n"
        "    await send({'type': 'http.response.body', 'body': b'fine'})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    async with serving(handler="spinapp:app", interface="asgi", limits=LIMIT) as server:
        assert (await request(server.port, b"GET /spin HTTP/1.1\r\n\r\n",
                              timeout=10)).status == 504
        assert (await request(server.port, b"GET /x HTTP/1.1\r\n\r\n")).body == b"fine"
