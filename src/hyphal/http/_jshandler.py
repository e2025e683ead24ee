"""JavaScript handlers: :mod:`hyphal.js` handler contexts behind the pool's contract.

The file is read and checked once per process (:func:`hyphal.js.handler.load_handler`); every
pool slot is a warm engine context whose module-level code already ran, so state kept there
persists across the requests that context serves. A handler exception (``JSError``) is a 500
and the context stays; a breached memory or time limit (``JSLimitError``) is
:class:`~hyphal.http._handlers.ContextBroken` -- the pool replaces the context and the request
gets 500 (memory) or 504 (time).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import orjson

from hyphal.http._handlers import ContextBroken, HandlerError, LoadedHandler
from hyphal.http._native import speedups
from hyphal.http._request import Request
from hyphal.http._response import Response, ResponseData

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
    (``ValueError``/``TypeError``) and the server answers 500."""

    __slots__ = ("_call", "_ctx")

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx
        self._call = ctx.call_encoded

    def call(self, request: Request) -> Response | Awaitable[Response]:
        raw_url = request.raw_url
        body = request.body
        try:
            result = self._call(
                request.method, raw_url.decode("latin-1"), request.path,
                _dumps(request.query).decode() if b"?" in raw_url else "{}",
                _join_headers(request.raw_headers),
                body.decode("utf-8", "replace") if body else "")
        except Exception as exc:
            broken = _broken(exc)
            if broken is None:
                raise
            raise broken from exc
        if type(result) is tuple:
            return _from_data(result)
        return self._finish(result)

    async def _finish(self, pending: Awaitable[ResponseData]) -> Response:
        try:
            return _from_data(await pending)
        except Exception as exc:
            broken = _broken(exc)
            if broken is None:
                raise
            raise broken from exc

    def close(self) -> None:
        self._ctx.close()


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
