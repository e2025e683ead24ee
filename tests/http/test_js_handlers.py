"""JavaScript handlers: module state, async handlers, errors, and runaway handlers stopped by
their limits while the server keeps serving."""

from __future__ import annotations

import logging

import pytest

from hyphal.http import HandlerError, Limits, load_handler

from ._client import Conn, request, serving

pytest.importorskip("hyphal.js.handler")

HANDLER = r"""
let count = 0;
async function later(value) {
  await new Promise((resolve) => setTimeout(resolve, 5));
  return value;
}
async function handler(request) {
  const path = request.path;
  if (path === "/count") { count += 1; return Response.json({ count }); }
  if (path === "/async") return Response.text(await later("waited"));
  if (path === "/loop") { while (true) {} }
  if (path === "/bomb") { const a = []; while (true) a.push(new Array(100000).fill(1)); }
  if (path === "/throw") throw new Error("secret internals");
  if (path === "/headers") {
    return new Response("x", { status: 201, headers: { "x-q": request.query.q } });
  }
  if (path === "/echo-headers") {
    const h = request.headers;
    return Response.json({ token: h.get("X-Token"), tags: h.get("x-tag"), none: h.get("x-none") });
  }
  return Response.json({ method: request.method, body: request.text() });
}
"""


@pytest.fixture
def js_handler(tmp_path):
    path = tmp_path / "handler.js"
    path.write_text(HANDLER)
    return str(path)


async def test_js_handler_state_async_and_response_forms(js_handler):
    async with serving(handler=js_handler, pool_size=1) as server:
        conn = await Conn.open(server.port)
        for expected in (1, 2, 3):
            await conn.send(b"GET /count HTTP/1.1\r\n\r\n")
            assert (await conn.reply()).body == b'{"count":%d}' % expected
        await conn.send(b"GET /async HTTP/1.1\r\n\r\n")
        assert (await conn.reply()).body == b"waited"
        await conn.send(b"GET /headers?q=7 HTTP/1.1\r\n\r\n")
        reply = await conn.reply()
        assert reply.status == 201 and reply.headers["x-q"] == "7"
        # header names, values with ':' and spaces, and repeated headers reach JavaScript
        await conn.send(b"GET /echo-headers HTTP/1.1\r\nX-TOKEN: a: b c\r\nX-Tag: one\r\n"
                        b"x-tag: two\r\n\r\n")
        assert (await conn.reply()).body == b'{"token":"a: b c","tags":"one, two","none":null}'
        await conn.send(b"POST /x HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi")
        assert (await conn.reply()).body == b'{"method":"POST","body":"hi"}'


async def test_js_exception_is_500_without_stack(js_handler, caplog):
    caplog.set_level(logging.ERROR, "hyphal.http")
    async with serving(handler=js_handler, pool_size=1) as server:
        reply = await request(server.port, b"GET /throw HTTP/1.1\r\n\r\n")
        assert reply.status == 500
        assert b"secret" not in reply.body
        assert (await request(server.port, b"GET /count HTTP/1.1\r\n\r\n")).status == 200
    assert "secret internals" in caplog.text


async def test_runaway_loop_is_stopped_with_504_and_next_request_succeeds(js_handler):
    async with serving(handler=js_handler, pool_size=1,
                       limits=Limits(handler_timeout=0.3)) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET /loop HTTP/1.1\r\n\r\nGET /count HTTP/1.1\r\n\r\n")
        assert (await conn.reply(timeout=10)).status == 504
        assert (await conn.reply()).status == 200
        assert server.pool.statistics().discarded == 1


async def test_memory_bomb_is_stopped_with_500_and_next_request_succeeds(js_handler):
    async with serving(handler=js_handler, pool_size=1, memory_limit=16 << 20,
                       limits=Limits(handler_timeout=5)) as server:
        assert (await request(server.port, b"GET /bomb HTTP/1.1\r\n\r\n",
                              timeout=20)).status == 500
        assert (await request(server.port, b"GET /count HTTP/1.1\r\n\r\n")).status == 200
        assert server.pool.statistics().discarded == 1


def test_js_handler_errors_at_load(tmp_path):
    bad = tmp_path / "bad.js"
    bad.write_text("const x = 1;\n")
    with pytest.raises(HandlerError, match="handler"):
        load_handler(str(bad))
    with pytest.raises(HandlerError, match="not found"):
        load_handler(str(tmp_path / "missing.js"))
