"""An actor's mailbox: a synchronous queue with an overflow policy (no I/O, no awaiting).

Theory of operation
-------------------
The mailbox is plain state: a ``list`` of waiting messages, a ``limit`` and at most one wake-up
future (set by the actor's loop while it waits for mail). Everything here is synchronous, so it
can be tested without a loop and the hot path stays short:

- :meth:`Mailbox.offer` appends when ``len(queue) < limit`` and, if the actor is waiting, resolves
  its wake-up future. ``limit`` folds "unbounded" (``sys.maxsize``), "bounded" (the capacity) and
  "closed" (``-1``) into the one comparison a ``tell`` pays for.
- :meth:`Mailbox.take` hands the actor the *whole* queue (swapping in a fresh list), so the actor
  drains a burst with one call however many messages it holds.
- When the queue is full, the policy decides (:class:`Outcome`): ``BLOCK`` makes the sender wait
  for room (``tell`` raises :class:`~hyphal.WouldBlock`), ``DROP_NEWEST`` rejects the arriving
  message, ``DROP_OLDEST`` evicts the oldest one. Rejected messages are returned to the caller,
  which routes them to dead letters -- nothing disappears silently.

A bounded mailbox holds up to ``capacity`` messages the actor has not taken yet; the batch the
actor is working through is already out of it.
"""

from __future__ import annotations

import asyncio
import enum
import sys
from dataclasses import dataclass
from typing import Any

from hyphal._core.channel import Overflow
from hyphal.actors.hotpath import Ask, MailboxCore

__all__ = ["Ask", "Mailbox", "MailboxSpec", "Outcome"]

_UNBOUNDED = sys.maxsize


@dataclass(frozen=True, slots=True)
class MailboxSpec:
    """How an actor's mailbox behaves: ``capacity=None`` is unbounded (``tell`` never waits and
    never fails); a number bounds it and ``overflow`` picks what happens when it is full
    (``Overflow.BLOCK``, ``DROP_OLDEST`` or ``DROP_NEWEST``). ``SPILL`` is not offered: asks carry
    futures, which cannot be written to disk.

    ``keep_on_restart``: messages queued behind a crashing one stay for the restarted actor
    (``True``, the default); ``False`` sends them to dead letters at the restart.

    Raises ``ValueError`` for a capacity below 1 or an unsupported policy.
    """

    capacity: int | None = None
    overflow: Overflow = Overflow.BLOCK
    """``DROP_OLDEST`` shifts the queue for each eviction (O(capacity)): keep such mailboxes
    modest (thousands, not millions)."""
    keep_on_restart: bool = True

    def __post_init__(self) -> None:
        if self.capacity is not None and (isinstance(self.capacity, bool)
                                          or not isinstance(self.capacity, int)
                                          or self.capacity < 1):
            raise ValueError(f"mailbox capacity must be None (unbounded) or >= 1, "
                             f"not {self.capacity!r}")
        if self.overflow is Overflow.SPILL:
            raise ValueError("Overflow.SPILL is not available for mailboxes (asks carry futures "
                             "that cannot be pickled); use BLOCK, DROP_OLDEST or DROP_NEWEST")
        if not isinstance(self.overflow, Overflow):
            raise TypeError(f"overflow must be a hyphal.Overflow, not {self.overflow!r}")


class Outcome(enum.Enum):
    """What :meth:`Mailbox.offer_full` did with a message that found the fast path shut."""

    ACCEPTED = "accepted"
    """Queued."""
    EVICTED = "evicted"
    """Queued by ``DROP_OLDEST``, which evicted the oldest message (returned)."""
    FULL = "full"
    """A ``BLOCK`` mailbox is full: the sender has to wait for room."""
    REJECTED = "rejected"
    """Dropped by ``DROP_NEWEST``."""
    CLOSED = "closed"
    """The mailbox no longer accepts messages (the actor is stopping or stopped)."""


class Mailbox(MailboxCore):
    """The queue between senders and one actor. See the module docs (``queue``, ``limit``,
    ``waiter`` and :meth:`offer` come from :class:`~hyphal.actors.hotpath.MailboxCore`)."""

    __slots__ = ("capacity", "dropped", "overflow")

    def __init__(self, spec: MailboxSpec) -> None:
        self.queue = []
        self.capacity = _UNBOUNDED if spec.capacity is None else spec.capacity
        self.limit = self.capacity
        self.overflow = spec.overflow
        self.waiter = None
        self.room = None  # senders waiting under BLOCK
        self.dropped = 0

    @property
    def closed(self) -> bool:
        return self.limit < 0

    def __len__(self) -> int:
        return len(self.queue)

    def offer_full(self, msg: Any) -> tuple[Outcome, Any]:
        """Apply the overflow policy to ``msg``; returns the outcome and the message that was
        discarded (the evicted oldest one, or ``msg`` itself when rejected; else None)."""
        if self.limit < 0:
            return Outcome.CLOSED, msg
        if self.offer(msg):
            return Outcome.ACCEPTED, None
        policy = self.overflow
        if policy is Overflow.BLOCK:
            return Outcome.FULL, msg
        self.dropped += 1
        if policy is Overflow.DROP_NEWEST:
            return Outcome.REJECTED, msg
        evicted = self.queue.pop(0)
        self.queue.append(msg)
        return Outcome.EVICTED, evicted

    def take(self) -> list[Any]:
        """Everything queued, oldest first; the mailbox is empty afterwards."""
        q = self.queue
        self.queue = []
        if self.room:
            self._admit()
        return q

    def put_back(self, msgs: list[Any]) -> None:
        """Return unprocessed messages to the front of the queue (after a crash)."""
        if msgs:
            self.queue[:0] = msgs

    def close(self) -> None:
        """Stop accepting messages. Queued messages stay for the actor to drain; senders
        waiting for room are woken (they will find the mailbox closed)."""
        self.limit = -1
        self._admit()
        w = self.waiter
        if w is not None:  # let an idle actor notice that it should stop
            self.waiter = None
            w.set_result(None)

    def wait_for_room(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = loop.create_future()
        if self.room is None:
            self.room = []
        self.room.append(fut)
        return fut

    def _admit(self) -> None:
        room, self.room = self.room, None
        for fut in room or ():
            if not fut.done():
                fut.set_result(None)
