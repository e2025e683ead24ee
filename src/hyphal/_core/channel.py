"""Channels: FIFO queues between tasks, from rendezvous to unbounded, with overflow policies.

Theory of operation
-------------------
One :class:`Channel` object holds the whole state: a buffer (``deque``), and -- created on first
need -- a queue of waiting receivers and one of waiting senders. Each waiter is a ``_Waiter``
holding a future; :func:`hyphal.select` registers waiters that share one future on several
channels, so whichever channel completes first "claims" the select and the others see a done
future and skip it.

Invariants, which every method keeps:

- receivers wait only while the buffer (and the spill file) is empty;
- senders wait only while the buffer is at capacity (always, for capacity 0);
- items move *directly* to a waiting receiver (its future gets the item), and a waiting sender's
  item moves into the buffer as soon as there is room (its future gets ``None``).

Speed comes from fast paths that never suspend: ``send`` is a plain method that appends and
returns an already-completed future when there is room and nobody waits (``_limit`` folds
"buffer allocated, open, not spilling" into one comparison); ``recv`` pops without suspending
whenever the buffer has items. The buffer ``deque`` (760 bytes) is allocated on the first send,
so an idle channel stays under 1 KiB.

Cancellation never loses an item: a receiver that was handed an item and is cancelled before it
resumes gives the item back (to the next waiting receiver, or the front of the buffer). A sender
whose item was already moved into the buffer when the cancellation arrived has *delivered* it;
the ``CancelledError`` it raises then carries a note saying so (see :func:`send_was_delivered`).
"""

from __future__ import annotations

import asyncio
import enum
import sys
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from hyphal._core.errors import ClosedResourceError, EndOfChannel, WouldBlock
from hyphal._core.native import load_speedups
from hyphal._core.spill import SpillQueue
from hyphal._core.stats import register_channel, retire_channel

_speedups: Any = load_speedups("hyphal._core")  # None: the pure-Python fast paths take over

__all__ = [
    "DELIVERED_NOTE",
    "Channel",
    "ChannelClone",
    "ChannelStatistics",
    "Overflow",
    "send_was_delivered",
]

T = TypeVar("T")
_CancelledError = asyncio.CancelledError
_UNBOUNDED = sys.maxsize

DELIVERED_NOTE = "hyphal: the item was delivered before this send was cancelled"


def send_was_delivered(exc: BaseException) -> bool:
    """True if ``exc`` (a ``CancelledError`` out of ``send``/``send_batch``/``select``) arrived
    after the item had already been accepted by the channel."""
    return DELIVERED_NOTE in getattr(exc, "__notes__", ())


class _NoLoop:
    """Lets us build one completed Future at import time, outside any loop."""

    def get_debug(self) -> bool:
        return False


_DONE: asyncio.Future[None] = asyncio.Future(loop=_NoLoop())  # type: ignore[arg-type]
_DONE.set_result(None)
"""Returned by ``send`` on its fast path: awaiting a completed future costs ~30 ns."""


class Overflow(enum.Enum):
    """What a bounded channel does with an item that arrives while it is full."""

    BLOCK = "block"
    """The sender waits for room (``send_nowait`` raises :class:`WouldBlock`)."""
    DROP_OLDEST = "drop_oldest"
    """The oldest buffered item is discarded to make room; counted in ``dropped``."""
    DROP_NEWEST = "drop_newest"
    """The arriving item is discarded; counted in ``dropped``."""
    SPILL = "spill"
    """Items past capacity go to a temporary file, in order; nothing is lost and memory stays
    bounded by the capacity. Items must be picklable. The file is removed on close."""


@dataclass(frozen=True, slots=True)
class ChannelStatistics:
    capacity: int | None
    overflow: Overflow
    buffered: int
    """Items in memory."""
    spilled: int
    """Items waiting in the spill file."""
    sent: int
    """Items accepted (including those later dropped)."""
    received: int
    dropped: int
    waiting_senders: int
    waiting_receivers: int
    open_handles: int
    closed: bool


_NO_BUFFER: Any = ()
"""Stands in for the buffer until the first send: empty, falsy, and loud if appended to."""


