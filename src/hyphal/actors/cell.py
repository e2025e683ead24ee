"""The runtime side of one actor: its mailbox, its current incarnation and its counters.

Theory of operation
-------------------
A :class:`Cell` lives as long as the actor's name: it outlives crashes and restarts, and the
:class:`~hyphal.actors.ref.ActorRef` handed to users points at it. Each *incarnation* is one
instance of the user's class driven by :func:`run_incarnation` in a task of the system's
``TaskGroup``:

1. construct ``factory(*args)``; on a restart call ``on_restart(error)``; call ``on_start()``;
2. loop: take the whole mailbox (one list swap), handle each message (``receive`` per message,
   or ``receive_batch`` for runs of tells), then wait on the mailbox's wake-up future when it is
   empty. An idle actor costs one suspended task and one future. The ``receive`` loop is
   :class:`~hyphal.actors.hotpath.Drain` (in C when built): handlers that finish without
   suspending never go through the event loop, and after answering an ask the actor yields
   once before it parks, so an asker's next ask finds it awake (one loop iteration per round
   trip instead of two).
3. end in one of three ways:

   - *graceful*: the mailbox was closed (``ref.stop()``) and is drained -> ``on_stop()``, the
     cell is finished;
   - *crash*: a message raised -> the failing message's ask gets the exception, the messages
     behind it go back to the front of the mailbox (or to dead letters), ``on_stop()`` runs and
     the parent supervisor is told; it decides whether to start a new incarnation;
   - *killed*: the supervisor cancelled the task (a sibling's failure under ``one_for_all`` or
     ``rest_for_one``, an escalation, a shutdown) -> the message in flight is failed (an ask
     gets :class:`~hyphal.BrokenResourceError`, a tell goes to dead letters), the rest of the
     batch is kept.

``generation`` counts incarnations, so a supervisor ignores a failure report from an
incarnation it has already replaced.
"""

from __future__ import annotations

import asyncio
import logging
from time import perf_counter
from typing import TYPE_CHECKING, Any

from hyphal._core.errors import BrokenResourceError
from hyphal._core.tasks import resume
from hyphal.actors.actor import Actor
from hyphal.actors.hotpath import FAIRNESS_BATCH, NOT_STARTED, YIELD, CellCore, Drain
from hyphal.actors.inline import plain_twin
from hyphal.actors.mailbox import Ask, Mailbox, MailboxSpec
from hyphal.actors.stats import ActorStatistics, LatencyRecorder

if TYPE_CHECKING:
    from collections.abc import Callable

    from hyphal.actors.ref import ActorRef
    from hyphal.actors.supervisor import Supervisor
    from hyphal.actors.system import ActorSystem

__all__ = ["Cell", "run_incarnation"]

logger = logging.getLogger("hyphal.actors")

RUNNING, RESTARTING, STOPPING, STOPPED = "running", "restarting", "stopping", "stopped"
_NO_BATCH: list[Any] = []


