"""``--interface asgi``: host an ASGI 3 application (Starlette, FastAPI, a raw app) on the
hyphal server, so it can be compared with uvicorn directly.

Each request runs the app once with an HTTP scope; ``receive`` hands over the body hyphal already
read (then reports ``http.disconnect``), and ``send`` collects ``http.response.start`` and the
body messages. The response is sent when the app finishes (bodies are buffered, so streaming
ASGI responses arrive whole). Lifespan events are not run. WebSocket scopes are not offered.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

from hyphal.http._handlers import HandlerError, LoadedHandler, load_python_handler
from hyphal.http._native import speedups
from hyphal.http._request import Request
from hyphal.http._response import Response

__all__ = ["load_asgi_app"]

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
                   Awaitable[None]]
_ASGI = {"version": "3.0", "spec_version": "2.3"}
_DISCONNECT = {"type": "http.disconnect"}
_from_raw = Response.from_raw


def _py_lower_headers(raw_headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower(), value) for name, value in raw_headers]


_lower_headers = _py_lower_headers if speedups is None else speedups.lower_headers
"""Request headers as ASGI wants them: a new list of (lower-case name, value) pairs."""


class ASGIContext:
    """One ASGI app as a handler context (the app object is shared; ASGI apps are reentrant)."""

    __slots__ = ("app", "server")

    def __init__(self, app: ASGIApp, server: tuple[str, int] | None = None) -> None:
        self.app = app
        self.server = server

    def call(self, request: Request) -> Awaitable[Response]:
        return self._run(request)

    def close(self) -> None:
        return None

    async def _run(self, request: Request) -> Response:
        raw_path, _, query = request.raw_url.partition(b"?")
        exchange = _Exchange(request.body)
        await self.app({
            "type": "http",
            "asgi": _ASGI,
            "http_version": request.http_version,
            "method": request.method,
            "scheme": "http",
            "path": request.path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": _lower_headers(request.raw_headers),
            "server": self.server,
            "client": None,
        }, exchange.receive, exchange.send)
        status = exchange.status
        if not status:
            raise RuntimeError("ASGI app returned without sending a response")
        chunks = exchange.chunks
        body = (chunks[0] if len(chunks) == 1 else b"".join(chunks)) if chunks else b""
        return _from_raw(status, exchange.headers, body)


class _Exchange:
    """One request's ``receive`` and ``send``: the body hyphal already read goes in, the
    response messages are collected (bound methods of one small object: cheaper per request
    than closures over cells)."""

    __slots__ = ("body", "chunks", "headers", "status")

    def __init__(self, body: bytes) -> None:
        self.body: bytes | None = body
        self.status = 0
        self.headers: Any = ()
        self.chunks: list[bytes] | None = None

    async def receive(self) -> dict[str, Any]:
        body = self.body
        if body is None:
            return _DISCONNECT
        self.body = None
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(self, message: Any) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            self.headers = message.get("headers", ())
        elif kind == "http.response.body":
            if not self.status:
                raise RuntimeError("ASGI app sent a body before http.response.start")
            body = message.get("body", b"")
            if body:
                if self.chunks is None:
                    self.chunks = [body]
                else:
                    self.chunks.append(body)


def load_asgi_app(spec: str) -> LoadedHandler:
    """``module:attr`` (or ``file.py:attr``) of an ASGI app. Raises :class:`HandlerError`."""
    if ":" not in spec:
        raise HandlerError(f"--interface asgi needs module:app, got {spec!r}")
    module, attr = spec.rsplit(":", 1)
    app = cast(ASGIApp, load_python_handler(module, attr))
    call = type(app).__call__ if not inspect.isfunction(app) else app
    if not inspect.iscoroutinefunction(app) and not inspect.iscoroutinefunction(call):
        raise HandlerError(f"{spec} is not an ASGI app (an async callable(scope, receive, send))")
    return LoadedHandler("asgi", spec, lambda: ASGIContext(app))
