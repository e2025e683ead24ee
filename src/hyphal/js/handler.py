"""The JavaScript HTTP handler contract used by the HTTP server.

:func:`load_handler` reads a handler file once and returns a factory of warm
:class:`HandlerContext` objects. Each context is one engine context with the prelude and the
handler loaded; module-level state in the handler persists across calls in that context.

:meth:`HandlerContext.call` takes the request mapping ``{"method", "url", "path", "query",
"headers", "body"}`` and returns ``(status, headers, body)`` directly when the handler returns a
``Response`` (or a promise already settled after a microtask checkpoint) -- the fast path, on the
calling thread, with no thread hop -- and otherwise an awaitable driven on the running loop (an
async handler awaiting ``fetch`` or timers). In JavaScript the handler receives a request with
``method, url, path, query, headers`` (a ``Headers``), ``body`` (a string), ``json()`` and
``text()``, and answers with ``Response.json/text/html/redirect`` or ``new Response(...)``.

Errors: :class:`~hyphal.js.errors.JSError` for a handler exception (``js_stack`` has the stack),
:class:`~hyphal.js.errors.JSLimitError` when the context breached its memory or time limit --
the context is then closed and the pool must make a new one. A context serves one call at a
time and must be used on the thread that created it. An error nobody catches outside the call
(a timer callback that throws, a promise rejection nobody handles) is printed on stderr
(``Uncaught (in promise) ...``) and the context keeps serving.
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from threading import get_ident
from typing import Any, Literal, TextIO

import orjson

from hyphal._core.errors import BusyResourceError, ClosedResourceError
from hyphal.js.abc import EngineName, create_engine
from hyphal.js.errors import JSError, JSLimitError
from hyphal.js.modules import link, looks_like_module

__all__ = ["HandlerContext", "HandlerStatistics", "JSError", "JSLimitError", "ResponseData",
           "load_handler"]

ResponseData = tuple[int, list[tuple[str, str]], bytes]


@dataclass(frozen=True, slots=True)
class HandlerStatistics:
    engine: str
    calls: int
    async_calls: int
    errors: int
    memory_used: int


_Shape = tuple[int, tuple[tuple[str, str], ...], bool]
_SHAPES: dict[str, _Shape] = {}


def answer_shape(prefix: str) -> _Shape:
    """``(status, headers, base64 flag)`` of an answer's part before ``\x02``: the kind,
    the base64 flag, the 3-digit status, ``k \x01 v \x01 ...`` (see prelude/handler.js)."""
    fields = prefix[5:].split("\x01")
    headers = tuple(zip(fields[::2], fields[1::2], strict=True)) if len(fields) > 1 else ()
    shape = (int(prefix[2:5]), headers, prefix[1] == "1")
    if len(_SHAPES) < 1024:  # handlers answer with a handful of status/header shapes
        _SHAPES[prefix] = shape
    return shape


def decode_answer(answer: str) -> ResponseData:
    """``(status, headers, body)`` of a ready answer: <kind, base64 flag, status, headers>
    ``\x02`` <body> (the part before ``\x02`` is parsed once per distinct prefix)."""
    prefix, _, body = answer.partition("\x02")
    status, headers, b64 = _SHAPES.get(prefix) or answer_shape(prefix)
    return status, list(headers), base64.b64decode(body) if b64 else body.encode("utf-8")


class HandlerContext:
    """One warm JavaScript context with the handler loaded (see the module docstring)."""

    def __init__(self, path: str, source: str, engine: EngineName, memory_limit: int | None,
                 time_limit: float | None, stdout: TextIO | None = None,
                 stderr: TextIO | None = None) -> None:
        from hyphal.js.runtime import Host, load_prelude

        self.path = path
        self.engine_name = engine
        self._engine = create_engine(engine, memory_limit=memory_limit, time_limit=time_limit)
        self._host = Host(self._engine, stdout or sys.stdout, stderr or sys.stderr)
        self.calls = 0
        self.async_calls = 0
        self.errors = 0
        self._busy = False
        self._closed = False
        self._thread = get_ident()
        try:
            load_prelude(self._engine, argv=[sys.executable, path], env=dict(os.environ),
                         main=path, embedded=True)
            if looks_like_module(path, source):
                for mod in link(path, source):
                    self._engine.eval(mod.code, mod.path)
                self._host.drive(self._engine.call("__hyphal_start_modules", path))
                self._engine.eval(
                    "globalThis.handler = globalThis.handler || __hyphal_namespace("
                    f"{orjson.dumps(path).decode()}).handler || __hyphal_namespace("
                    f"{orjson.dumps(path).decode()}).default;")
            else:
                self._engine.eval(source, path)
                self._host.drive(self._engine.call("__hyphal_after_main"))
            if self._engine.eval("typeof handler") != "function":
                raise JSError(f"{path} defines no handler: write `function handler(request) "
                              "{ return Response.json({...}) }`")
        except BaseException:
            self.close()
            raise
        self._handle = self._engine.function("__hyphal_handle")

    def call(self, request: Mapping[str, Any]) -> ResponseData | Awaitable[ResponseData]:
        """Run the handler for ``request``; see the module docstring for the two return forms.

        Raises :class:`JSError`, :class:`JSLimitError` (the context is closed),
        :class:`~hyphal.ClosedResourceError` after :meth:`close`,
        :class:`~hyphal.BusyResourceError` while an async call of this context is in flight.
        """
        get = request.get
        query = get("query")
        headers = get("headers")
        body = get("body")
        if body:
            body = (bytes(body).decode("utf-8", "replace")
                    if isinstance(body, bytes | bytearray | memoryview) else str(body))
        return self.call_encoded(get("method", "GET"), get("url", "/"), get("path", "/"),
                                 orjson.dumps(query).decode() if query else "{}",
                                 orjson.dumps(headers).decode() if headers else "",
                                 body or "")

    def call_encoded(self, method: str, url: str, path: str, query: str, headers: str,
                     body: str) -> ResponseData | Awaitable[ResponseData]:
        """:meth:`call` with the request already in the engine's wire form -- what the HTTP
        server uses, so no mapping is built and nothing is JSON-encoded per request: ``query``
        is a JSON object text, ``headers`` either a JSON array of ``[name, value]`` pairs or
        ``name\x01value\x01name\x01value`` (``""``: none), ``body`` the decoded text.
        Returns and raises as :meth:`call`."""
        if self._busy or self._closed or get_ident() != self._thread:
            self._refuse()
        self.calls += 1
        try:
            answer: Any = self._handle(method, url, path, query, headers, body)
        except Exception as exc:
            raise self.call_failed(exc) from None
        return self.answered(answer)

    @property
    def entry(self) -> Callable[[str, str, str, str, str, str], Any]:
        """The engine function behind :meth:`call_encoded`, for a caller that repeats its
        bookkeeping (the HTTP server's C path, ``hyphal.http._speedups.JSCall``): check
        ``_busy``/``_closed``, count ``calls``, pass its answer to :meth:`answered` and its
        exception to :meth:`call_failed`. The answer is a string: ``"R"`` + the encoded
        response (see prelude/handler.js), which :func:`decode_answer` reads, or another
        kind that :meth:`answered` handles."""
        return self._handle

    def call_failed(self, exc: Exception) -> JSError:
        """The error to raise for an exception out of :attr:`entry` (the failure is counted;
        a limit error closes the context)."""
        return self._failed(self._engine.error(exc))

    def answered(self, answer: str) -> ResponseData | Awaitable[ResponseData]:
        """What :meth:`call_encoded` returns for the engine's ``answer``; raises
        :class:`JSError` as :meth:`call_encoded` does."""
        if answer[0] == "R":
            return decode_answer(answer)
        try:
            if answer[0] == "O":
                return self._respond(answer)
            # A promise: a microtask checkpoint may settle it at once.
            pending = int(answer[1:])
            self._engine.run_jobs()
            self._host.drive(self._engine.call("__hyphal_resume"))
            done = self._engine.call("__hyphal_handler_result", pending)
        except JSError as exc:
            raise self._failed(exc) from None
        if isinstance(done, str):
            return self._respond(done)
        self.async_calls += 1
        self._busy = True  # until the awaitable finishes: await it (or close the context)
        return self._finish(pending)

    def _refuse(self) -> None:
        if self._closed:
            raise ClosedResourceError("this handler context is closed; make a new one")
        if self._busy:
            raise BusyResourceError("this handler context is still serving an async call")
        raise RuntimeError("a handler context must be called on the thread that created it "
                           "(QuickJS crashes otherwise): make one context per thread")

    async def _finish(self, pending: int) -> ResponseData:
        result: list[str] = []

        def settled() -> bool:
            answer = self._engine.call("__hyphal_handler_result", pending)
            if isinstance(answer, str):
                result.append(answer)
                return True
            return False

        try:
            state = self._host.drive(self._engine.call("__hyphal_state"))
            await self._host.run_loop(state, until=settled)
            if not result and not settled():
                raise JSError("the handler's promise never settled (nothing left to wait for)")
            return self._respond(result[0])
        except JSError as exc:
            raise self._failed(exc) from None
        finally:
            self._busy = False

    def _respond(self, answer: str) -> ResponseData:
        if answer[0] == "O":  # the handler printed something: write it out
            self._host.drive(self._engine.call("__hyphal_state"))
        return decode_answer(answer)

    def _failed(self, exc: JSError) -> JSError:
        """Count a failed call; a limit error closes the context (it is unusable)."""
        self.errors += 1
        if isinstance(exc, JSLimitError):
            self.close()
        else:
            self._drain()
        return exc

    def _drain(self) -> None:
        try:
            self._host.drive(self._engine.call("__hyphal_state"))
        except JSError:
            pass

    def statistics(self) -> HandlerStatistics:
        return HandlerStatistics(self.engine_name, self.calls, self.async_calls, self.errors,
                                 0 if self._closed else self._engine.memory_used())

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Free the context (idempotent)."""
        if not self._closed:
            self._closed = True
            self._host.cancel_operations()
            self._engine.close()


def load_handler(path: str, *, engine: Literal["quickjs", "v8"] = "quickjs",
                 memory_limit: int | None = None, time_limit: float | None = None
                 ) -> Callable[[], HandlerContext]:
    """Read the handler file at ``path`` once and return a factory of warm contexts.

    The factory raises :class:`JSError` when the file does not evaluate or defines no
    ``handler`` function; reading raises ``OSError``.
    """
    path = os.path.abspath(path)
    with open(path, encoding="utf-8") as f:
        source = f.read()

    def factory() -> HandlerContext:
        return HandlerContext(path, source, engine, memory_limit, time_limit)

    return factory