class Cell(CellCore):
    """One actor's runtime state; see the module docs (``processed``, ``asks`` and
    ``latency`` live in :class:`~hyphal.actors.hotpath.CellCore`)."""

    __slots__ = ("actor", "args", "factory", "failed", "generation", "handle", "joiners",
                 "killing", "mailbox", "name", "parent", "ref", "restarts", "spec", "state",
                 "system")

    def __init__(self, system: ActorSystem, parent: Supervisor, factory: Callable[..., Any],
                 args: tuple[Any, ...], name: str, spec: MailboxSpec) -> None:
        from hyphal.actors.ref import ActorRef

        self.system = system
        self.parent = parent
        self.factory = factory
        self.args = args
        self.name = name
        self.spec = spec
        self.mailbox = Mailbox(spec)
        self.ref: ActorRef[Any, Any] = ActorRef(self)
        self.actor: Actor[Any, Any] | None = None
        self.handle: asyncio.Task[None] | None = None
        self.state = RUNNING
        self.generation = 0
        self.killing = False
        self.processed = 0
        self.failed = 0
        self.restarts = 0
        self.asks = 0
        self.latency = None
        self.joiners: list[asyncio.Future[None]] | None = None

    def __repr__(self) -> str:
        return f"<actor {self.name} {self.state}>"

    # -- lifecycle driven by supervisors -----------------------------------------------------------

    def start(self, error: BaseException | None) -> None:
        """Start a new incarnation (the first one when ``error`` is None)."""
        if self.system._state != 1:  # shutting down: nothing (re)starts
            self.finish("stopped at shutdown")
            return
        self.generation += 1
        self.killing = False
        if self.state == RESTARTING:
            self.state = RUNNING
        self.handle = self.system._spawn_task(run_incarnation(self, error), self.name)

    def restart(self, error: BaseException) -> None:
        """Start the next incarnation after a crash (the caller killed the old one)."""
        self.restarts += 1
        if not self.spec.keep_on_restart:
            self.discard(self.mailbox.take(), "dropped at restart")
        self.start(error)

    async def kill(self) -> None:
        """End the current incarnation now (it finishes its cleanup before this returns)."""
        self.generation += 1  # a failure report racing with the kill is stale
        task = self.handle
        if task is None or task.done():
            return
        self.killing = True
        self.mailbox.waiter = None
        task.cancel()
        await asyncio.wait((task,))  # unlike 'await task', our own cancellation stays ours

    async def terminate(self, reason: str) -> None:
        """Stop for good: kill the incarnation, fail what is queued, unregister."""
        self.mailbox.close()
        await self.kill()
        self.finish(reason)

    def finish(self, reason: str = "stopped") -> None:
        """Mark the actor stopped; anything still queued goes to dead letters."""
        if self.state == STOPPED:
            return
        self.state = STOPPED
        self.mailbox.close()
        self.discard(self.mailbox.take(), reason)
        self.system._retire(self)
        self.parent._forget(self)
        joiners, self.joiners = self.joiners, None
        for fut in joiners or ():
            if not fut.done():
                fut.set_result(None)

    def discard(self, msgs: list[Any], reason: str) -> None:
        """Route messages that will never be handled: asks fail, tells become dead letters."""
        for msg in msgs:
            if type(msg) is Ask:
                if not msg.fut.done():
                    msg.fut.set_exception(BrokenResourceError(
                        f"actor {self.name!r} could not answer this ask: {reason}"))
            else:
                self.system.dead_letters.publish(self.name, msg, reason)

    def crashed(self, error: BaseException, generation: int) -> None:
        logger.warning("actor %r crashed; its supervisor %r decides what happens next",
                       self.name, self.parent.name, exc_info=error)
        self.state = RESTARTING if self.state == RUNNING else self.state
        self.parent._child_failed(self, error, generation)

    def answered(self, req: Ask) -> None:
        """Count an answered ask and record its round trip so far."""
        self.asks += 1
        (self.latency or self.new_latency()).recent.append(perf_counter() - req.sent)

    def new_latency(self) -> LatencyRecorder:
        """The latency recorder, made on the first answered ask (idle actors carry none)."""
        lat = self.latency = LatencyRecorder()
        return lat

    # -- statistics --------------------------------------------------------------------------------

    def statistics(self) -> ActorStatistics:
        lat = self.latency
        return ActorStatistics(
            name=self.name,
            state=self.state,
            mailbox_depth=len(self.mailbox.queue),
            processed=self.processed,
            failed=self.failed,
            restarts=self.restarts,
            dropped=self.mailbox.dropped,
            asks=self.asks,
            ask_latency_mean=lat.mean() if lat else 0.0,
            ask_latency_p50=lat.percentile(0.5) if lat else 0.0,
            ask_latency_p99=lat.percentile(0.99) if lat else 0.0,
            ask_latency_max=lat.max() if lat else 0.0,
        )


async def _call_on_stop(actor: Actor[Any, Any], cell: Cell) -> None:
    try:
        await actor.on_stop()
    except Exception:
        logger.exception("on_stop of actor %r raised; ignored", cell.name)


