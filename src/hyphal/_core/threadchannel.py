"""``ThreadChannel``: a channel between OS threads and event-loop tasks.

Threads use blocking calls (``send_sync``/``recv_sync``), tasks the async ones; any mix works
(thread -> task, task -> thread, thread -> thread, task -> task). One ``threading.Lock``
guards a deque. The loop is woken with ``call_soon_threadsafe`` only when a task is actually
waiting, and at most once per wait, so a busy stream of items from a thread costs a lock and
an append per item, not a loop wake-up per item.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from hyphal._core.errors import ClosedResourceError, EndOfChannel, WouldBlock

__all__ = ["ThreadChannel", "ThreadChannelStatistics"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ThreadChannelStatistics:
    capacity: int | None
    buffered: int
    sent: int
    received: int
    closed: bool


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class ThreadChannel(Generic[T]):
    """A bounded (``capacity >= 1``) or unbounded (``None``) FIFO usable from threads and
    tasks alike.

    ``close()`` (from any thread) wakes every waiter: senders get
    :class:`ClosedResourceError`, receivers drain what is left and then :class:`EndOfChannel`.
    Blocking calls take an optional ``timeout`` and raise ``TimeoutError`` when it passes.
    """

    def __init__(self, capacity: int | None) -> None:
        if capacity is not None and capacity < 1:
            raise ValueError(
                f"ThreadChannel needs capacity >= 1 or None (unbounded), not {capacity}")
        self._cap = capacity if capacity is not None else 1 << 62
        self._buf: deque[T] = deque()
        self._lock = threading.Lock()
        self._not_full = threading.Condition(self._lock)
        self._not_empty = threading.Condition(self._lock)
        self._thread_senders = 0  # threads blocked in send_sync
        self._async_recv: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._async_send: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._sent = 0
        self._received = 0
        self._closed = False

    def statistics(self) -> ThreadChannelStatistics:
        with self._lock:
            cap = None if self._cap == 1 << 62 else self._cap
            return ThreadChannelStatistics(cap, len(self._buf), self._sent, self._received,
                                           self._closed)

    # -- internals (call with the lock held) -------------------------------------------------

    def _put(self, item: T) -> None:
        self._buf.append(item)
        self._sent += 1
        if self._async_recv:
            for loop, fut in self._async_recv:
                loop.call_soon_threadsafe(_wake, fut)
            self._async_recv.clear()
        self._not_empty.notify()

    def _took(self) -> None:
        self._received += 1
        if self._async_send:
            for loop, fut in self._async_send:
                loop.call_soon_threadsafe(_wake, fut)
            self._async_send.clear()
        if self._thread_senders:
            self._not_full.notify()

    def _check_send(self) -> None:
        if self._closed:
            raise ClosedResourceError("send on a closed ThreadChannel")

    # -- thread side -------------------------------------------------------------------------

    def send_sync(self, item: T, timeout: float | None = None) -> None:
        """Blocking send for threads; do not call it from the event loop (use ``send``)."""
        with self._lock:
            self._check_send()
            if len(self._buf) >= self._cap:
                self._thread_senders += 1
                try:
                    if not self._not_full.wait_for(
                            lambda: self._closed or len(self._buf) < self._cap, timeout):
                        raise TimeoutError("send_sync() timed out waiting for room")
                finally:
                    self._thread_senders -= 1
                self._check_send()
            self._put(item)

    def recv_sync(self, timeout: float | None = None) -> T:
        """Blocking receive for threads; raises :class:`EndOfChannel` once closed and
        drained."""
        with self._lock:
            if not self._buf:
                if not self._not_empty.wait_for(lambda: self._closed or self._buf, timeout):
                    raise TimeoutError("recv_sync() timed out waiting for an item")
                if not self._buf:
                    raise EndOfChannel("the ThreadChannel is closed and drained")
            item = self._buf.popleft()
            self._took()
            return item

    # -- either side -------------------------------------------------------------------------

    def send_nowait(self, item: T) -> None:
        with self._lock:
            self._check_send()
            if len(self._buf) >= self._cap:
                raise WouldBlock("the ThreadChannel is full")
            self._put(item)

    def recv_nowait(self) -> T:
        with self._lock:
            if not self._buf:
                if self._closed:
                    raise EndOfChannel("the ThreadChannel is closed and drained")
                raise WouldBlock("the ThreadChannel is empty")
            item = self._buf.popleft()
            self._took()
            return item

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for loop, fut in self._async_recv + self._async_send:
                loop.call_soon_threadsafe(_wake, fut)
            self._async_recv.clear()
            self._async_send.clear()
            self._not_empty.notify_all()
            self._not_full.notify_all()

    # -- task side ---------------------------------------------------------------------------

    async def send(self, item: T) -> None:
        """Send from a task, waiting (without blocking the loop) while the channel is full."""
        while True:
            with self._lock:
                self._check_send()
                if len(self._buf) < self._cap:
                    self._put(item)
                    return
                loop = asyncio.get_running_loop()
                fut: asyncio.Future[None] = loop.create_future()
                self._async_send.append((loop, fut))
            try:
                await fut
            except asyncio.CancelledError:
                with self._lock:
                    try:
                        self._async_send.remove((loop, fut))
                    except ValueError:
                        pass
                raise

    async def recv(self) -> T:
        """Receive from a task, waiting (without blocking the loop) for an item."""
        while True:
            with self._lock:
                buf = self._buf
                if buf:
                    item = buf.popleft()
                    self._received += 1
                    if self._async_send or self._thread_senders:
                        self._received -= 1
                        self._took()
                    return item
                if self._closed:
                    raise EndOfChannel("the ThreadChannel is closed and drained")
                loop = asyncio.get_running_loop()
                fut: asyncio.Future[None] = loop.create_future()
                self._async_recv.append((loop, fut))
            try:
                await fut
            except asyncio.CancelledError:
                with self._lock:
                    try:
                        self._async_recv.remove((loop, fut))
                    except ValueError:
                        pass
                raise

    async def recv_many(self, max_items: int) -> list[T]:
        """Receive between 1 and ``max_items`` items in one go (one lock round trip)."""
        first = await self.recv()
        with self._lock:
            buf = self._buf
            n = min(len(buf), max_items - 1)
            out = [first]
            out.extend([buf.popleft() for _ in range(n)])
            if n:
                self._received += n - 1
                self._took()
            return out

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[T]:
        while True:
            try:
                yield await self.recv()
            except EndOfChannel:
                return

    def __iter__(self) -> ThreadChannel[T]:
        return self

    def __next__(self) -> T:
        try:
            return self.recv_sync()
        except EndOfChannel:
            raise StopIteration from None
