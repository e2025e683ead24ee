"""Python handlers: sync, async, streaming; errors, timeouts, the pool's 503 and breaker,
graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from hyphal.http import Limits, Request, Response

from ._client import Conn, request, serving

GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


async def test_async_handler():
    async def handler(req: Request) -> Response:
        await asyncio.sleep(0.01)
        return Response.json({"got": req.json()})

    async with serving(handler) as server:
        reply = await request(server.port, b"POST / HTTP/1.1\r\nContent-Length: 7\r\n\r\n[1,2,3]")
    assert reply.body == b'{"got":[1,2,3]}'


async def test_async_handler_keeps_pipelined_order():
    async def handler(req: Request) -> Response:
        delay = float(req.query.get("d", "0"))
        if delay:
            await asyncio.sleep(delay)
        return Response.text(req.url)

    async with serving(handler) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET /a?d=0.05 HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"
                        b"GET /c?d=0.01 HTTP/1.1\r\n\r\nGET /d HTTP/1.1\r\n\r\n")
        bodies = [(await conn.reply()).body for _ in range(4)]
        assert bodies == [b"/a?d=0.05", b"/b", b"/c?d=0.01", b"/d"]


async def test_streaming_response_is_chunked():
    async def chunks():
        for i in range(3):
            await asyncio.sleep(0)
            yield f"part{i};"

    def handler(req: Request) -> Response:
        return Response.stream(chunks(), content_type="text/plain")

    async with serving(handler) as server:
        conn = await Conn.open(server.port)
        await conn.send(GET + GET)
        for _ in range(2):
            reply = await conn.reply()
            assert reply.headers["transfer-encoding"] == "chunked"
            assert reply.body == b"part0;part1;part2;"


async def test_streaming_head_sends_no_body():
    async def chunks():
        yield b"never sent"

    async with serving(lambda req: Response.stream(chunks())) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"HEAD / HTTP/1.1\r\n\r\n" + GET)
        head = await conn.reply(head=True)
        assert head.headers["transfer-encoding"] == "chunked"
        assert (await conn.reply()).body == b"never sent"


async def test_streaming_on_http_10_is_close_delimited():
    async def chunks():
        yield b"a"
        yield b"b"

    async with serving(lambda req: Response.stream(chunks())) as server:
        reply = await request(server.port, b"GET / HTTP/1.0\r\n\r\n")
    assert reply.body == b"ab"
    assert "transfer-encoding" not in reply.headers


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_handler_error_is_500_without_details_and_logged(kind, caplog):
    def boom(req: Request) -> Response:
        raise RuntimeError("secret database password in message")

    async def aboom(req: Request) -> Response:
        await asyncio.sleep(0)
        raise RuntimeError("secret database password in message")

    caplog.set_level(logging.ERROR, "hyphal.http")
    async with serving(boom if kind == "sync" else aboom) as server:
        conn = await Conn.open(server.port)
        await conn.send(GET)
        reply = await conn.reply()
        assert reply.status == 500
        assert b"secret" not in reply.body and b"Traceback" not in reply.body
        assert reply.body == b"Internal Server Error\n"
        await conn.send(GET)  # the connection and the server keep serving
        assert (await conn.reply()).status == 500
    assert "secret database password" in caplog.text
    assert "Traceback" in caplog.text


async def test_handler_returning_garbage_is_500(caplog):
    caplog.set_level(logging.ERROR, "hyphal.http")
    async with serving(lambda req: {"not": "a response"}) as server:
        assert (await request(server.port, GET)).status == 500
    assert "return a hyphal.http.Response" in caplog.text


async def test_handler_timeout_is_504_and_server_keeps_serving():
    async def handler(req: Request) -> Response:
        if req.path == "/slow":
            await asyncio.sleep(10)
        return Response.text("fast")

    async with serving(handler, limits=Limits(handler_timeout=0.2)) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET /slow HTTP/1.1\r\n\r\n" + GET)
        assert (await conn.reply()).status == 504
        assert (await conn.reply()).body == b"fast"
        assert server.pool.in_use == 0


async def test_exhausted_pool_answers_503_with_retry_after_then_recovers():
    gate = asyncio.Event()

    async def handler(req: Request) -> Response:
        if req.path == "/hold":
            await gate.wait()
        return Response.text("ok")

    limits = Limits(pool_wait_timeout=0.1)
    async with serving(handler, pool_size=2, limits=limits) as server:
        holders = [await Conn.open(server.port) for _ in range(2)]
        for conn in holders:
            await conn.send(b"GET /hold HTTP/1.1\r\n\r\n")
        await asyncio.sleep(0.05)
        assert server.pool.in_use == 2
        reply = await request(server.port, GET)
        assert reply.status == 503
        assert int(reply.headers["retry-after"]) >= 1
        gate.set()
        for conn in holders:
            assert (await conn.reply()).body == b"ok"
        assert (await request(server.port, GET)).status == 200
        stats = server.pool.statistics()
        assert stats.exhausted == 1
        assert stats.in_use == 0


async def test_waiting_request_gets_the_released_context():
    async def handler(req: Request) -> Response:
        await asyncio.sleep(0.05)
        return Response.text(req.path)

    async with serving(handler, pool_size=1, limits=Limits(pool_wait_timeout=2)) as server:
        replies = await asyncio.gather(*(request(server.port, f"GET /{i} HTTP/1.1\r\n\r\n"
                                                 .encode()) for i in range(4)))
    assert sorted(r.body for r in replies) == [b"/0", b"/1", b"/2", b"/3"]


async def test_pool_metrics_log_line(caplog):
    caplog.set_level(logging.INFO, "hyphal.http")
    async with serving(lambda req: Response.text("x"), pool_size=8,
                       pool_metrics_every=3) as server:
        conn = await Conn.open(server.port)
        await conn.send(GET * 4)
        for _ in range(4):
            await conn.reply()
        assert server.statistics().requests == 4  # reading totals does not reset the window
        await conn.send(GET * 2)
        for _ in range(2):
            await conn.reply()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Pool")]
    assert len(lines) == 2
    pattern = (r"Pool metrics: in_use=\d+/8 exhausted=\d+ avg_wait_us=\d+ max_wait_us=\d+ "
               r"avg_exec_us=\d+ max_exec_us=\d+")
    assert all(re.fullmatch(pattern, line) for line in lines), lines


async def test_graceful_shutdown_finishes_in_flight_and_closes_idle():
    started = asyncio.Event()

    async def handler(req: Request) -> Response:
        if req.path == "/slow":
            started.set()
            await asyncio.sleep(0.3)
        return Response.text("finished")

    async with serving(handler) as server:
        idle = await Conn.open(server.port)
        await idle.send(GET)
        await idle.reply()
        busy = await Conn.open(server.port)
        await busy.send(b"GET /slow HTTP/1.1\r\n\r\n")
        await started.wait()
        shutdown = asyncio.create_task(server.shutdown(timeout=5))
        assert await idle.closed(timeout=2)
        reply = await busy.reply()
        assert reply.body == b"finished"
        assert reply.headers["connection"] == "close"
        await shutdown
        with pytest.raises(OSError):
            await Conn.open(server.port)


async def test_shutdown_aborts_what_outlives_the_timeout():
    async def handler(req: Request) -> Response:
        await asyncio.sleep(10)
        return Response.text("never")

    async with serving(handler) as server:
        conn = await Conn.open(server.port)
        await conn.send(GET)
        await asyncio.sleep(0.05)
        await server.shutdown(timeout=0.1)
        assert await conn.closed(timeout=2)


async def test_a_task_a_handler_kept_is_never_handed_to_a_later_request():
    kept: list[object] = []
    seen: list[int] = []

    async def handler(req: Request) -> Response:
        task = asyncio.current_task()
        seen.append(id(task))
        if req.path == "/keep":
            kept.append(task)  # e.g. to cancel it later: it must stay this request's
        return Response.text("ok")

    async with serving(handler) as server:
        conn = await Conn.open(server.port)
        for path in (b"/a", b"/b", b"/keep", b"/c", b"/d"):
            await conn.send(b"GET " + path + b" HTTP/1.1\r\n\r\n")
            assert (await conn.reply()).status == 200
    # the task stand-in is reused between requests only while nothing holds it
    assert all(later != id(kept[0]) for later in seen[3:])
    assert not kept[0].cancelled()  # type: ignore[attr-defined]


async def test_async_handler_first_step_runs_inside_a_task_like_context():
    import contextvars

    import hyphal

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def handler(req: Request) -> Response:
        before = var.get()
        var.set(req.path)
        assert asyncio.current_task() is not None
        if req.path == "/own-timeout":
            try:
                async with asyncio.timeout(0.05):
                    await asyncio.sleep(5)
            except TimeoutError:
                return Response.text(f"own timeout {before}")
        with hyphal.move_on_after(1):
            if req.path == "/sleep":
                await asyncio.sleep(0.01)
        return Response.text(f"{before} {var.get()}")

    async with serving(handler) as server:
        conn = await Conn.open(server.port)
        for path in (b"/a", b"/sleep", b"/own-timeout", b"/b"):
            await conn.send(b"GET " + path + b" HTTP/1.1\r\n\r\n")
            reply = await conn.reply()
            assert reply.status == 200, reply.body
            # a context variable set by one request never leaks into the next
            assert reply.body.startswith((b"unset", b"own timeout unset")), reply.body