class _Waiter:
    __slots__ = ("fut", "index", "item")

    def __init__(self, fut: asyncio.Future[Any], index: int, item: Any = None) -> None:
        self.fut = fut
        self.index = index  # -1: a plain send/recv; >= 0: position in a select()
        self.item = item


def _resolve(waiter: _Waiter, value: Any) -> None:
    waiter.fut.set_result(value if waiter.index < 0 else (waiter.index, value))


_EMPTY: Any = object()
"""What ``_pop_front`` returns when the buffer is empty."""


class _PyChannelCore:
    """The fast paths of :class:`Channel` in Python; ``_speedups.ChannelCore`` is the same in C.

    Each method handles the case that needs no waiting and otherwise calls the subclass's
    slow path, which holds all the real logic.
    """

    __slots__ = ("_buf", "_limit", "_received", "_rw", "_sw")

    _buf: Any
    _limit: int
    _received: int
    _rw: deque[_Waiter] | None
    _sw: deque[_Waiter] | None

    def send(self, item: Any) -> Awaitable[None]:
        buf = self._buf
        if len(buf) < self._limit and not self._rw:
            buf.append(item)
            return _DONE
        return self._send_wait(item, True)

    def send_nowait(self, item: Any) -> None:
        buf = self._buf
        if len(buf) < self._limit and not self._rw:
            buf.append(item)
            return
        self._send_nowait_slow(item)

    async def recv(self) -> Any:
        item = self._pop_front()
        return item if item is not _EMPTY else await self._recv_wait()

    def recv_nowait(self) -> Any:
        item = self._pop_front()
        return item if item is not _EMPTY else self._recv_nowait_slow()

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Any:
        item = self._pop_front()
        return item if item is not _EMPTY else await self._anext_slow()

    # implemented by Channel
    def _pop_front(self) -> Any: ...
    async def _send_wait(self, item: Any, primary: bool) -> None: ...
    def _send_nowait_slow(self, item: Any) -> None: ...
    async def _recv_wait(self) -> Any: ...
    def _recv_nowait_slow(self) -> Any: ...
    async def _anext_slow(self) -> Any: ...
    def _admit_senders(self) -> None: ...


if TYPE_CHECKING:
    _ChannelCore = _PyChannelCore
elif _speedups is not None:
    _ChannelCore = _speedups.ChannelCore
else:
    _ChannelCore = _PyChannelCore

speedups: Any = _speedups
"""The compiled module, or None (pure Python)."""

SPEEDUPS = _speedups is not None
"""True when the C fast paths are in use (set ``HYPHAL_PURE_PYTHON=1`` to turn them off)."""


