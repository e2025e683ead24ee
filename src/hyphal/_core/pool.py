"""``ObjectPool``: reuse expensive objects (connections, parsers, JS contexts) across tasks."""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from hyphal._core.errors import ClosedResourceError, WouldBlock

__all__ = ["ObjectPool", "PoolStatistics"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PoolStatistics:
    size: int
    created: int
    """Objects the factory made (including replacements for discarded ones)."""
    reused: int
    """Acquisitions served by an object that had been used before."""
    in_use: int
    idle: int
    high_water: int
    """Most objects in use at once."""
    waiting: int
    discarded: int


class ObjectPool(Generic[T]):
    """At most ``size`` objects made by ``factory`` (sync or async), lent out one task at a
    time.

    ::

        pool = hyphal.ObjectPool(make_parser, size=8, reset=lambda p: p.clear())
        async with pool.borrow() as parser:
            ...

    Objects are created lazily, up to ``size``. ``reset(obj)`` (optional, sync or async) runs
    on release; if it raises, the object is discarded and a new one is made on demand.
    ``acquire(wait=False)`` raises :class:`WouldBlock` instead of waiting; ``acquire(timeout=s)``
    raises ``TimeoutError`` after ``s`` seconds. After ``close()``, acquiring raises
    :class:`ClosedResourceError` and waiting acquirers are woken with it.
    """

    def __init__(self, factory: Callable[[], T | Awaitable[T]], size: int, *,
                 reset: Callable[[T], object] | None = None,
                 close: Callable[[T], object] | None = None) -> None:
        if size < 1:
            raise ValueError(f"size must be >= 1, not {size}")
        self._factory = factory
        self._reset = reset
        self._close_obj = close
        self._size = size
        self._idle: deque[T] = deque()
        self._waiters: deque[asyncio.Future[T | None]] = deque()
        self._in_use = 0
        self._created = 0
        self._reused = 0
        self._high = 0
        self._discarded = 0
        self._closed = False

    def statistics(self) -> PoolStatistics:
        return PoolStatistics(self._size, self._created, self._reused, self._in_use,
                              len(self._idle), self._high,
                              sum(1 for f in self._waiters if not f.done()), self._discarded)

    def _lend(self, obj: T) -> T:
        self._in_use += 1
        if self._in_use > self._high:
            self._high = self._in_use
        return obj

    async def _make(self) -> T:
        self._created += 1
        self._in_use += 1  # reserve the slot while the factory runs
        try:
            made = self._factory()
            if inspect.isawaitable(made):
                made = await made
        except BaseException:
            self._in_use -= 1
            self._created -= 1
            self._wake_one(None)
            raise
        self._in_use -= 1
        return self._lend(cast(T, made))

    async def acquire(self, *, wait: bool = True, timeout: float | None = None) -> T:
        """Borrow an object; give it back with :meth:`release`. See the class docs for errors."""
        if self._closed:
            raise ClosedResourceError("acquire() on a closed pool")
        if self._idle:
            self._reused += 1
            return self._lend(self._idle.popleft())
        if self._in_use < self._size:
            return await self._make()
        if not wait:
            raise WouldBlock(f"all {self._size} objects are in use; acquire() to wait")
        fut: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            if timeout is None:
                obj = await fut
            else:
                async with asyncio.timeout(timeout):
                    obj = await fut
        except BaseException:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                handed = fut.result()
                if handed is not None:
                    self._in_use -= 1
                    self._give(handed)
                else:
                    self._wake_one(None)
            else:
                try:
                    self._waiters.remove(fut)
                except ValueError:
                    pass
            raise
        if obj is None:  # a slot freed up (an object was discarded): make a new one
            return await self._make()
        self._reused += 1
        return obj

    def _wake_one(self, obj: T | None) -> bool:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                if obj is not None:
                    self._lend(obj)
                fut.set_result(obj)
                return True
        return False

    def _give(self, obj: T) -> None:
        if not self._wake_one(obj):
            self._idle.append(obj)

    async def release(self, obj: T, *, discard: bool = False) -> None:
        """Give ``obj`` back. ``discard=True`` (or a failing ``reset``) drops it instead."""
        self._in_use -= 1
        if not discard and self._reset is not None:
            try:
                done = self._reset(obj)
                if inspect.isawaitable(done):
                    await done
            except Exception:
                discard = True
        if discard or self._closed:
            self._discarded += discard
            await self._dispose(obj)
            if not self._closed:
                self._wake_one(None)
            return
        self._give(obj)

    async def _dispose(self, obj: T) -> None:
        if self._close_obj is not None:
            done = self._close_obj(obj)
            if inspect.isawaitable(done):
                await done

    @asynccontextmanager
    async def borrow(self, *, wait: bool = True,
                     timeout: float | None = None) -> AsyncIterator[T]:
        """``async with pool.borrow() as obj``: acquire, and release on exit. An exception
        escaping the block discards the object (it may be in a bad state)."""
        obj = await self.acquire(wait=wait, timeout=timeout)
        try:
            yield obj
        except BaseException:
            await self.release(obj, discard=True)
            raise
        await self.release(obj)

    async def __aenter__(self) -> ObjectPool[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pool: idle objects are closed now, lent ones when released."""
        self._closed = True
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_exception(ClosedResourceError("the pool was closed while waiting"))
        while self._idle:
            await self._dispose(self._idle.popleft())
