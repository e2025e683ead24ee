"""Typed references to actors: ``tell``, ``ask``, ``stop``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from time import perf_counter
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from hyphal._core.errors import BrokenResourceError, HyphalError, WouldBlock
from hyphal._core.timing import DeadlineTimer, current_time
from hyphal.actors.hotpath import RefCore
from hyphal.actors.mailbox import Ask, Outcome
from hyphal.actors.stats import ActorStatistics

if TYPE_CHECKING:
    from hyphal.actors.cell import Cell

__all__ = ["ActorRef", "MessageDropped"]

Msg = TypeVar("Msg", contravariant=True)
Reply = TypeVar("Reply", covariant=True)


class MessageDropped(HyphalError):
    """A bounded mailbox's overflow policy (``DROP_NEWEST``/``DROP_OLDEST``) discarded this ask.
    Retry later, or give the actor a larger mailbox or the ``BLOCK`` policy."""


def _time_out(fut: asyncio.Future[Any], name: str, timeout: float) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError(
            f"actor {name!r} did not answer within {timeout} s (the ask is skipped if it is "
            f"still queued)"))


class ActorRef(RefCore, Generic[Msg, Reply]):
    """The handle to an actor; cheap to copy around, valid across restarts.

    ``ActorRef[Msg, Reply]`` is generic in the message type the actor accepts and the reply
    type of its ``receive``, so a type checker flags ``ref.tell(wrong_type)``.
    """

    __slots__ = ("__weakref__", "_cell")

    def __init__(self, cell: Cell) -> None:
        self._cell = cell
        self._mb = cell.mailbox
        self._loop = cell.system._loop

    def __repr__(self) -> str:
        return f"<ActorRef {self._cell.name} {self._cell.state}>"

    @property
    def name(self) -> str:
        return self._cell.name

    @property
    def alive(self) -> bool:
        """False once the actor has stopped for good."""
        return self._cell.state != "stopped"

    # -- sending -------------------------------------------------------------------------------

    if TYPE_CHECKING:
        def tell(self, msg: Msg) -> None:
            """Queue ``msg`` for the actor and return at once (never waits).

            On an unbounded mailbox this always succeeds. A full bounded mailbox applies its
            policy: ``BLOCK`` raises :class:`~hyphal.WouldBlock` (use ``await ref.send(msg)``
            to wait for room), the drop policies discard a message into dead letters. A
            message to a stopped actor goes to ``system.dead_letters``.

            (Implemented by :class:`~hyphal.actors.hotpath.RefCore`, in C when built.)
            """

    def tell_batch(self, msgs: Iterable[Msg]) -> None:
        """``tell`` each message, in order, waking the actor once. On a bounded mailbox that
        runs out of room, each message meets the overflow policy in turn (under ``BLOCK``,
        :class:`~hyphal.WouldBlock` is raised and the messages before it stay queued)."""
        mb = self._mb
        q = mb.queue
        items = list(msgs)
        if len(q) + len(items) <= mb.limit:
            q.extend(items)
            w = mb.waiter
            if w is not None and items:
                mb.waiter = None
                w.set_result(None)
            return
        for msg in items:
            self.tell(msg)

    async def send(self, msg: Msg) -> None:
        """Like :meth:`tell`, but waits for room when a ``BLOCK`` mailbox is full (the
        backpressured way to feed a bounded actor). A stopped actor's message goes to dead
        letters."""
        while True:
            if self._mb.offer(msg):
                return
            try:
                self._offer_slow(msg)
                return
            except WouldBlock:
                await self._cell.mailbox.wait_for_room(asyncio.get_running_loop())

    def _offer_slow(self, msg: Any) -> None:
        cell = self._cell
        outcome, discarded = cell.mailbox.offer_full(msg)
        if outcome is Outcome.ACCEPTED:
            return
        if outcome is Outcome.FULL:
            raise WouldBlock(f"the mailbox of actor {cell.name!r} is full; await ref.send(msg) "
                             f"to wait for room, or use a drop policy")
        if outcome is not Outcome.CLOSED:  # EVICTED (the oldest) or REJECTED (this one)
            self._drop(discarded)
            return
        if type(msg) is Ask:
            raise BrokenResourceError(f"actor {cell.name!r} is {cell.state}; it takes no asks")
        cell.system.dead_letters.publish(cell.name, msg, cell.state)

    def _drop(self, msg: Any) -> None:
        cell = self._cell
        if type(msg) is Ask:
            if not msg.fut.done():
                msg.fut.set_exception(MessageDropped(
                    f"the full mailbox of actor {cell.name!r} dropped this ask"))
        else:
            cell.system.dead_letters.publish(cell.name, msg, "dropped by the mailbox overflow")

    # -- request/reply -------------------------------------------------------------------------

    if TYPE_CHECKING:
        def ask(self, msg: Msg, *, timeout: float | None = None) -> Awaitable[Reply]:
            """Send ``msg``; ``await`` the result to get the actor's reply (what its ``receive``
            returns).

            Raises (when awaited) whatever ``receive`` raised for this message;
            :class:`~hyphal.BrokenResourceError` if the actor stops or is restarted before replying;
            ``TimeoutError`` after ``timeout`` seconds (the message is skipped if the actor has not
            started on it yet); :class:`MessageDropped` if a full drop-policy mailbox discarded it.
            Raises at once: :class:`~hyphal.BrokenResourceError` if the actor is stopped,
            ``ValueError`` for a negative or NaN timeout.

            No task is created: the actor resolves a future, so an ask costs two task switches.
            (The common case is :class:`~hyphal.actors.hotpath.RefCore`'s, in C when built;
            the rest is :meth:`_ask`.)
            """

    def _ask(self, msg: Msg, timeout: float | None) -> Awaitable[Reply]:
        """``ask`` in general: any timeout, a full or closed mailbox."""
        if timeout is not None and not timeout >= 0:
            raise ValueError(f"timeout must be >= 0 seconds or None, not {timeout!r}")
        fut: asyncio.Future[Any] = self._loop.create_future()
        req = Ask(msg, fut, perf_counter())
        if not self._mb.offer(req):
            try:
                self._offer_slow(req)  # raises BrokenResourceError when stopped
            except WouldBlock:
                return self._ask_later(req, timeout)
        if timeout is None:
            return fut
        return self._wait_reply(fut, timeout)

    async def _ask_later(self, req: Ask, timeout: float | None) -> Reply:
        """An ask that has to wait for room in a full ``BLOCK`` mailbox first."""
        await self.send(req)  # type: ignore[arg-type]
        if timeout is None:
            return cast(Reply, await req.fut)
        return await self._wait_reply(req.fut, timeout)

    async def _wait_reply(self, fut: asyncio.Future[Any], timeout: float) -> Reply:
        timer = DeadlineTimer(self._loop, current_time() + timeout,
                              lambda: _time_out(fut, self._cell.name, timeout))
        try:
            return cast(Reply, await fut)
        finally:
            timer.cancel()

    # -- lifecycle -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the actor after it has handled the messages already queued; later messages go
        to dead letters (asks raise :class:`~hyphal.BrokenResourceError`). Idempotent; the
        supervisor does not restart an actor stopped this way. ``await ref.join()`` waits for
        the end."""
        cell = self._cell
        if cell.state in ("running", "restarting"):
            cell.state = "stopping"
            cell.mailbox.close()

    async def join(self) -> None:
        """Wait until the actor has stopped for good."""
        cell = self._cell
        if cell.state == "stopped":
            return
        fut: asyncio.Future[None] = self._loop.create_future()
        if cell.joiners is None:
            cell.joiners = []
        cell.joiners.append(fut)
        await fut

    def statistics(self) -> ActorStatistics:
        return self._cell.statistics()
