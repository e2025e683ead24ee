"""JavaScript handlers: :mod:`hyphal.js` handler contexts behind the pool's contract.

The file is read and checked once per process (:func:`hyphal.js.handler.load_handler`); every
pool slot is a warm engine context whose module-level code already ran, so state kept there
persists across the requests that context serves. A handler exception (``JSError``) is a 500
and the context stays; a breached memory or time limit (``JSLimitError``) is
:class:`~hyphal.http._handlers.ContextBroken` -- the pool replaces the context and the request
gets 500 (memory) or 504 (time).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, cast

import orjson

from hyphal.http._handlers import ContextBroken, HandlerError, LoadedHandler
from hyphal.http._native import speedups
from hyphal.http._request import Request
from hyphal.http._response import Response, ResponseData
from hyphal.js.handler import answer_shape

__all__ = ["JSHandlerContext", "load_js_handler"]

_SEP = b"\x01"
_dumps = orjson.dumps
_from_data = Response.from_data


def _py_join_headers(raw_headers: list[tuple[bytes, bytes]]) -> str:
    return _SEP.join(map(_SEP.join, raw_headers)).decode("latin-1")


_join_headers = _py_join_headers if speedups is None else speedups.join_headers
"""Request headers in the engine's wire form: ``name\x01value\x01...`` (latin-1 text)."""


class JSHandlerContext:
    """A :class:`hyphal.js.handler.HandlerContext` serving :class:`Request` objects: the
    request goes over in the engine's wire form (``call_encoded``), so per request there is no
    mapping, no header list of ``str`` pairs and no JSON encoding -- the header bytes are joined
    into one ``name\\x01value`` string that JavaScript splits only if the handler reads
    ``request.headers``. The answer comes back as a :class:`Response`, so the server takes
    its plain-response fast path; an invalid status or header from JavaScript raises
    (``ValueError``/``TypeError``) and the server answers 500.

    ``call`` is ``hyphal.http._speedups.JSCall`` where that is built: the same steps in C for
    the common request and answer (without the engine context's own checks and ``calls``
    count: the C object's ``ready`` flag, kept here, stands for them), calling back into the
    methods below for everything else; :meth:`_call_py` is the whole path in Python."""

    __slots__ = ("_call", "_ctx", "_fast", "call")

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx
        self._call = ctx.call_encoded
        self._fast = None if speedups is None else speedups.JSCall(ctx.entry, self, Request,
                                                                    Response)
        self.call: Callable[[Request], Response | Awaitable[Response]] = (
            self._call_py if self._fast is None else self._fast)

    def _ready(self) -> None:
        """Tell the C call whether the engine context takes a call (not busy, not closed)."""
        if self._fast is not None:
            self._fast.ready = not (self._ctx._busy or self._ctx.closed)

    def _call_py(self, request: Request) -> Response | Awaitable[Response]:
        raw_url = request.raw_url
        body = request.body
        try:
            result = self._call(
                request.method, raw_url.decode("latin-1"), self._path(request),
                self._query(request) if b"?" in raw_url else "{}",
                _join_headers(request.raw_headers),
                body.decode("utf-8", "replace") if body else "")
        except Exception as exc:
            self._ready()  # a breached limit closed the context
            _raise_converted(exc)
        return self._response(result)

    def _response(self, result: ResponseData | Awaitable[ResponseData]
                  ) -> Response | Awaitable[Response]:
        if type(result) is tuple:
            return _from_data(result)
        self._ready()  # busy until the answer is in
        return self._finish(cast(Awaitable[ResponseData], result))

    async def _finish(self, pending: Awaitable[ResponseData]) -> Response:
        try:
            return _from_data(await pending)
        except Exception as exc:
            _raise_converted(exc)
        finally:
            self._ready()

    # -- the slow paths of the C call (JSCall) -------------------------------------------------

    @staticmethod
    def _path(request: Request) -> str:
        """The path as JavaScript text: percent-escapes that are not UTF-8 (kept as lone
        surrogates in :attr:`Request.path`) become U+FFFD, as ``decodeURIComponent``-free
        JavaScript servers show them."""
        path = request.path
        if path.isascii():
            return path
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")

    @staticmethod
    def _query(request: Request) -> str:
        return _dumps(request.query).decode()

    @staticmethod
    def _shape(prefix: str) -> tuple[int, bytes] | None:
        """``(status, encoded head)`` for an answer prefix whose body is text, else None."""
        status, headers, b64 = answer_shape(prefix)
        if b64:
            return None
        try:
            response = _from_data((status, list(headers), b""))
        except (TypeError, ValueError):
            return None  # the Python path raises it for the request
        return response.status, response._head

    def _other(self, answer: str) -> Response | Awaitable[Response]:
        try:
            result = self._ctx.answered(answer)
        except Exception as exc:
            _raise_converted(exc)
        return self._response(result)

    def _raise(self, exc: Exception) -> NoReturn:
        error = self._ctx.call_failed(exc)
        self._ready()  # a breached limit closed the context
        _raise_converted(error)

    def close(self) -> None:
        self._ctx.close()
        self._ready()


def _raise_converted(exc: Exception) -> NoReturn:
    """Raise ``exc``, or the pool's :class:`ContextBroken` for a breached limit."""
    broken = _broken(exc)
    if broken is None:
        raise exc
    raise broken from exc


def _broken(exc: Exception) -> ContextBroken | None:
    """The pool's error for a breached limit (``JSLimitError``); None for any other error."""
    from hyphal.js.errors import JSLimitError

    if not isinstance(exc, JSLimitError):
        return None
    limit = getattr(exc, "limit", "memory")
    return ContextBroken(f"JS handler exceeded its {limit} limit: {exc}",
                         504 if limit == "time" else 500)


def load_js_handler(spec: str, *, engine: str = "quickjs", memory_limit: int | None = None,
                    time_limit: float | None = None) -> LoadedHandler:
    """Compile ``spec`` once; raises :class:`HandlerError` when it cannot be loaded."""
    try:
        from hyphal.js.errors import JSError
        from hyphal.js.handler import load_handler
    except ImportError as exc:  # pragma: no cover - js layer missing
        raise HandlerError(f"JavaScript handlers need hyphal.js: {exc}") from exc
    try:
        factory = load_handler(spec, engine=engine,  # type: ignore[arg-type]
                               memory_limit=memory_limit, time_limit=time_limit)
        first = factory()
    except OSError as exc:
        raise HandlerError(f"handler file not found: {spec} ({exc.strerror})") from exc
    except JSError as exc:
        raise HandlerError(f"{spec}: {exc}") from exc
    spare = [first]

    def make() -> JSHandlerContext:
        return JSHandlerContext(spare.pop() if spare else factory())

    return LoadedHandler("js", spec, make)
