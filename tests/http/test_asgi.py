"""``--interface asgi``: a raw ASGI app and a Starlette app hosted on the hyphal server."""

from __future__ import annotations

import pytest

from hyphal.http import HandlerError, load_handler

from ._client import Conn, request, serving

RAW = "hyphal.bench.peers.http_asgi:app"


async def test_raw_asgi_app_endpoints():
    async with serving(handler=RAW, interface="asgi") as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET /api/health HTTP/1.1\r\n\r\n"
                        b"POST /api/echo HTTP/1.1\r\nContent-Length: 9\r\n\r\n{\"a\":[1]}"
                        b"GET /api/greet/ada HTTP/1.1\r\n\r\n")
        health = await conn.reply()
        assert health.body == b'{"status":"ok"}'
        assert health.headers["content-type"] == "application/json"
        assert (await conn.reply()).body == b'{"a":[1]}'
        assert (await conn.reply()).body == b'{"greeting":"Hello, ada!"}'


async def test_starlette_app(tmp_path, monkeypatch):
    pytest.importorskip("starlette")
    (tmp_path / "starapp.py").write_text(
        "from starlette.applications import Starlette\n"
        "from starlette.responses import JSONResponse, PlainTextResponse\n"
        "from starlette.routing import Route\n"
        "async def hello(request):\n"
        "    return JSONResponse({'name': request.path_params['name'],\n"
        "                         'q': request.query_params.get('q')})\n"
        "async def echo(request):\n"
        "    return PlainTextResponse((await request.body()).decode())\n"
        "app = Starlette(routes=[Route('/hello/{name}', hello),\n"
        "                        Route('/echo', echo, methods=['POST'])])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    async with serving(handler="starapp:app", interface="asgi") as server:
        reply = await request(server.port, b"GET /hello/bob?q=1 HTTP/1.1\r\nHost: t\r\n\r\n")
        assert reply.status == 200
        assert reply.body == b'{"name":"bob","q":"1"}'
        reply = await request(server.port, b"POST /echo HTTP/1.1\r\nHost: t\r\n"
                              b"Content-Length: 5\r\n\r\nhello")
        assert reply.body == b"hello"
        missing = await request(server.port, b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n")
        assert missing.status == 404


def test_asgi_spec_errors():
    with pytest.raises(HandlerError, match="module:app"):
        load_handler("no_colon", interface="asgi")
    with pytest.raises(HandlerError, match="not an ASGI app"):
        load_handler("hyphal.bench.peers.http_handler:handler", interface="asgi")


async def test_asgi_header_lists_and_streamed_body(tmp_path, monkeypatch):
    (tmp_path / "rawapp.py").write_text(
        "async def app(scope, receive, send):\n"
        "    await send({'type': 'http.response.start', 'status': 201,\n"
        "                'headers': [[b'x-a', b'1'], [b'content-length', b'4']]})\n"
        "    await send({'type': 'http.response.body', 'body': b'ab', 'more_body': True})\n"
        "    await send({'type': 'http.response.body', 'body': b'cd'})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    async with serving(handler="rawapp:app", interface="asgi") as server:
        reply = await request(server.port, b"GET / HTTP/1.1\r\n\r\n")
    assert reply.status == 201
    assert reply.headers["x-a"] == "1"
    assert reply.headers["content-length"] == "4"  # the app's length frames the stream
    assert "transfer-encoding" not in reply.headers
    assert reply.body == b"abcd"


LIFESPAN_APP = '''
events = []

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if FAIL:
                    await send({"type": "lifespan.startup.failed", "message": "no database"})
                    return
                scope["state"]["greeting"] = "hello from startup"
                events.append("startup")
                await send({"type": "lifespan.startup.complete"})
            else:
                events.append("shutdown")
                await send({"type": "lifespan.shutdown.complete"})
                return
    events.append("request")
    body = scope["state"]["greeting"].encode()
    scope["state"]["greeting"] = "changed by a request"  # must not leak into the next one
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
'''


async def test_asgi_lifespan_runs_around_serving_and_shares_its_state(tmp_path, monkeypatch):
    (tmp_path / "lifeapp.py").write_text("FAIL = False\n" + LIFESPAN_APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    import lifeapp  # type: ignore[import-not-found]

    lifeapp.events.clear()  # the module stays imported across the loop parametrizations

    async with serving(handler="lifeapp:app", interface="asgi") as server:
        assert lifeapp.events == ["startup"]  # before the first connection
        for _ in range(2):
            reply = await request(server.port, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert reply.body == b"hello from startup"
        assert lifeapp.events == ["startup", "request", "request"]
    assert lifeapp.events == ["startup", "request", "request", "shutdown"]


async def test_asgi_lifespan_startup_failure_stops_the_server(tmp_path, monkeypatch):
    (tmp_path / "failapp.py").write_text("FAIL = True\n" + LIFESPAN_APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(HandlerError, match="lifespan startup: no database"):
        async with serving(handler="failapp:app", interface="asgi"):
            pass


async def test_starlette_lifespan_state_reaches_requests(tmp_path, monkeypatch):
    pytest.importorskip("starlette")
    (tmp_path / "starlife.py").write_text(
        "import contextlib\n"
        "from starlette.applications import Starlette\n"
        "from starlette.responses import PlainTextResponse\n"
        "from starlette.routing import Route\n"
        "log = []\n"
        "@contextlib.asynccontextmanager\n"
        "async def lifespan(app):\n"
        "    log.append('up')\n"
        "    yield {'pool': 'warm'}\n"
        "    log.append('down')\n"
        "async def home(request):\n"
        "    return PlainTextResponse(request.state.pool)\n"
        "app = Starlette(routes=[Route('/', home)], lifespan=lifespan)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import starlife  # type: ignore[import-not-found]

    starlife.log.clear()  # the module stays imported across the loop parametrizations

    async with serving(handler="starlife:app", interface="asgi") as server:
        reply = await request(server.port, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert reply.body == b"warm"
        assert starlife.log == ["up"]
    assert starlife.log == ["up", "down"]
