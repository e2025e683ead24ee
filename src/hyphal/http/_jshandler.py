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

from hyphal.http._handlers import ContextBroken, HandlerError, LoadedHandler
from hyphal.http._request import Request
from hyphal.http._response import ResponseData

__all__ = ["JSHandlerContext", "load_js_handler"]


_NO_QUERY: dict[str, str] = {}


class JSHandlerContext:
    __slots__ = ("_call", "_ctx")

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx
        self._call = ctx.call

    def call(self, request: Request) -> ResponseData | Awaitable[ResponseData]:
        from hyphal.js.errors import JSLimitError

        raw_url = request.raw_url
        try:
            result = self._call({
                "method": request.method, "url": raw_url.decode("latin-1"),
                "path": request.path, "query": request.query if b"?" in raw_url else _NO_QUERY,
                "headers": request.header_list(), "body": request.body,
            })
        except JSLimitError as exc:
            raise _broken(exc) from exc
        if type(result) is tuple:
            return result
        return self._finish(result)

    async def _finish(self, pending: Awaitable[ResponseData]) -> ResponseData:
        from hyphal.js.errors import JSLimitError

        try:
            return await pending
        except JSLimitError as exc:
            raise _broken(exc) from exc

    def close(self) -> None:
        self._ctx.close()


def _broken(exc: Any) -> ContextBroken:
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
