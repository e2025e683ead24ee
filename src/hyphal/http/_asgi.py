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
from hyphal.http._request import Request
from hyphal.http._response import Response

__all__ = ["load_asgi_app"]

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
                   Awaitable[None]]
_ASGI = {"version": "3.0", "spec_version": "2.3"}
_DISCONNECT = {"type": "http.disconnect"}


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
        scope: Scope = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": request.http_version,
            "method": request.method,
            "scheme": "http",
            "path": request.path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": [(name.lower(), value) for name, value in request.raw_headers],
            "server": self.server,
            "client": None,
        }
        pending = True

        async def receive() -> dict[str, Any]:
            nonlocal pending
            if pending:
                pending = False
                return {"type": "http.request", "body": request.body, "more_body": False}
            return _DISCONNECT

        status = 0
        headers: Any = ()
        chunks: list[bytes] = []

        async def send(message: Any) -> None:
            nonlocal status, headers
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                headers = message.get("headers", ())
            elif kind == "http.response.body":
                if not status:
                    raise RuntimeError("ASGI app sent a body before http.response.start")
                body = message.get("body", b"")
                if body:
                    chunks.append(body)

        await self.app(scope, receive, send)
        if not status:
            raise RuntimeError("ASGI app returned without sending a response")
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return Response.from_raw(status, headers, body)


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
