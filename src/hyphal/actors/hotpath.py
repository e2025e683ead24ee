"""The per-message paths of actors: in C when it was built (``hyphal.actors._speedups``), else
the pure-Python twins below (``HYPHAL_PURE_PYTHON=1`` forces them). Both behave the same, and
the actor test suite runs on both.

Theory of operation
-------------------
Five small objects carry every message:

- :class:`Ask`: the envelope of an ask (message, reply future, send time).
- :class:`CellCore`: the counters of an actor's cell that change per message (``processed``,
  ``asks``, ``latency``).
- :class:`MailboxCore`: the fields a ``tell`` touches -- ``queue`` (a list), ``limit`` (the
  capacity, ``sys.maxsize`` when unbounded, ``-1`` once closed), ``waiter`` (the future a
  parked actor waits on, else None) and ``room`` (senders waiting for room under ``BLOCK``).
  ``offer(msg)`` appends when ``len(queue) < limit`` and wakes a parked actor; the policies
  for a full or closed mailbox live in :class:`~hyphal.actors.mailbox.Mailbox`, its subclass.
- :class:`RefCore`: ``tell(msg)`` is ``offer`` on the ref's mailbox (``_mb``), falling back to
  the ref's ``_offer_slow(msg)`` when the fast path is shut; the wake-up costs a
  ``set_result`` only for the first message after the actor parked. ``ask(msg)`` without a
  timeout, into a mailbox with room, queues an :class:`Ask` and returns its future; every
  other ask is the ref's ``_ask(msg, timeout)``.
- :class:`Drain`: the actor's message loop. ``run()`` takes the whole queue as a batch (one
  list swap) and handles it one message at a time, in order: an ask whose future is already
  done (timed out or cancelled while queued) is skipped; the handler is called and its
  coroutine driven with one ``send(None)`` -- most handlers finish there, without the event
  loop -- and the reply answers the ask. When the actor's ``receive`` never awaits (see
  :mod:`hyphal.actors.inline`) its plain-function twin is called instead and no coroutine is
  made at all. ``run()`` returns only when there is something to wait for: a future to park
  on (the mailbox is empty), :data:`YIELD` (see there), ``(coroutine, yielded)`` when a
  handler suspended -- the actor's task awaits ``resume(coroutine, yielded)`` (from
  ``hyphal._core.tasks``; the awaitable itself for ``NOT_STARTED``) and calls
  ``finish(result)`` -- or None once the mailbox is closed and drained. ``batch[index]`` is
  the message in hand: the one that raised when ``run`` raises, or the one interrupted when
  the task is cancelled. ``processed`` is counted per batch.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any

from hyphal._core.native import load_speedups
from hyphal.actors.stats import LatencyRecorder

__all__ = ["FAIRNESS_BATCH", "NOT_STARTED", "SPEEDUPS", "YIELD", "Ask", "CellCore", "Drain",
           "MailboxCore", "RefCore"]


class _PyAsk:
    """The envelope of an ``ask``: the message, the future its reply resolves, and when it was
    sent (``perf_counter`` seconds, for the ask latency statistics)."""

    __slots__ = ("fut", "msg", "sent")

    def __init__(self, msg: Any, fut: Any, sent: float) -> None:
        self.msg = msg
        self.fut = fut
        self.sent = sent


NOT_STARTED: Any = object()
"""``Drain.run`` returns ``(awaitable, NOT_STARTED)`` when ``receive`` gave something other
than a coroutine: the caller awaits it as it is."""
YIELD: Any = object()
"""``Drain.run`` returns it after ``FAIRNESS_BATCH`` messages when more are queued (so one busy
actor cannot starve the others), and once after answering asks before parking (an asker
usually asks again at once): the actor yields to the loop once (``sleep(0)``)."""
FAIRNESS_BATCH = 256


class _PyCellCore:
    __slots__ = ("asks", "latency", "processed")

    processed: int
    asks: int
    latency: LatencyRecorder | None


class _PyMailboxCore:
    __slots__ = ("limit", "queue", "room", "waiter")

    queue: list[Any]
    limit: int
    waiter: asyncio.Future[None] | None
    room: list[asyncio.Future[None]] | None

    def offer(self, msg: Any) -> bool:
        """Queue ``msg`` if the fast path is open (wake the actor if it is parked); False
        means the mailbox is full or closed."""
        q = self.queue
        if len(q) < self.limit:
            q.append(msg)
            w = self.waiter
            if w is not None:
                self.waiter = None
                w.set_result(None)
            return True
        return False


class _PyRefCore:
    __slots__ = ("_loop", "_mb")

    _mb: _PyMailboxCore
    _loop: asyncio.AbstractEventLoop

    def tell(self, msg: Any) -> None:
        if not self._mb.offer(msg):
            self._offer_slow(msg)  # type: ignore[attr-defined]

    def ask(self, msg: Any, *, timeout: float | None = None) -> Any:
        if timeout is None:
            fut = self._loop.create_future()
            if self._mb.offer(Ask(msg, fut, perf_counter())):
                return fut
        return self._ask(msg, timeout)  # type: ignore[attr-defined]


_NO_BATCH: list[Any] = []  # never changed: the batch of an actor between batches


class _PyDrain:
    __slots__ = ("answered", "batch", "cell", "index", "inline", "loop", "mb", "receive")

    def __init__(self, cell: Any, mailbox: _PyMailboxCore, receive: Callable[[Any], Any],
                 inline: Callable[[Any], Any] | None, loop: asyncio.AbstractEventLoop) -> None:
        self.cell = cell
        self.mb = mailbox
        self.receive = receive
        self.inline = inline
        self.loop = loop
        self.batch: list[Any] = _NO_BATCH
        self.index = 0
        self.answered = False  # an ask was answered since the last park

    def run(self) -> Any:
        """Handle messages until there is something to wait for. Returns a future to await
        when the mailbox is empty (the actor parks on it), :data:`YIELD` (sleep(0) then),
        ``(coroutine, yielded)`` when the handler of ``batch[index]`` suspended (await it
        through ``hyphal._core.tasks.resume``, then call :meth:`finish`), or None once the
        mailbox is closed and drained. Raises what a handler raised, with ``batch[index]``
        the message that failed."""
        inline = self.inline
        handled = 0
        while True:
            batch = self.batch
            i = self.index
            if i >= len(batch):
                if batch:
                    self.cell.processed += len(batch)
                    handled += len(batch)
                    self.batch = _NO_BATCH
                    self.index = 0
                mb = self.mb
                if not mb.queue:
                    if mb.limit < 0:
                        return None  # closed and drained: a graceful stop
                    if self.answered:  # an asker usually asks again at once: let it run
                        self.answered = False
                        return YIELD
                    fut = mb.waiter = self.loop.create_future()
                    return fut  # park until a message arrives
                if handled >= FAIRNESS_BATCH:
                    return YIELD
                self.batch = mb.queue  # Mailbox.take
                mb.queue = []
                if mb.room:
                    mb._admit()  # type: ignore[attr-defined]
                continue
            msg = batch[i]
            if type(msg) is Ask:
                reply = msg.fut
                if reply.done():  # timed out or cancelled while queued
                    self.index = i + 1
                    continue
                arg = msg.msg
            else:
                reply = None
                arg = msg
            if inline is not None:
                try:
                    result = inline(arg)
                except StopIteration as exc:  # what a coroutine would have turned it into
                    raise RuntimeError("coroutine raised StopIteration") from exc
            else:
                coro = self.receive(arg)
                if type(coro) is not types.CoroutineType:
                    return coro, NOT_STARTED
                try:
                    yielded = coro.send(None)
                except StopIteration as stop:
                    result = stop.value
                else:
                    return coro, yielded
            if reply is not None and not reply.done():
                reply.set_result(result)
                self.cell.answered(msg)
                self.answered = True
            self.index = i + 1

    def finish(self, result: Any) -> None:
        """The suspended handler of ``batch[index]`` returned ``result``: answer its ask, if
        it was one, and move on."""
        msg = self.batch[self.index]
        if type(msg) is Ask and not msg.fut.done():
            msg.fut.set_result(result)
            self.cell.answered(msg)
            self.answered = True
        self.index += 1


_speedups: Any = load_speedups("hyphal.actors")
"""The compiled ``hyphal.actors._speedups`` module, or None (pure Python)."""

if TYPE_CHECKING or _speedups is None:
    Ask = _PyAsk
    CellCore = _PyCellCore
    MailboxCore = _PyMailboxCore
    RefCore = _PyRefCore
    Drain = _PyDrain
else:
    _speedups.configure(NOT_STARTED, YIELD, perf_counter)
    Ask = _speedups.Ask
    CellCore = _speedups.CellCore
    MailboxCore = _speedups.MailboxCore
    RefCore = _speedups.RefCore
    Drain = _speedups.Drain

SPEEDUPS = Drain is not _PyDrain
"""True when the C fast paths carry the messages."""
