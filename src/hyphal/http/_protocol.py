"""The connection adapter: asyncio/uvloop transport <-> sans-IO parser <-> handler pool.

Theory of operation
-------------------
``data_received`` feeds the :class:`~hyphal.http._parser.RequestParser` and answers every
completed request in order. For a synchronous handler the whole request -- acquire a context,
call it, encode the response from pre-encoded header blocks -- runs inside ``data_received``:
no task, no future, no loop iteration; the responses of one read (pipelining) leave in one
``write``/``writelines`` call. A handler that returns a coroutine runs its first step right
there too and costs a task only if it suspends. A streamed body, a large static file or a
pool wait moves that one request to a task; while it runs the connection is *busy* and
later pipelined requests queue behind it (answers keep request order).

The hot steps run in C when ``hyphal.http._speedups`` is built: the parser's scanner builds
plain requests straight from the bytes, ``Answerer.answer`` calls the handler, times it and
encodes a plain :class:`Response` in one step, and ``step_as`` runs an async handler's first
step with its stand-in task current. Each has a pure-Python twin in this package
(``HYPHAL_PURE_PYTHON=1``), and both give the same bytes.

A handler call that never yields (a synchronous handler, an async one's first step) is
bounded by the watchdog in ``_watchdog.py``: the answerer counts calls and marks the one
running, a thread notices when it overruns ``limits.handler_timeout`` and a signal raises
:class:`~hyphal.http._handlers.HandlerTimeout` into it; the request gets 504.

Timeouts cost nothing per request: the server's once-per-tick sweep calls
:meth:`HttpProtocol.check_timeouts`, which compares the parser's phase and request count with
what it saw on the previous tick -- unchanged for longer than the phase's limit means the
header (408), body (408) or keep-alive timeout fired.

Errors never leak internals: a handler exception is logged with its traceback on the
``hyphal.http`` logger and the client gets a bare ``500 Internal Server Error``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Coroutine
from contextvars import Context, copy_context
from http import HTTPStatus
from types import CoroutineType
from typing import TYPE_CHECKING, Any, cast

from hyphal._core.tasks import TaskStandIn, _enter_task, _leave_task, resume_as
from hyphal.http._handlers import ContextBroken, HandlerContext, HandlerTimeout
from hyphal.http._native import speedups
from hyphal.http._parser import IDLE, ProtocolError, RequestParser
from hyphal.http._pool import PoolExhausted
from hyphal.http._request import Request
from hyphal.http._response import _STATUS_LINES, Response, status_line

if TYPE_CHECKING:
    from hyphal.http._server import ServerState

__all__ = ["BodyStream", "HttpProtocol", "error_response"]

logger = logging.getLogger("hyphal.http")
_perf_ns = time.perf_counter_ns
_refcount = sys.getrefcount
_CLOSE = b"connection: close\r\n"
_KEEP = b"connection: keep-alive\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_NO_BODY = frozenset({204, 304})
_SMALL = 8192


DONE: Any = object() if speedups is None else speedups.DONE
"""What :meth:`_PyAnswerer.answer` returns when it appended the encoded response."""


class _PyAnswerer:
    """Calls a handler and encodes the common answer (the pure-Python twin of
    ``_speedups.Answerer``, see ``_speedups.c``): :meth:`answer` returns :data:`DONE` when it
    appended the encoded response to ``out``, else what the handler returned; ``elapsed`` is
    how many nanoseconds the call took, set even when it raised; ``calls`` counts the calls
    started and ``busy`` is 1 during one (for the watchdog, ``_watchdog.py``)."""

    __slots__ = ("busy", "calls", "elapsed")

    def __init__(self, request_type: type[Request], response_type: type[Response],
                 status_lines: dict[int, bytes]) -> None:
        self.elapsed = 0
        self.calls = 0
        self.busy = 0

    def answer(self, call: Any, request: Request, date_block: bytes,
               out: list[bytes] | None) -> Any:
        self.calls += 1
        self.busy = 1
        start = _perf_ns()
        try:
            result = call(request)
        finally:  # a timeout landing before this line still counts as the call's
            self.busy = 0
            self.elapsed = _perf_ns() - start
        if out is not None and self.encode(request, result, date_block, out):
            return DONE
        return result

    def encode(self, request: Request, response: Any, date_block: bytes,
               out: list[bytes]) -> bool:
        if (type(response) is not Response or response.stream_body is not None
                or request.keep_alive is not True or request.http_version != "1.1"
                or request.method == "HEAD" or len(response.body) >= _SMALL
                or response.status in _NO_BODY):
            return False
        line = _STATUS_LINES.get(response.status)
        if line is None:
            return False
        body = response.body
        out.append(b"%s%s%scontent-length: %d\r\n\r\n%s" % (line, date_block, response._head,
                                                             len(body), body))
        return True


def _py_step_as(current_tasks: Any, loop: asyncio.AbstractEventLoop, handle: Any,
                context: Context, coro: Coroutine[Any, Any, Any]) -> tuple[bool, Any]:
    """One step of ``coro`` inside ``context`` with ``handle`` as the loop's current task:
    ``(True, result)`` or ``(False, what it yielded)``; errors propagate."""
    parent = asyncio.current_task(loop)  # set when a task resumes the connection's queue
    if parent is not None:
        _leave_task(loop, parent)
    _enter_task(loop, handle)
    try:
        return False, context.run(coro.send, None)
    except StopIteration as stop:
        return True, stop.value
    finally:
        _leave_task(loop, handle)
        if parent is not None:
            _enter_task(loop, parent)


_answerer: _PyAnswerer = (_PyAnswerer if speedups is None else speedups.Answerer)(
    Request, Response, _STATUS_LINES)
_answer = _answerer.answer
_current_tasks: Any = getattr(asyncio.tasks, "_current_tasks", None)
_step_as = (speedups.step_as if speedups is not None and type(_current_tasks) is dict
            else _py_step_as)


class BodyStream:
    """A response body sent as it is produced, from :meth:`HttpProtocol.stream` (whose head is
    already out): :meth:`write` each chunk (waits while the client is slow to read), then
    :meth:`end`, or :meth:`abort` when the body cannot be completed. ``keep``: whether the
    connection stays open after it. A body longer or shorter than a declared ``length`` is
    an error (``RuntimeError``): the connection cannot be reused and is aborted."""

    __slots__ = ("chunked", "conn", "head_only", "keep", "length", "request", "size", "status")

    def __init__(self, conn: HttpProtocol, request: Request, status: int, length: int | None,
                 chunked: bool, keep: bool) -> None:
        self.conn = conn
        self.request = request
        self.status = status
        self.length = length
        self.chunked = chunked
        self.keep = keep
        self.head_only = request.method == "HEAD"
        self.size = 0

    async def write(self, data: bytes) -> None:
        if not data or self.head_only:
            return
        self.size += len(data)
        if self.length is not None and self.size > self.length:
            raise RuntimeError(f"the body is longer than its content-length {self.length}")
        conn = self.conn
        transport = conn._transport
        assert transport is not None
        transport.write(b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data)
        if conn._write_paused:
            await conn._wait_drain()

    def end(self) -> None:
        """Finish the body (the terminating chunk) and log the request."""
        if self.length is not None and self.size < self.length and not self.head_only:
            raise RuntimeError(f"the body ended {self.length - self.size} bytes short of its "
                               "content-length")
        conn = self.conn
        if self.chunked and not self.head_only:
            assert conn._transport is not None
            conn._transport.write(b"0\r\n\r\n")
        access_log = conn._state.access_log
        if access_log is not None:
            access_log(conn.remote, self.request, self.status, self.size)

    def abort(self) -> None:
        self.keep = False
        if self.conn._transport is not None:
            self.conn._transport.abort()


calling: HttpProtocol | None = None
"""The connection whose handler is being called (set before each call): a handler that
streams its answer itself (an ASGI app) takes it when it is called."""


def error_response(status: int, *, retry_after: int | None = None) -> Response:
    """A plain-text error response carrying only the status phrase (nothing internal)."""
    phrase = HTTPStatus(status).phrase if status in _STATUS_LINES else "Error"
    headers = [("retry-after", str(retry_after))] if retry_after is not None else None
    return Response(f"{phrase}\n", status, headers)


class HttpProtocol(asyncio.Protocol):
    """One client connection (see the module docstring)."""

    def __init__(self, state: ServerState) -> None:
        self._state = state
        self._parser = RequestParser(state.limits)
        self._completed = self._parser.completed
        self._transport: asyncio.Transport | None = None
        self._error: ProtocolError | None = None
        self._busy = False
        self._closing = False
        self._read_paused = False
        self._write_paused = False
        self._drain: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._handle: TaskStandIn | None = None
        self._deadline: asyncio.Timeout | None = None  # the handler timeout of the running task
        # fixed for the server's life: read once here rather than per request
        self._free = state.pool._free
        self._release = state.pool.release
        self._direct = state.routes is None  # no pre-handler routes (metrics, CORS, static)
        self._plain = state.extra_headers is None and state.access_log is None
        self._marker = -1
        self._since = state.now
        self.remote = ""

    # -- transport callbacks -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._loop = asyncio.get_running_loop()
        self._state.connections.add(self)
        if self._state.access_log is not None:
            peer = transport.get_extra_info("peername")
            self.remote = str(peer[0]) if peer else ""

    def connection_lost(self, exc: Exception | None) -> None:
        self._state.connections.discard(self)
        self._closing = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_exception(ConnectionResetError("client went away"))

    def pause_writing(self) -> None:
        self._write_paused = True
        self._pause_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_result(None)
        if not self._busy:
            self._resume_reading()

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        try:
            parser.feed(data)
        except ProtocolError as exc:
            self._error = exc
            self._pause_reading()
        if parser.upgrade:  # no protocol switching here: answer what came, then close
            self._closing = True
            self._pause_reading()
        if self._busy:
            if len(self._completed) >= self._state.limits.max_pipelined:
                self._pause_reading()
            return
        if self._completed or self._error is not None:
            self._process()
        elif parser.continue_wanted:
            parser.continue_wanted = False
            self._transport.write(_CONTINUE)  # type: ignore[union-attr]

    def eof_received(self) -> bool | None:
        if not self._busy and not self._completed:
            return None  # close now
        self._closing = True
        return True  # keep the write side open to answer what is queued

    # -- request processing --------------------------------------------------------------------

    def _process(self) -> None:
        """Answer queued requests in order until one needs a task or the queue is empty.

        The loop inlines the common case -- no pre-handler routes, a free context, a plain
        :class:`Response` back -- and hands everything else to :meth:`_dispatch`."""
        global calling
        calling = self
        completed = self._completed
        transport = self._transport
        assert transport is not None
        free = self._free
        direct = self._direct
        date_block = self._state.date_block
        out: list[bytes] = []
        # the common answer is encoded in one step (the same bytes _encode gives) unless a
        # feature adds headers or logs, or the connection is closing
        plain = out if self._plain and not self._closing else None
        while completed:
            request = completed.popleft()
            if direct and free:
                ctx = free.pop()
                try:
                    result = _answer(ctx.call, request, date_block, plain)
                except Exception as exc:
                    response: Response | None = self._failed(request, ctx, exc,
                                                             _perf_ns() - _answerer.elapsed)
                except HandlerTimeout:
                    response = self._timed_out(request, ctx, _perf_ns() - _answerer.elapsed)
                else:
                    if result is DONE:
                        self._release(ctx, _answerer.elapsed)
                        continue
                    if type(result) is Response and result.stream_body is None:
                        self._release(ctx, _answerer.elapsed)
                        response = result
                    else:
                        response = self._result(request, ctx, result,
                                                _perf_ns() - _answerer.elapsed)
            else:
                response = self._dispatch(request)
            if response is None:  # went async; the task answers and resumes the queue
                break
            if plain is not None and _answerer.encode(request, response, date_block, out):
                continue
            if not self._encode(request, response, out):
                transport.writelines(out)
                self._close()
                return
        else:
            if self._error is not None:
                self._encode_error(self._error.status, out)
                transport.writelines(out)
                self._close()
                return
        if out:
            if len(out) == 1:
                transport.write(out[0])
            else:
                transport.writelines(out)
        if not self._busy:
            if self._closing:
                self._close()
            elif self._parser.continue_wanted:
                self._parser.continue_wanted = False
                transport.write(_CONTINUE)

    def _dispatch(self, request: Request) -> Response | None:
        """Routes, then the handler; a :class:`Response` when done now, ``None`` when a task
        took over."""
        state = self._state
        if state.routes is not None:
            routed = state.routes(request)
            if routed is not None:
                if type(routed) is Response and routed.stream_body is None:
                    return routed
                self._spawn(self._finish_routed(request, routed))
                return None
        ctx = state.pool.try_acquire()
        if ctx is None:
            self._spawn(self._call_after_wait(request))
            return None
        start = _perf_ns()
        try:
            result = _answer(ctx.call, request, b"", None)
        except Exception as exc:
            return self._failed(request, ctx, exc, start)
        except HandlerTimeout:
            return self._timed_out(request, ctx, start)
        return self._result(request, ctx, result, start)

    def _timed_out(self, request: Request, ctx: HandlerContext, start: int) -> Response:
        """The handler overran ``limits.handler_timeout``: log it, answer 504."""
        self._state.pool.release(ctx, _perf_ns() - start)
        logger.error("handler timed out after %.1fs on %s %s",
                     self._state.limits.handler_timeout, request.method, request.path)
        return error_response(504)

    def _failed(self, request: Request, ctx: HandlerContext, exc: Exception,
                start: int) -> Response:
        """The handler raised: replace a broken context, log, answer 500 (or the context's
        status) without any detail."""
        pool = self._state.pool
        if isinstance(exc, ContextBroken):
            pool.discard(ctx, _perf_ns() - start)
            logger.error("handler context replaced after %s %s: %s", request.method,
                         request.path, exc)
            return error_response(exc.status)
        pool.release(ctx, _perf_ns() - start)
        js_stack = getattr(exc, "js_stack", None)  # a JS handler's own stack trace
        logger.error("handler failed on %s %s%s", request.method, request.path,
                     f"\n{js_stack}" if js_stack else "", exc_info=exc)
        return error_response(500)

    def _result(self, request: Request, ctx: HandlerContext, result: Any,
                start: int) -> Response | None:
        """A handler result other than a plain :class:`Response`: a stream or an awaitable
        (``None``: a task took over), or a JS ``(status, headers, body)``."""
        if type(result) is CoroutineType:
            return self._start_coroutine(request, ctx, result, start)
        if hasattr(result, "__await__"):
            self._spawn(self._finish_async(request, ctx, cast(Awaitable[Any], result), start))
            return None
        self._state.pool.release(ctx, _perf_ns() - start)
        if type(result) is Response and result.stream_body is not None:
            self._spawn(self._send_stream(request, result))
            return None
        return self._coerce(request, result)

    def _start_coroutine(self, request: Request, ctx: HandlerContext,
                         coro: Coroutine[Any, Any, Any], start: int) -> Response | None:
        """Run an async handler's first step right here, as the core's eager ``spawn`` does:
        a handler that never suspends (no I/O) costs no task and no loop iteration. A
        :class:`~hyphal._core.tasks.TaskStandIn` is the current task, so timeouts and
        cancel scopes opened in that step work; once the handler suspends, a task continues it
        (under the handler timeout) and the handle forwards to that task. A handle that nothing
        kept once the handler finished serves the connection's next such request too."""
        loop = self._loop
        handle = self._handle
        if handle is None:
            handle = TaskStandIn()
        else:
            self._handle = None
        context = copy_context()
        answerer = _answerer  # the watchdog bounds this step like a synchronous call
        answerer.calls += 1
        answerer.busy = 1
        try:
            finished, pending = _step_as(_current_tasks, loop, handle, context, coro)
        except Exception as exc:
            answerer.busy = 0
            return self._failed(request, ctx, exc, start)
        except HandlerTimeout:
            answerer.busy = 0
            coro.close()  # it may have been stopped at a suspension point
            return self._timed_out(request, ctx, start)
        answerer.busy = 0
        if finished:
            # nothing kept the stand-in (refcount: this frame and the call's argument) and
            # nothing cancelled it: the next request may reuse it
            if _refcount(handle) == 2 and not handle._cancels and not handle._cancel_pending:
                self._handle = handle
            self._state.pool.release(ctx, _perf_ns() - start)
            return self._coerce(request, pending)
        driver = resume_as(handle, loop, coro, pending)
        driver.send(None)  # prime: a cancellation before the task's first step is forwarded
        self._busy = True
        task = loop.create_task(self._finish_async(request, ctx, driver, start),
                                context=context)
        self._task = handle._task = task
        if handle._cancel_pending:
            task.cancel()
        return None

    def _coerce(self, request: Request, result: Any) -> Response:
        if type(result) is tuple and len(result) == 3:
            try:
                return Response.from_data(result)
            except (TypeError, ValueError):
                logger.exception("handler returned an invalid response on %s %s",
                                 request.method, request.path)
                return error_response(500)
        if isinstance(result, Response):
            return result
        logger.error("handler returned %s on %s %s; return a hyphal.http.Response",
                     type(result).__name__, request.method, request.path)
        return error_response(500)

    def _encode(self, request: Request, response: Response, out: list[bytes]) -> bool:
        """Append the encoded ``response`` to ``out``; whether the connection stays open."""
        state = self._state
        keep = request.keep_alive and not self._closing
        conn = (b"" if request.http_version == "1.1" else _KEEP) if keep else _CLOSE
        status = response.status
        body = response.body
        extra = state.extra_headers(request) if state.extra_headers is not None else b""
        if status in _NO_BODY:
            head = b"%s%s%s%s%s\r\n" % (status_line(status), state.date_block, response._head,
                                        extra, conn)
            body = b""
        else:
            head = b"%s%s%s%scontent-length: %d\r\n%s\r\n" % (
                _STATUS_LINES.get(status) or status_line(status), state.date_block,
                response._head, extra, len(body), conn)
        if request.method == "HEAD" or not body:
            out.append(head)
        elif len(body) < _SMALL:
            out.append(head + body)
        else:
            out.append(head)
            out.append(body)
        if state.access_log is not None:
            state.access_log(self.remote, request, status, len(body))
        return keep

    def _encode_error(self, status: int, out: list[bytes]) -> None:
        response = error_response(status)
        out.append(b"%s%s%scontent-length: %d\r\n%s\r\n%s" % (
            status_line(status), self._state.date_block, response._head, len(response.body),
            _CLOSE, response.body))
        if self._state.access_log is not None:
            self._state.access_log(self.remote, None, status, len(response.body))

    # -- the slow paths (one task per request that needs one) ----------------------------------

    def _spawn(self, coro: Any) -> None:
        self._busy = True
        self._task = self._loop.create_task(coro)

    async def _call_after_wait(self, request: Request) -> None:
        global calling
        try:
            ctx = await self._state.pool.acquire()
        except PoolExhausted as exc:
            await self._respond(request, error_response(503, retry_after=exc.retry_after))
            return
        calling = self
        start = _perf_ns()
        try:
            result = _answer(ctx.call, request, b"", None)
        except Exception as exc:
            await self._respond(request, self._failed(request, ctx, exc, start))
            return
        except HandlerTimeout:
            await self._respond(request, self._timed_out(request, ctx, start))
            return
        if hasattr(result, "__await__"):
            await self._finish_async(request, ctx, cast(Awaitable[Any], result), start)
            return
        self._state.pool.release(ctx, _perf_ns() - start)
        await self._respond(request, self._coerce(request, result))

    async def _finish_async(self, request: Request, ctx: HandlerContext,
                            awaitable: Awaitable[Any], start: int) -> None:
        pool = self._state.pool
        try:
            async with asyncio.timeout(self._state.limits.handler_timeout) as self._deadline:
                result = await awaitable
        except TimeoutError:
            response = self._timed_out(request, ctx, start)
        except Exception as exc:
            response = self._failed(request, ctx, exc, start)
        except BaseException:  # cancelled: connection lost or shutdown
            pool.release(ctx, _perf_ns() - start)
            raise
        else:
            pool.release(ctx, _perf_ns() - start)
            if type(result) is BodyStream:  # the handler streamed its answer itself (ASGI)
                self._finish_task([], result.keep)
                return
            response = self._coerce(request, result)
        finally:
            self._deadline = None
        await self._respond(request, response)

    async def _finish_routed(self, request: Request, routed: Any) -> None:
        if isinstance(routed, Response):
            await self._respond(request, routed)
        else:
            await self._respond(request, await routed)

    async def _respond(self, request: Request, response: Response) -> None:
        """Send ``response`` from a task, then resume the connection's queue."""
        if response.stream_body is not None:
            await self._send_stream(request, response)
            return
        out: list[bytes] = []
        keep = self._encode(request, response, out)
        self._finish_task(out, keep)

    def _finish_task(self, out: list[bytes], keep: bool) -> None:
        transport = self._transport
        assert transport is not None
        if transport.is_closing():
            return
        if out:
            transport.writelines(out)
        self._busy = False
        self._task = None
        if not keep:
            self._close()
            return
        self._resume_reading()
        if self._completed or self._error is not None:
            self._process()
        elif self._closing:
            self._close()

    def stream(self, request: Request, response: Response,
               length: int | None = None) -> BodyStream:
        """Send ``response``'s head now and return the :class:`BodyStream` its body goes
        through: chunked on HTTP/1.1 unless ``length`` is given, close-delimited on HTTP/1.0.
        The connection is busy until the stream ends; call from a task (not from the first,
        inline step of a handler, where earlier pipelined answers may still be unsent)."""
        state = self._state
        transport = self._transport
        assert transport is not None
        chunked = length is None and request.http_version == "1.1"
        keep = (chunked or length is not None) and request.keep_alive and not self._closing
        extra = state.extra_headers(request) if state.extra_headers is not None else b""
        if length is not None:
            framing = b"content-length: %d\r\n" % length
        else:
            framing = b"transfer-encoding: chunked\r\n" if chunked else b""
        self._busy = True
        transport.write(b"%s%s%s%s%s%s\r\n" % (
            status_line(response.status), state.date_block, response._head, extra, framing,
            b"" if keep else _CLOSE))
        deadline = self._deadline
        if deadline is not None:  # a body may take as long as the client reads it
            deadline.reschedule(None)
        return BodyStream(self, request, response.status, length, chunked, keep)

    async def _send_stream(self, request: Request, response: Response) -> None:
        """Stream an async-iterator body (or a file: ``sendfile``) through :meth:`stream`."""
        assert response.stream_body is not None
        body = response.stream_body
        length: int | None = getattr(body, "length", None)
        stream = self.stream(request, response, length)
        try:
            source = getattr(body, "file", None)
            if source is not None and length is not None and not stream.head_only:
                await self._write_file(source, length)
                stream.size = length
            elif not stream.head_only:
                async for chunk in body:
                    await stream.write(chunk.encode() if isinstance(chunk, str) else chunk)
            stream.end()
        except (ConnectionError, asyncio.CancelledError):
            stream.abort()
            raise
        except Exception:
            logger.exception("streamed response failed on %s %s; connection aborted",
                             request.method, request.path)
            stream.abort()
            return
        self._finish_task([], stream.keep)

    async def _wait_drain(self) -> None:
        self._drain = asyncio.get_running_loop().create_future()
        try:
            await self._drain
        finally:
            self._drain = None

    async def _write_file(self, data_source: Any, size: int) -> None:
        """Copy ``size`` bytes from an open binary file to the client with flow control
        (``loop.sendfile`` when the loop implements it)."""
        transport = self._transport
        assert transport is not None
        loop = asyncio.get_running_loop()
        try:
            await loop.sendfile(transport, data_source, 0, size)
            return
        except (NotImplementedError, RuntimeError):
            pass
        remaining = size
        while remaining > 0:
            chunk = data_source.read(min(remaining, 1 << 16))
            if not chunk:
                break
            remaining -= len(chunk)
            transport.write(chunk)
            if self._write_paused:
                await self._wait_drain()

    # -- connection control --------------------------------------------------------------------

    def _pause_reading(self) -> None:
        if not self._read_paused and self._transport is not None:
            self._read_paused = True
            self._transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._read_paused and not self._write_paused and self._error is None:
            self._read_paused = False
            assert self._transport is not None
            self._transport.resume_reading()

    def _close(self) -> None:
        self._closing = True
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    @property
    def idle(self) -> bool:
        return not self._busy and not self._completed and self._parser.phase == IDLE

    def shutdown(self) -> None:
        """Graceful shutdown: close now when idle, else after the current response."""
        self._closing = True
        if self.idle:
            self._close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def check_timeouts(self, now: float) -> None:
        """Called once per server tick (see the module docstring)."""
        limits = self._state.limits
        phase = self._parser.phase
        marker = self._parser.messages * 4 + phase
        if self._busy or marker != self._marker:
            self._marker = -1 if self._busy else marker
            self._since = now
            return
        elapsed = now - self._since
        if phase == IDLE:
            if elapsed >= limits.keepalive_timeout:
                self._close()
        elif elapsed >= (limits.header_timeout if phase == 1 else limits.body_timeout):
            out: list[bytes] = []
            self._encode_error(408, out)
            assert self._transport is not None
            self._transport.writelines(out)
            self._close()
