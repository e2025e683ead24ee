"""Middleware: code that runs around every handler call (timing, auth checks, tracing).

A middleware is ``async def mw(msg, call_next) -> result``; it returns
``await call_next(msg)`` to continue, or returns/raises without calling it to short-circuit.

Order (documented and stable): kernel middleware wraps subsystem middleware, which wraps the
handler. Within each list, the first added is the outermost: with ``kernel.use(a)``,
``kernel.use(b)`` and ``sub.use(c)``, a call runs ``a -> b -> c -> handler`` on the way in and
``handler -> c -> b -> a`` on the way out. Middleware sees requests, sends and publishes alike
(``msg.reply_to`` is set for requests).

A route with middleware is called through an async chain, so a *sync* handler behind
middleware is queued like an async one by ``send`` (it still runs inline for ``request``).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from hyphal.kernel.message import Message

__all__ = ["CallNext", "Handler", "Middleware", "compose"]

CallNext = Callable[[Message], Awaitable[Any]]
Middleware = Callable[[Message, CallNext], Awaitable[Any]]
Handler = Callable[[Message], Any]


def is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None))  # noqa: B004 - async __call__ on an instance


def compose(handler: Handler, middleware: Sequence[Middleware]) -> CallNext:
    """``handler`` wrapped by ``middleware`` (first = outermost) as one async callable."""
    call: CallNext
    if is_async(handler):
        call = handler
    else:
        async def call(msg: Message) -> Any:
            return handler(msg)
    for mw in reversed(middleware):
        call = _link(mw, call)
    return call


def _link(mw: Middleware, nxt: CallNext) -> CallNext:
    def call(msg: Message) -> Awaitable[Any]:
        return mw(msg, nxt)
    return call