class Channel(_ChannelCore, Generic[T]):
    """A FIFO channel between tasks; safe for many producers and many consumers.

    ``capacity``: ``0`` is a rendezvous (a send waits for its receiver), ``N`` buffers up to N
    items, ``None`` is unbounded. ``overflow`` chooses what a full bounded channel does (see
    :class:`Overflow`); the drop and spill policies need ``capacity >= 1``. ``spill_dir``
    places the spill file (default: the system temp dir).

    Closing: ``close()`` closes this handle. Once every handle (the channel and its
    :meth:`clone` s) is closed, the channel is closed: waiting senders get
    :class:`ClosedResourceError` (their item was not delivered), receivers drain what is left
    and then get :class:`EndOfChannel` (``async for`` simply ends).

    Order: items leave the channel in the order they were sent (FIFO per producer). With
    several consumers, a receiver that is cancelled right after being handed an item puts it
    back in front, so another consumer may then see it after a later one.

    Raises ``ValueError`` for a negative capacity or a policy that needs a buffer.
    """

    __slots__ = ("__weakref__", "_capacity", "_closed", "_dropped", "_open", "_overflow",
                 "_primary_open", "_spill", "_spill_dir")

    def __init__(self, capacity: int | None, overflow: Overflow = Overflow.BLOCK, *,
                 spill_dir: str | None = None) -> None:
        if capacity is not None:
            if not isinstance(capacity, int) or isinstance(capacity, bool):
                raise TypeError(f"capacity must be an int or None, not {capacity!r}")
            if capacity < 0:
                raise ValueError(
                    f"capacity must be >= 0 (0 = rendezvous, None = unbounded), not {capacity}")
        if not isinstance(overflow, Overflow):
            raise TypeError(f"overflow must be a hyphal.Overflow, not {overflow!r}")
        if overflow is not Overflow.BLOCK and not capacity:
            raise ValueError(
                f"Overflow.{overflow.name} needs a buffer: use capacity >= 1 "
                f"(capacity={capacity!r} {'never fills' if capacity is None else 'has none'})")
        self._capacity = _UNBOUNDED if capacity is None else capacity
        # _limit is the fast-path bound: capacity once the buffer exists, -1 once closed,
        # 0 while spilling. The C Ring allocates its storage on first use, so it can exist
        # from the start; the Python fallback's deque (760 bytes) waits for the first send.
        if _speedups is not None:
            self._buf = _speedups.Ring()
            self._limit = self._capacity
        else:
            self._buf = _NO_BUFFER
            self._limit = 0
        self._overflow = overflow
        self._rw = None
        self._sw = None
        self._spill: SpillQueue | None = None
        self._spill_dir = spill_dir
        self._received = 0
        self._dropped = 0
        self._open = 1  # open handles
        self._primary_open = True
        self._closed = False
        register_channel(self)

    def __repr__(self) -> str:
        cap = "unbounded" if self._capacity == _UNBOUNDED else self._capacity
        state = "closed" if self._closed else "open"
        return f"<Channel capacity={cap} buffered={len(self._buf)} {state}>"

    def __del__(self) -> None:
        try:
            retire_channel(self.items_sent, self._received)
            if self._spill is not None:
                self._spill.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    # -- properties --------------------------------------------------------------------------

    @property
    def capacity(self) -> int | None:
        return None if self._capacity == _UNBOUNDED else self._capacity

    @property
    def overflow(self) -> Overflow:
        return self._overflow

    @property
    def closed(self) -> bool:
        """True once every handle is closed."""
        return self._closed

    @property
    def items_sent(self) -> int:
        spilled = len(self._spill) if self._spill is not None else 0
        return self._received + len(self._buf) + spilled + self._dropped

    @property
    def items_received(self) -> int:
        return self._received

    def __len__(self) -> int:
        """Items waiting to be received (buffered and spilled)."""
        return len(self._buf) + (len(self._spill) if self._spill is not None else 0)

    def statistics(self) -> ChannelStatistics:
        return ChannelStatistics(
            capacity=self.capacity,
            overflow=self._overflow,
            buffered=len(self._buf),
            spilled=len(self._spill) if self._spill is not None else 0,
            sent=self.items_sent,
            received=self._received,
            dropped=self._dropped,
            waiting_senders=sum(1 for w in self._sw or () if not w.fut.done()),
            waiting_receivers=sum(1 for w in self._rw or () if not w.fut.done()),
            open_handles=self._open,
            closed=self._closed,
        )

    # -- sending -----------------------------------------------------------------------------

    if TYPE_CHECKING:  # the fast paths come from the base class; these are their types

        def send(self, item: T) -> Awaitable[None]:
            """Send ``item``, waiting for room under ``Overflow.BLOCK``.

            ``send`` takes the item when it is *called* and returns an awaitable; await it.
            (Its fast path returns a completed future, so use ``asyncio.ensure_future``,
            not ``create_task``, to run it in the background.) Raises
            :class:`ClosedResourceError` if this handle or the channel is closed (also when
            the channel closes while the send waits; the item is then not delivered). If the
            send is cancelled, the item was not delivered -- unless the ``CancelledError``
            carries :data:`DELIVERED_NOTE` (check with :func:`send_was_delivered`).
            """

        def send_nowait(self, item: T) -> None:
            """Send without waiting. Raises :class:`WouldBlock` when a ``BLOCK`` channel is
            full (or, for capacity 0, when no receiver is waiting),
            :class:`ClosedResourceError` when closed."""

        def recv(self) -> Awaitable[T]:  # type: ignore[override]
            """Receive the oldest item, waiting for one. Raises :class:`EndOfChannel` once the
            channel is closed and drained. A cancelled ``recv`` never consumes an item. When an
            item is ready, ``recv()`` takes it as it is called: await what it returns."""

        def recv_nowait(self) -> T:
            """Receive without waiting. Raises :class:`WouldBlock` when nothing is ready,
            :class:`EndOfChannel` when closed and drained."""

        def __aiter__(self) -> AsyncIterator[T]: ...

        def __anext__(self) -> Awaitable[T]: ...  # type: ignore[override]

    def _send_nowait_slow(self, item: T) -> None:
        if not self._offer(item, True):
            raise WouldBlock("the channel is full; await send() to wait for room")

    def _check_open(self, primary: bool) -> None:
        if primary and not self._primary_open:
            raise ClosedResourceError(
                "send on a channel handle you closed; clone() it first if other tasks still "
                "send through it")
        if self._closed:
            raise ClosedResourceError("send on a closed channel")

    def _allocate(self) -> Any:
        buf = self._buf = deque()
        if self._primary_open and not self._closed:
            self._limit = self._capacity
        return buf

    def _offer(self, item: T, primary: bool) -> bool:
        """Try to place ``item`` without waiting; False means the sender has to wait."""
        self._check_open(primary)
        if self._buf is _NO_BUFFER:
            self._allocate()
        rw = self._rw
        while rw:  # a receiver waits: the buffer is empty, hand the item over directly
            w = rw.popleft()
            if not w.fut.done():
                self._received += 1
                _resolve(w, item)
                return True
        buf = self._buf
        spill = self._spill
        if spill is not None and len(spill):
            spill.push(item)  # keep order: everything goes to the file while it has items
            return True
        if len(buf) < self._capacity:
            buf.append(item)
            return True
        policy = self._overflow
        if policy is Overflow.BLOCK:
            return False
        if policy is Overflow.DROP_OLDEST:
            buf.popleft()
            buf.append(item)
            self._dropped += 1
        elif policy is Overflow.DROP_NEWEST:
            self._dropped += 1
        else:  # SPILL
            if spill is None:
                spill = self._spill = SpillQueue(self._spill_dir)
            spill.push(item)
            self._limit = 0  # route every send through _offer until the file drains
        return True

    async def _send_wait(self, item: T, primary: bool) -> None:
        if self._offer(item, primary):
            return
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(fut, -1, item)
        if self._sw is None:
            self._sw = deque()
        self._sw.append(waiter)
        try:
            await fut
        except _CancelledError as exc:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                exc.add_note(DELIVERED_NOTE)
            else:
                self._forget(self._sw, waiter)
            raise

    async def send_batch(self, items: Iterable[T]) -> None:
        """Send every item in order, waiting for room as needed (one wake-up per batch of
        room, not per item). On cancellation, items before the one being sent were delivered;
        see :meth:`send` for that one."""
        buf = self._buf
        it = iter(items)
        if not self._rw and len(buf) < self._limit:
            room = self._limit - len(buf)
            if room >= _UNBOUNDED // 2:
                buf.extend(it)
                return
            for item in it:
                buf.append(item)
                room -= 1
                if not room:
                    break
        for item in it:
            await self.send(item)

    # -- receiving ---------------------------------------------------------------------------

    def _pop_front(self) -> Any:
        """The oldest buffered item (admitting a waiting sender into the freed room), or
        ``_EMPTY``. The C core inlines the same steps."""
        buf = self._buf
        if not buf:
            return _EMPTY
        item = buf.popleft()
        self._received += 1
        if self._sw:
            self._admit_senders()
        return item

    def _recv_nowait_slow(self) -> T:
        ok, item = self._take()
        if ok:
            return item
        raise WouldBlock("the channel is empty; await recv() to wait for an item")

    def _take(self) -> tuple[bool, T]:
        """Receive from the spill file or a waiting sender (the buffer is empty)."""
        spill = self._spill
        if spill is not None and len(spill):
            self._refill()
            buf = self._buf
            self._received += 1
            item = buf.popleft()
            return True, item
        sw = self._sw
        while sw:  # rendezvous: take the item straight from a waiting sender
            w = sw.popleft()
            if not w.fut.done():
                _resolve(w, None)
                self._received += 1
                return True, w.item
        if self._closed:
            raise EndOfChannel("the channel is closed and every item has been received")
        return False, None  # type: ignore[return-value]

    def _refill(self) -> None:
        spill = self._spill
        assert spill is not None
        self._buf.extend(spill.pop_many(self._capacity))  # allocated: items went through it
        if not len(spill) and self._primary_open and not self._closed:
            self._limit = self._capacity  # the file drained: sends may take the fast path again

    async def _recv_wait(self) -> T:
        ok, item = self._take()
        if ok:
            return item
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(fut, -1)
        if self._rw is None:
            self._rw = deque()
        self._rw.append(waiter)
        try:
            return await fut
        except _CancelledError:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self._give_back(fut.result())
            else:
                self._forget(self._rw, waiter)
            raise

    def _give_back(self, item: T) -> None:
        """Undo a hand-over to a receiver that was cancelled before it could take the item."""
        self._received -= 1
        rw = self._rw
        while rw:
            w = rw.popleft()
            if not w.fut.done():
                self._received += 1
                _resolve(w, item)
                return
        buf = self._buf if self._buf is not _NO_BUFFER else self._allocate()
        buf.appendleft(item)

    def _admit_senders(self) -> None:
        """Move waiting senders' items into freed buffer room, oldest first."""
        sw = self._sw
        buf = self._buf
        cap = self._capacity
        while sw and len(buf) < cap:
            w = sw.popleft()
            if not w.fut.done():
                buf.append(w.item)
                _resolve(w, None)

    async def recv_many(self, max_items: int) -> list[T]:
        """Receive between 1 and ``max_items`` items: waits for the first, then takes what is
        already there. Raises :class:`EndOfChannel` once closed and drained."""
        if max_items < 1:
            raise ValueError(f"max_items must be >= 1, not {max_items}")
        buf = self._buf
        if not buf:
            first = await self._recv_wait()
            buf = self._buf
            if not buf:
                return [first]
            out = [first]
            max_items -= 1
        else:
            out = []
        n = len(buf)
        if n <= max_items:
            out.extend(buf)
            buf.clear()
        else:
            pop = buf.popleft
            out.extend([pop() for _ in range(max_items)])
            n = max_items
        self._received += n
        if self._sw:
            self._admit_senders()
        return out

    def recv_many_nowait(self, max_items: int) -> list[T]:
        """Take up to ``max_items`` ready items without waiting (an empty list if none).
        Raises :class:`EndOfChannel` once closed and drained."""
        out: list[T] = []
        while len(out) < max_items:
            try:
                out.append(self.recv_nowait())
            except WouldBlock:
                break
            except EndOfChannel:
                if out:
                    break
                raise
        return out

    async def _anext_slow(self) -> T:
        try:
            return await self._recv_wait()
        except EndOfChannel:
            raise StopAsyncIteration from None

    # -- closing and cloning -----------------------------------------------------------------

    def clone(self) -> ChannelClone[T]:
        """Another handle on this channel; the channel closes when every handle is closed.

        Give each producer its own clone and let each close it when done: receivers see
        :class:`EndOfChannel` only after the last producer finished.
        """
        if self._closed:
            raise ClosedResourceError("cannot clone a closed channel")
        self._open += 1
        return ChannelClone(self)

    def close(self) -> None:
        """Close this handle (idempotent); see the class docs for what closing means."""
        if self._primary_open:
            self._primary_open = False
            self._limit = -1
            self._release()

    def _release(self) -> None:
        self._open -= 1
        if self._open == 0:
            self._shut()

    def _shut(self) -> None:
        self._closed = True
        self._limit = -1
        rw, sw = self._rw, self._sw
        self._rw = self._sw = None
        for w in rw or ():
            if not w.fut.done():
                w.fut.set_exception(
                    EndOfChannel("the channel is closed and every item has been received"))
        for w in sw or ():
            if not w.fut.done():
                w.fut.set_exception(ClosedResourceError(
                    "the channel was closed while this send waited; the item was not delivered"))

    def __enter__(self) -> Channel[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def aclose(self) -> None:
        self.close()

    # -- select support ----------------------------------------------------------------------

    def recv_op(self) -> RecvOp[T]:
        """A receive for :func:`hyphal.select`."""
        return RecvOp(self)

    def send_op(self, item: T) -> SendOp[T]:
        """A send of ``item`` for :func:`hyphal.select`."""
        return SendOp(self, item, True)

    @staticmethod
    def _forget(queue: deque[_Waiter] | None, waiter: _Waiter) -> None:
        if queue:
            try:
                queue.remove(waiter)
            except ValueError:
                pass

    def _add_waiter(self, waiter: _Waiter, sending: bool) -> None:
        if sending:
            if self._sw is None:
                self._sw = deque()
            self._sw.append(waiter)
        else:
            if self._rw is None:
                self._rw = deque()
            self._rw.append(waiter)

    def _remove_waiter(self, waiter: _Waiter, sending: bool) -> None:
        self._forget(self._sw if sending else self._rw, waiter)


class ChannelClone(Generic[T]):
    """A second handle on a :class:`Channel`, from :meth:`Channel.clone`: same items, its own
    ``close()``. Sends through a clone take the channel's general path (a coroutine per send);
    keep the original handle for the hottest producer."""

    __slots__ = ("_ch", "_open")

    def __init__(self, channel: Channel[T]) -> None:
        self._ch = channel
        self._open = True

    def __repr__(self) -> str:
        return f"<ChannelClone of {self._ch!r}{'' if self._open else ' (closed handle)'}>"

    def _check(self) -> Channel[T]:
        if not self._open:
            raise ClosedResourceError("this channel handle was closed; use another clone")
        return self._ch

    async def send(self, item: T) -> None:
        await self._check()._send_wait(item, False)

    def send_nowait(self, item: T) -> None:
        if not self._check()._offer(item, False):
            raise WouldBlock("the channel is full; await send() to wait for room")

    async def send_batch(self, items: Iterable[T]) -> None:
        ch = self._check()
        for item in items:
            await ch._send_wait(item, False)

    def recv(self) -> Awaitable[T]:
        return self._ch.recv()

    def recv_nowait(self) -> T:
        return self._ch.recv_nowait()

    def recv_many(self, max_items: int) -> Awaitable[list[T]]:
        return self._ch.recv_many(max_items)

    def __aiter__(self) -> AsyncIterator[T]:
        return self._ch

    def recv_op(self) -> RecvOp[T]:
        return RecvOp(self._ch)

    def send_op(self, item: T) -> SendOp[T]:
        self._check()
        return SendOp(self._ch, item, False)

    def clone(self) -> ChannelClone[T]:
        self._check()
        return self._ch.clone()

    def statistics(self) -> ChannelStatistics:
        return self._ch.statistics()

    @property
    def closed(self) -> bool:
        return self._ch.closed

    def close(self) -> None:
        if self._open:
            self._open = False
            self._ch._release()

    def __enter__(self) -> ChannelClone[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def aclose(self) -> None:
        self.close()


class _PyRecvOpBase:
    __slots__ = ("channel",)

    def __init__(self, channel: Channel[Any]) -> None:
        self.channel = channel


if TYPE_CHECKING:
    _RecvOpBase = _PyRecvOpBase
elif _speedups is not None:
    _RecvOpBase = _speedups.RecvOpBase  # the C select reads the channel from the C struct
else:
    _RecvOpBase = _PyRecvOpBase


class RecvOp(_RecvOpBase, Generic[T]):
    """A receive that :func:`hyphal.select` may perform."""

    __slots__ = ()
    sending = False
    channel: Channel[T]

    def try_now(self) -> tuple[bool, Any]:
        ch = self.channel
        item = ch._pop_front()
        return (True, item) if item is not _EMPTY else ch._take()

    def undo(self, value: Any) -> None:
        self.channel._give_back(value)


class SendOp(Generic[T]):
    """A send of one item that :func:`hyphal.select` may perform."""

    __slots__ = ("channel", "item", "primary")
    sending = True

    def __init__(self, channel: Channel[T], item: T, primary: bool) -> None:
        self.channel = channel
        self.item = item
        self.primary = primary

    def try_now(self) -> tuple[bool, Any]:
        return self.channel._offer(self.item, self.primary), None

    def undo(self, value: Any) -> None:
        """A completed send cannot be taken back (a receiver may have it already)."""
