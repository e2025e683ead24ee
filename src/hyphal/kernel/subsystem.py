"""Subsystems: named groups of routes with their own inbox, workers and lifecycle hooks.

A subsystem owns the routes and subscriptions of one ``subsystem://`` prefix. While its kernel
runs it has an *inbox* (a bounded :class:`hyphal.Channel`) and ``concurrency`` worker tasks that
take messages from it in batches and await their handlers. Sync handlers never use the inbox:
the kernel calls them inline. Async handlers are queued here by ``send``/``publish`` and awaited
inline by ``request``/``send_batch``/``send_sequence``.

Backpressure: when the inbox is full, ``send`` waits for room (``when_full="wait"``, the
default) or raises :class:`hyphal.WouldBlock` (``when_full="raise"``); ``send_nowait`` always
raises. A worker takes messages out of the inbox in batches of ``batch_size`` (a quarter of the
inbox, at most 256), so at most ``inbox + concurrency * batch_size`` messages are accepted and
not yet handled. With one worker (the default) queued messages are handled in the order they
were sent.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from hyphal._core.channel import _DONE, Channel
from hyphal._core.errors import EndOfChannel, WouldBlock
from hyphal._core.tasks import TaskHandle
from hyphal._core.tasks import resume as _resume
from hyphal.kernel.message import Message, _current, _speedups
from hyphal.kernel.middleware import Handler, Middleware, compose, is_async
from hyphal.kernel.paths import Pattern, parse_pattern, split_path
from hyphal.kernel.routing import AmbiguousRoute
from hyphal.kernel.stats import (
    BUCKETS,
    LATENCY_SAMPLE,
    LatencyHistogram,
    RouteStatistics,
    SubsystemStatistics,
)

if TYPE_CHECKING:
    from hyphal.kernel.kernel import Kernel

__all__ = ["Subsystem"]

logger = logging.getLogger("hyphal.kernel")
F = TypeVar("F", bound=Callable[..., Any])
Hook = Callable[[], Any]
_set = _current.set
_now = perf_counter_ns
_UNTIMED = LATENCY_SAMPLE - 1  # calls & _UNTIMED == 0: time this one
_NOT_STARTED = None if _speedups is None else _speedups.NOT_STARTED


class _PyRouteCore:
    """The fields ``Kernel.send`` reads on its fast path (``RouteCore`` in C when built)."""

    __slots__ = ("awaits", "calls", "errors", "handler", "hist", "inline")

    handler: Handler
    hist: list[int]
    calls: int
    errors: int
    inline: bool
    awaits: bool


if TYPE_CHECKING:
    _RouteCore = _PyRouteCore
else:
    _RouteCore = _PyRouteCore if _speedups is None else _speedups.RouteCore


class Route(_RouteCore):
    """One registered handler and its counters (internal; see :class:`RouteStatistics`)."""

    __slots__ = ("call", "kind", "pattern", "subsystem")

    def __init__(self, pattern: Pattern, handler: Handler, subsystem: Subsystem,
                 kind: Literal["route", "subscription"], *, awaits: bool = False) -> None:
        if not callable(handler):
            raise TypeError(f"a handler must be callable, not {handler!r}")
        self.pattern = pattern
        self.handler = handler
        self.subsystem = subsystem
        self.kind = kind
        self.calls = 0
        self.errors = 0
        self.hist = [0] * BUCKETS
        self.awaits = awaits
        """A sync handler that answers requests with an awaitable (actor routes): called
        inline by ``send``, awaited through ``call`` when a result is wanted."""
        self.inline = False
        self.call: Callable[[Message], Awaitable[Any]]
        self.compile(())

    def compile(self, kernel_middleware: tuple[Middleware, ...]) -> None:
        chain = (*kernel_middleware, *self.subsystem._middleware)
        self.inline = not chain and not is_async(self.handler)
        self.call = compose(_awaiting(self.handler) if self.awaits else self.handler, chain)

    def start(self) -> int:
        """The clock for a call that will be timed, 0 for one that will not (sampling)."""
        return 0 if self.calls & _UNTIMED else _now()

    def done(self, t0: int) -> None:
        self.calls += 1
        if t0:
            self.hist[(_now() - t0).bit_length()] += 1

    def failed(self, msg: Message, exc: BaseException) -> None:
        self.errors += 1
        logger.error("handler for %r failed on %r", self.pattern.text, msg.path, exc_info=exc)

    def statistics(self) -> RouteStatistics:
        return RouteStatistics(self.pattern.text, self.kind, self.calls, self.errors,
                               LatencyHistogram(tuple(self.hist)))


class Subsystem:
    """A named group of routes (``users://...``) with an inbox, workers and hooks.

    ``inbox``: how many queued messages may wait (``None``: unbounded). ``when_full``:
    ``"wait"`` or ``"raise"`` (see the module docs). ``concurrency``: worker tasks (order per
    subsystem is kept only with 1). Create one standalone and ``await kernel.mount(sub)``, or
    get the kernel's own with ``kernel.subsystem(name)``.

    Raises ``ValueError`` for a malformed name or bad option.
    """

    def __init__(self, name: str, *, inbox: int | None = 1000,
                 when_full: Literal["wait", "raise"] = "wait", concurrency: int = 1) -> None:
        split_path(f"{name}://x")  # validates the name
        if when_full not in ("wait", "raise"):
            raise ValueError(f"when_full must be 'wait' or 'raise', not {when_full!r}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, not {concurrency}")
        if inbox is not None and inbox < 1:
            raise ValueError(f"inbox must be >= 1 or None (unbounded), not {inbox}")
        self.name = name
        self.inbox_capacity = inbox
        self.when_full = when_full
        self.concurrency = concurrency
        self.batch_size = 256 if inbox is None else max(1, min(256, inbox // 4))
        """How many queued messages a worker takes from the inbox at a time."""
        self.routes: list[Route] = []
        self._middleware: list[Middleware] = []
        self._on_start: list[Hook] = []
        self._on_stop: list[Hook] = []
        self._kernel: Kernel | None = None
        self._inbox: Channel[tuple[Message, Route]] | None = None
        self._workers: list[TaskHandle[None]] = []
        self._handled = 0
        self._handled_before = 0  # _handled when the current inbox was created
        self._idle: list[asyncio.Future[None]] = []

    def __repr__(self) -> str:
        state = "running" if self.running else "mounted" if self._kernel else "unmounted"
        return f"<Subsystem {self.name!r} routes={len(self.routes)} {state}>"

    @property
    def running(self) -> bool:
        return self._inbox is not None

    # -- registration ----------------------------------------------------------------------

    @overload
    def route(self, pattern: str) -> Callable[[F], F]: ...
    @overload
    def route(self, pattern: str, handler: F) -> F: ...

    def route(self, pattern: str, handler: F | None = None) -> Any:
        """Register ``handler`` for ``pattern`` (absolute, or relative to this subsystem).

        Use as ``@sub.route("profile/{id}")`` or ``sub.route("profile/{id}", fn)``. Raises
        ``ValueError`` for a malformed pattern and :class:`AmbiguousRoute` when a registered
        route has the same shape."""
        return self._register(pattern, handler, "route")

    @overload
    def subscribe(self, pattern: str) -> Callable[[F], F]: ...
    @overload
    def subscribe(self, pattern: str, handler: F) -> F: ...

    def subscribe(self, pattern: str, handler: F | None = None) -> Any:
        """Register ``handler`` to receive every ``publish`` matching ``pattern`` (any number
        of subscribers per pattern). Used like :meth:`route`."""
        return self._register(pattern, handler, "subscription")

    def _register(self, pattern: str, handler: F | None,
                  kind: Literal["route", "subscription"], *, awaits: bool = False) -> Any:
        parsed = parse_pattern(pattern, subsystem=self.name)

        def add(fn: F) -> F:
            route = Route(parsed, fn, self, kind, awaits=awaits)
            if self._kernel is not None:
                self._kernel._add_route(route)  # may raise AmbiguousRoute
            else:
                self._check_local(route)
            self.routes.append(route)
            return fn

        return add if handler is None else add(handler)

    def _check_local(self, route: Route) -> None:
        if route.kind != "route":
            return
        for other in self.routes:
            if other.kind == "route" and other.pattern.shape == route.pattern.shape:
                raise AmbiguousRoute(
                    f"route {route.pattern.text!r} is ambiguous with the registered "
                    f"{other.pattern.text!r}: both match the same paths with the same priority")

    def use(self, middleware: Middleware) -> Middleware:
        """Add middleware around this subsystem's handlers (inside the kernel's; see
        :mod:`hyphal.kernel.middleware` for the order). Usable as a decorator."""
        self._middleware.append(middleware)
        kernel_mw = tuple(self._kernel._middleware) if self._kernel is not None else ()
        for route in self.routes:
            route.compile(kernel_mw)
        return middleware

    def on_start(self, fn: F) -> F:
        """Run ``fn()`` (sync or async) when the subsystem starts: when its kernel starts, or
        when it is mounted on a running kernel."""
        self._on_start.append(fn)
        return fn

    def on_stop(self, fn: F) -> F:
        """Run ``fn()`` when the subsystem stops, after its inbox has drained."""
        self._on_stop.append(fn)
        return fn

    # -- running -----------------------------------------------------------------------------

    async def _start(self, spawn: Callable[..., TaskHandle[None]]) -> None:
        self._inbox = Channel(self.inbox_capacity)
        self._handled_before = self._handled
        put = self._inbox.send if self.when_full == "wait" else self._put_or_raise
        self._put = put  # type: ignore[method-assign]
        self._workers = [spawn(self._work, name=f"hyphal.kernel:{self.name}")
                         for _ in range(self.concurrency)]
        await _run_hooks(self._on_start)

    async def _stop(self, *, run_hooks: bool = True) -> None:
        inbox = self._inbox
        if inbox is None:
            return
        inbox.close()
        for worker in self._workers:
            await worker
        self._abandon()
        if run_hooks:
            await _run_hooks(self._on_stop)

    def _abandon(self) -> None:
        """Forget the inbox and workers (after they finished, or were cancelled)."""
        self._workers = []
        self._inbox = None
        self.__dict__.pop("_put", None)  # back to the class's "not running" method
        self._wake_idle()

    def _put(self, item: tuple[Message, Route]) -> Awaitable[None]:
        """Queue ``item`` for the workers (replaced by the inbox's own method while running)."""
        raise RuntimeError(
            f"subsystem {self.name!r} is not running: mount it on a running kernel")

    def _put_nowait(self, item: tuple[Message, Route]) -> None:
        inbox = self._inbox
        if inbox is None:
            self._put(item)
            return
        try:
            inbox.send_nowait(item)
        except WouldBlock:
            raise WouldBlock(
                f"the inbox of subsystem {self.name!r} is full ({self.inbox_capacity} "
                "messages): await kernel.send(...) with when_full='wait' to wait for room, or "
                "give the subsystem a larger inbox") from None

    def _put_or_raise(self, item: tuple[Message, Route]) -> Awaitable[None]:
        self._put_nowait(item)
        return _DONE

    async def _work(self) -> None:
        inbox = self._inbox
        assert inbox is not None
        recv_many = inbox.recv_many
        size = self.batch_size
        handle = _handle_batch if _speedups is None else _handle_batch_c
        while True:
            try:
                batch = await recv_many(size)
            except EndOfChannel:
                return
            try:
                await handle(batch)
            finally:
                self._handled += len(batch)
                batch.clear()  # do not keep the last batch's messages alive while idle
            if self._idle and not self._pending(inbox):
                self._wake_idle()

    def _pending(self, inbox: Channel[Any]) -> int:
        """Messages accepted by the inbox and not yet handled."""
        return inbox.items_sent - (self._handled - self._handled_before)

    def _wake_idle(self) -> None:
        idle, self._idle = self._idle, []
        for fut in idle:
            if not fut.done():
                fut.set_result(None)

    async def drain(self) -> None:
        """Wait until every queued message has been handled."""
        while self._inbox is not None and self._pending(self._inbox):
            fut = asyncio.get_running_loop().create_future()
            self._idle.append(fut)
            await fut

    def statistics(self) -> SubsystemStatistics:
        inbox = self._inbox
        stats = inbox.statistics() if inbox is not None else None
        return SubsystemStatistics(
            name=self.name,
            running=inbox is not None,
            inbox_depth=len(inbox) if inbox is not None else 0,
            inbox_capacity=self.inbox_capacity,
            waiting_senders=stats.waiting_senders if stats is not None else 0,
            handled=self._handled,
            routes=len(self.routes),
        )


async def _handle_batch(batch: list[tuple[Message, Route]]) -> None:
    """A worker's batch, one message after the other (pure Python; see _handle_batch_c)."""
    for msg, route in batch:
        _set(msg)  # the worker task's own context: no need to restore it
        t0 = route.start()
        try:
            await route.call(msg)
        except Exception as exc:
            route.failed(msg, exc)
        route.done(t0)


async def _handle_batch_c(batch: list[tuple[Message, Route]]) -> None:
    """The same with the C runner: handlers that finish without suspending run in one C loop;
    one that suspends is finished here, then the runner goes on after it."""
    run_ready = _speedups.run_ready
    i = 0
    while True:
        left = run_ready(batch, i)
        if left is None:
            return
        i, awaitable, pending, t0 = left
        msg, route = batch[i]
        try:
            if pending is _NOT_STARTED:
                await awaitable
            else:
                await _resume(awaitable, pending)
        except Exception as exc:
            route.failed(msg, exc)
        route.done(t0)
        i += 1


def _awaiting(handler: Handler) -> Callable[[Message], Awaitable[Any]]:
    async def call(msg: Message) -> Any:
        pending = handler(msg)
        return None if pending is None else await pending
    return call


async def _run_hooks(hooks: list[Hook]) -> None:
    for hook in hooks:
        result = hook()
        if inspect.isawaitable(result):
            await result

