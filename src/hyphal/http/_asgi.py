"""``--interface asgi``: host an ASGI 3 application (Starlette, FastAPI, a raw app) on the
hyphal server, so it can be compared with uvicorn directly.

Each request runs the app once with an HTTP scope; ``receive`` hands over the body hyphal already
read, and later waits until the response is complete (or the client leaves, which cancels the
app), then reports ``http.disconnect`` -- as uvicorn does, so that apps listening for a
disconnect while they stream keep streaming. ``send`` keeps the common answer -- the start
message and one body message -- and the server sends it when the app returns, through the
same fast path as a Python handler's :class:`Response`. A body message with ``more_body``
streams instead: the head goes out then (chunked on HTTP/1.1 unless the app declared a
``content-length``), and every body message is written as it is sent, waiting while the
client reads slowly (:meth:`HttpProtocol.stream`). The handler timeout bounds the app until
its head goes out; a streamed body may take as long as the client keeps reading. An app
that fails after its head went out gets its connection aborted (a 500 can no longer be
sent). WebSocket scopes are not offered.

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

from hyphal.http import _protocol
from hyphal.http._handlers import HandlerError, LoadedHandler, load_python_handler
from hyphal.http._native import speedups
from hyphal.http._protocol import BodyStream, HttpProtocol
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

    def call(self, request: Request) -> Awaitable[Any]:
        """A :class:`Response`, or the :class:`BodyStream` the app answered through."""
        return self._run(request, _protocol.calling)

    def close(self) -> None:
        return None

    async def _run(self, request: Request, conn: HttpProtocol | None) -> Response | BodyStream:
        raw_path, _, query = request.raw_url.partition(b"?")
        exchange = _Exchange(request, conn)
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
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except Exception:
            stream = exchange.stream
            if stream is None:
                raise  # nothing sent yet: the server answers 500
            logger.exception("the ASGI app failed while streaming %s %s; connection aborted",
                             request.method, request.path)
            stream.abort()
            return stream
        stream = exchange.stream
        if stream is not None:
            if not exchange.complete:  # returned without the last body message
                try:
                    exchange.finish()
                except RuntimeError as exc:  # short of its content-length
                    logger.error("the ASGI app's streamed answer to %s %s is incomplete: %s; "
                                 "connection aborted", request.method, request.path, exc)
                    stream.abort()
            return stream
        status = exchange.status
        if not status:
            raise RuntimeError("ASGI app returned without sending a response")
        body = exchange.answer
        return _from_raw(status, exchange.headers, body)


class _Exchange:
    """One request's ``receive`` and ``send`` (bound methods of one small object: cheaper per
    request than closures over cells). The common answer is collected; a body message with
    ``more_body`` opens a :class:`BodyStream` on the connection (see the module docstring)."""

    __slots__ = ("answer", "body", "complete", "conn", "done", "headers", "request", "status",
                 "stream")

    def __init__(self, request: Request, conn: HttpProtocol | None) -> None:
        self.request = request
        self.conn = conn
        self.body: bytes | None = request.body
        self.status = 0
        self.headers: Any = ()
        self.answer = b""  # the body of the common answer (one body message)
        self.stream: BodyStream | None = None
        self.complete = False  # the last body message was sent
        self.done: asyncio.Future[None] | None = None  # receive() waiting for the end

    async def receive(self) -> dict[str, Any]:
        body = self.body
        if body is None:
            if not self.complete:  # wait for the response's end (or a cancel: client gone)
                if self.done is None:
                    self.done = asyncio.get_running_loop().create_future()
                await asyncio.shield(self.done)
            return _DISCONNECT
        self.body = None
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(self, message: Any) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.status:
                raise RuntimeError("ASGI app sent http.response.start twice")
            self.status = message["status"]
            self.headers = message.get("headers", ())
        elif kind == "http.response.body":
            if not self.status:
                raise RuntimeError("ASGI app sent a body before http.response.start")
            if self.complete:
                raise RuntimeError("ASGI app sent a body after its last body message")
            body = message.get("body", b"")
            more = message.get("more_body", False)
            stream = self.stream
            if stream is None:
                if not more:  # the common answer: the server sends it when the app returns
                    self.answer = body
                    self.complete = True
                    if self.done is not None:
                        self._completed()
                    return
                stream = await self._open()
            await stream.write(body)
            if not more:
                self.finish()

    async def _open(self) -> BodyStream:
        """Send the head: the body streams from here on."""
        conn = self.conn
        if conn is None:
            raise RuntimeError("this ASGI request has no connection to stream into")
        # leave the server's inline first step: earlier pipelined answers go out first
        await asyncio.sleep(0)
        length = None
        headers = []
        for name, value in self.headers:
            if name.lower() == b"content-length":
                length = int(value)
            else:
                headers.append((name, value))
        self.stream = stream = conn.stream(self.request, _from_raw(self.status, headers, b""),
                                           length)
        return stream

    def finish(self) -> None:
        """The body is complete: end the stream (if one is open) and wake receive()."""
        if self.stream is not None:
            self.stream.end()
        self._completed()

    def _completed(self) -> None:
        self.complete = True
        if self.done is not None and not self.done.done():
            self.done.set_result(None)


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
