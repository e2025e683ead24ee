"""``--interface asgi``: host an ASGI 3 application (Starlette, FastAPI, a raw app) on the
hyphal server, so it can be compared with uvicorn directly.

Each request runs the app once with an HTTP scope; ``receive`` hands over the body hyphal already
read (then reports ``http.disconnect``), and ``send`` collects ``http.response.start`` and the
body messages. The response is sent when the app finishes (bodies are buffered, so streaming
ASGI responses arrive whole). WebSocket scopes are not offered.

Lifespan (:class:`Lifespan`): the server runs the app's ``lifespan`` scope before it accepts a
connection (``startup``) and after the last request finished (``shutdown``), in every worker,
as uvicorn's ``--lifespan auto`` does: an app that raises or returns at once on that scope
is served without it, ``lifespan.startup.failed`` stops the server with the app's message,
and the ``state`` the app fills at startup is copied into every request's scope.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

from hyphal.http._handlers import HandlerError, LoadedHandler, load_python_handler
from hyphal.http._native import speedups
from hyphal.http._request import Request
from hyphal.http._response import Response

__all__ = ["Lifespan", "load_asgi_app"]

logger = logging.getLogger("hyphal.http")

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

    __slots__ = ("app", "server", "state")

    def __init__(self, app: ASGIApp, server: tuple[str, int] | None = None,
                 state: dict[str, Any] | None = None) -> None:
        self.app = app
        self.server = server
        self.state = state  # filled by the app's lifespan startup; copied per request

    def call(self, request: Request) -> Awaitable[Response]:
        return self._run(request)

    def close(self) -> None:
        return None

    async def _run(self, request: Request) -> Response:
        raw_path, _, query = request.raw_url.partition(b"?")
        exchange = _Exchange(request.body)
        scope = {
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
        }
        state = self.state
        if state:
            scope["state"] = state.copy()
        await self.app(scope, exchange.receive, exchange.send)
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
    lifespan = Lifespan(app)
    return LoadedHandler("asgi", spec, lambda: ASGIContext(app, state=lifespan.state),
                         lifespan=lifespan)


class Lifespan:
    """The app's ``lifespan`` scope, run in a task of its own: :meth:`startup` before the
    server accepts connections, :meth:`shutdown` after it stopped serving (see the module
    docstring). :meth:`startup` raises :class:`HandlerError` on ``lifespan.startup.failed``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._task: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        loop = asyncio.get_running_loop()
        self._inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._started: asyncio.Future[None] = loop.create_future()
        self._stopped: asyncio.Future[None] = loop.create_future()
        self._inbox.put_nowait({"type": "lifespan.startup"})
        self._task = loop.create_task(self._main(), name="hyphal.asgi.lifespan")
        try:
            await self._started
        except HandlerError:
            await self._stop(1.0)
            raise

    async def shutdown(self, timeout: float) -> None:
        """Ask the app to shut down and wait up to ``timeout`` seconds for it."""
        task = self._task
        if task is None or task.done():
            return
        self._inbox.put_nowait({"type": "lifespan.shutdown"})
        await asyncio.wait([task, self._stopped], timeout=timeout,
                           return_when=asyncio.FIRST_COMPLETED)
        if not self._stopped.done():
            logger.warning("the ASGI app did not complete its lifespan shutdown within %.1f s",
                           timeout)
        await self._stop(0.1)  # an app returns right after lifespan.shutdown.complete

    async def _stop(self, grace: float) -> None:
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait([task], timeout=grace)
            if not task.done():
                task.cancel()
                await asyncio.wait([task])

    async def _main(self) -> None:
        scope = {"type": "lifespan", "asgi": _ASGI, "state": self.state}
        try:
            await self.app(scope, self._inbox.get, self._send)
        except Exception as exc:
            if self._started.done():
                logger.error("the ASGI app's lifespan failed: %s", exc, exc_info=exc)
            else:  # apps without lifespan support raise on the unknown scope type
                logger.info("the ASGI app does not run the lifespan protocol (%s: %s); "
                            "serving without it", type(exc).__name__, exc)
        finally:
            for fut in (self._started, self._stopped):
                if not fut.done():
                    fut.set_result(None)  # returned without a word: no lifespan support

    async def _send(self, message: Any) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            _settle(self._started)
        elif kind == "lifespan.startup.failed":
            _settle(self._started, HandlerError(
                f"the ASGI app failed its lifespan startup: {message.get('message', '')}"))
        elif kind == "lifespan.shutdown.complete":
            _settle(self._stopped)
        elif kind == "lifespan.shutdown.failed":
            logger.error("the ASGI app failed its lifespan shutdown: %s",
                         message.get("message", ""))
            _settle(self._stopped)
        else:
            raise RuntimeError(f"unexpected ASGI lifespan message {kind!r}")


def _settle(fut: asyncio.Future[None], error: BaseException | None = None) -> None:
    if not fut.done():
        if error is None:
            fut.set_result(None)
        else:
            fut.set_exception(error)
