"""The HTTP handler contract (hyphal.js.handler) on both engines."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from hyphal import BusyResourceError
from hyphal.js.errors import JSError, JSLimitError
from hyphal.js.handler import load_handler

HANDLER = """
let count = 0;
function handler(request) {
  count++;
  switch (request.path) {
    case "/echo":
      return Response.json({count, method: request.method, url: request.url, q: request.query,
                            ua: request.headers.get("User-Agent"), body: request.json()});
    case "/text": return Response.text("hi", {status: 201});
    case "/html": return Response.html("<b>x</b>");
    case "/redirect": return Response.redirect("/elsewhere", 301);
    case "/custom": return new Response("raw", {status: 418, headers: {"X-Teapot": "yes"}});
    case "/binary": return new Response(new Uint8Array([0, 1, 255]));
    case "/micro": return Promise.resolve(Response.text("settled"));
    case "/slow": return new Promise((r) => setTimeout(() => r(Response.json({late: count})), 5));
    case "/reject": return (async () => { await null; throw new RangeError("nope"); })();
    case "/throw": throw new TypeError("bad " + request.method);
    case "/forget": Promise.reject(new Error("forgotten")); return Response.text("ok");
    case "/forget-async": Promise.reject(new Error("also forgotten"));
                          return Promise.resolve(Response.text("ok"));
    case "/loop": for (;;) {}
    case "/bomb": { const a = []; for (;;) a.push(new Array(10000).fill(1)); }
  }
  return Response.json({count});
}
"""


def request(path: str, body: bytes = b"null", **extra: object) -> dict[str, object]:
    req: dict[str, object] = {"method": "POST", "url": f"{path}?a=1", "path": path,
                              "query": {"a": "1"}, "headers": [("user-agent", "pytest")],
                              "body": body}
    req.update(extra)
    return req


@pytest.fixture
def handler_file(tmp_path: Path) -> str:
    path = tmp_path / "handler.js"
    path.write_text(HANDLER)
    return str(path)


def test_sync_response_sees_the_request_and_keeps_state(handler_file: str, engine: str) -> None:
    ctx = load_handler(handler_file, engine=engine)()  # type: ignore[arg-type]
    try:
        status, headers, body = ctx.call(request("/echo", b'{"x": [1]}'))  # type: ignore[misc]
        assert status == 200
        assert headers == [("content-type", "application/json")]
        assert body == (b'{"count":1,"method":"POST","url":"/echo?a=1","q":{"a":"1"},'
                        b'"ua":"pytest","body":{"x":[1]}}')
        assert ctx.call(request("/")) == (200, [("content-type", "application/json")],
                                          b'{"count":2}')
    finally:
        ctx.close()


def test_response_helpers(handler_file: str, engine: str) -> None:
    ctx = load_handler(handler_file, engine=engine)()  # type: ignore[arg-type]
    try:
        assert ctx.call(request("/text")) == (
            201, [("content-type", "text/plain; charset=utf-8")], b"hi")
        assert ctx.call(request("/html"))[2] == b"<b>x</b>"  # type: ignore[index]
        assert ctx.call(request("/redirect")) == (301, [("location", "/elsewhere")], b"")
        status, headers, body = ctx.call(request("/custom"))  # type: ignore[misc]
        assert (status, body) == (418, b"raw")
        assert ("x-teapot", "yes") in headers
        assert ctx.call(request("/binary"))[2] == b"\x00\x01\xff"  # type: ignore[index]
        assert ctx.call(request("/micro"))[2] == b"settled"  # type: ignore[index]
    finally:
        ctx.close()


async def test_async_handler_returns_an_awaitable(handler_file: str, engine: str) -> None:
    ctx = load_handler(handler_file, engine=engine)()  # type: ignore[arg-type]
    try:
        pending = ctx.call(request("/slow"))
        assert inspect.isawaitable(pending)
        with pytest.raises(BusyResourceError):  # one call at a time per context
            ctx.call(request("/"))
        assert await pending == (200, [("content-type", "application/json")], b'{"late":1}')
        with pytest.raises(JSError, match="RangeError: nope"):
            rejected = ctx.call(request("/reject"))  # settles in the microtask checkpoint
            if inspect.isawaitable(rejected):
                await rejected
        assert ctx.call(request("/"))[2] == b'{"count":3}'  # type: ignore[index]
    finally:
        ctx.close()


def test_handler_error_carries_the_stack(handler_file: str, engine: str) -> None:
    ctx = load_handler(handler_file, engine=engine)()  # type: ignore[arg-type]
    try:
        with pytest.raises(JSError, match="TypeError: bad POST") as info:
            ctx.call(request("/throw"))
        assert f"{handler_file}:" in info.value.js_stack
        assert ctx.call(request("/"))[0] == 200  # type: ignore[index]
    finally:
        ctx.close()


async def test_unhandled_rejections_are_reported_and_the_context_serves_on(
        handler_file: str, engine: str, capfd: pytest.CaptureFixture[str]) -> None:
    ctx = load_handler(handler_file, engine=engine)()  # type: ignore[arg-type]
    try:
        answer = ctx.call(request("/forget-async"))
        if inspect.isawaitable(answer):
            answer = await answer
        assert answer[2] == b"ok"
        assert ctx.call(request("/forget"))[2] == b"ok"  # type: ignore[index]
        assert ctx.call(request("/"))[2] == b'{"count":3}'  # reports the one left over
        err = capfd.readouterr().err
        assert "Uncaught (in promise) " in err
        assert "Error: also forgotten" in err and "Error: forgotten" in err
    finally:
        ctx.close()


def test_limits_stop_the_handler_and_a_new_context_serves(handler_file: str, engine: str) -> None:
    factory = load_handler(handler_file, engine=engine, time_limit=0.3)  # type: ignore[arg-type]
    ctx = factory()
    with pytest.raises(JSLimitError) as info:
        ctx.call(request("/loop"))
    assert info.value.limit == "time"
    assert ctx.closed
    ctx = load_handler(handler_file, engine=engine,  # type: ignore[arg-type]
                       memory_limit=64 * 1024 * 1024)()
    with pytest.raises(JSLimitError) as info:
        ctx.call(request("/bomb"))
    assert info.value.limit == "memory"
    fresh = factory()
    assert fresh.call(request("/"))[2] == b'{"count":1}'  # type: ignore[index]
    fresh.close()


def test_a_file_without_handler_is_refused(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "none.js"
    path.write_text("const x = 1;\n")
    with pytest.raises(JSError, match="defines no handler"):
        load_handler(str(path), engine=engine)()  # type: ignore[arg-type]


def test_module_handler(tmp_path: Path, engine: str) -> None:
    (tmp_path / "util.mjs").write_text("export const greet = (n) => `hi ${n}`;\n")
    path = tmp_path / "handler.mjs"
    path.write_text("import { greet } from './util.mjs';\n"
                    "export default function (req) { return Response.text(greet(req.path)); }\n")
    ctx = load_handler(str(path), engine=engine)()  # type: ignore[arg-type]
    assert ctx.call(request("/bob"))[2] == b"hi /bob"  # type: ignore[index]
    ctx.close()


def test_a_context_refuses_other_threads(handler_file: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ctx = load_handler(handler_file)()
    try:
        with ThreadPoolExecutor(1) as pool, pytest.raises(RuntimeError, match="created it"):
            pool.submit(ctx.call, request("/")).result()
        assert ctx.call(request("/"))[0] == 200  # type: ignore[index]
    finally:
        ctx.close()