async def run_incarnation(cell: Cell, error: BaseException | None) -> None:
    """Drive one instance of the actor until it stops, crashes or is killed."""
    generation = cell.generation
    try:
        actor = cell.factory(*cell.args)
        if not isinstance(actor, Actor):
            raise TypeError(f"spawn() needs an Actor subclass (or a factory returning an "
                            f"Actor); {cell.factory!r} returned {actor!r}")
        actor._hyphal_cell = cell
        cell.actor = actor
        if error is not None:
            await actor.on_restart(error)
        await actor.on_start()
    except Exception as exc:
        cell.failed += 1
        cell.crashed(exc, generation)
        return
    except asyncio.CancelledError:
        if not cell.killing:
            cell.finish("cancelled")
            raise
        return

    mb = cell.mailbox
    receive = actor.receive
    receive_batch = getattr(actor, "receive_batch", None)
    loop = asyncio.get_running_loop()
    drain = None if receive_batch is not None else Drain(cell, mb, receive, plain_twin(receive),
                                                          loop)
    batch: list[Any] = _NO_BATCH  # a shared constant keeps an idle actor's frame small
    i = j = 0  # the message (or run of messages) in hand is batch[i:j]
    msg: Any = None
    reply: Any = None
    result: Any = None
    todo: Any = None
    try:
        if drain is not None:  # one message at a time: the C loop (hotpath.py)
            while (todo := drain.run()) is not None:
                if type(todo) is tuple:  # a handler suspended: await the rest of it
                    awaitable, yielded = todo
                    todo = None
                    if yielded is NOT_STARTED:
                        result = await awaitable
                    else:
                        result = await resume(awaitable, yielded)
                    awaitable = yielded = None
                    drain.finish(result)
                    result = None
                elif todo is YIELD:
                    await asyncio.sleep(0)
                else:
                    await todo  # parked: the mailbox wakes us
        while receive_batch is not None:
            if not mb.queue:
                if mb.limit < 0:
                    break  # closed and drained: a graceful stop
                fut: asyncio.Future[None] = loop.create_future()
                mb.waiter = fut
                await fut
                continue
            batch = mb.take()
            n = len(batch)
            i = 0
            while i < n:
                msg = batch[i]
                if type(msg) is Ask:
                    j = i + 1
                    reply = msg.fut
                    if not reply.done():
                        result = await receive(msg.msg)
                        if not reply.done():
                            reply.set_result(result)
                            cell.answered(msg)
                else:
                    j = i + 1
                    while j < n and type(batch[j]) is not Ask:
                        j += 1
                    await receive_batch(batch[i:j])
                i = j
            cell.processed += len(batch)
            msg = reply = result = None  # hold no user objects while idle
            if len(batch) >= FAIRNESS_BATCH and mb.queue:
                batch = _NO_BATCH
                await asyncio.sleep(0)
            batch = _NO_BATCH
    except Exception as exc:
        if drain is not None:
            batch, i = drain.batch, drain.index
            j = i + 1
        elif type(batch[i]) is Ask:
            j = i + 1  # one message failed (a run of tells when receive_batch raised)
        cell.processed += i
        cell.failed += 1
        for msg in batch[i:j]:
            if type(msg) is Ask and not msg.fut.done():
                msg.fut.set_exception(exc)
                cell.answered(msg)
        _keep_rest(cell, batch[j:], "dropped at restart")
        await _call_on_stop(actor, cell)
        cell.crashed(exc, generation)
        return
    except asyncio.CancelledError:
        mb.waiter = None
        if drain is not None:
            batch, i = drain.batch, drain.index
            j = i + 1
        elif batch and type(batch[i]) is Ask:
            j = i + 1
        if batch:
            cell.processed += i
            cell.discard(batch[i:j], "interrupted")
            mb.put_back(batch[j:])
        if not cell.killing:  # cancelled from outside (the loop is shutting down): gone
            cell.finish("cancelled")
            raise
        await _call_on_stop(actor, cell)
        return
    await _call_on_stop(actor, cell)
    cell.finish()


def _keep_rest(cell: Cell, rest: list[Any], reason: str) -> None:
    if cell.spec.keep_on_restart:
        cell.mailbox.put_back(rest)
    else:
        cell.discard(rest, reason)
