"""The actor system: runs actors under a root supervisor, names them, collects dead letters."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from hyphal._core.cancel import move_on_after
from hyphal._core.errors import BrokenResourceError
from hyphal.actors.actor import Actor
from hyphal.actors.cell import STOPPED, Cell
from hyphal.actors.mailbox import MailboxSpec
from hyphal.actors.ref import ActorRef
from hyphal.actors.stats import SystemStatistics
from hyphal.actors.supervisor import Strategy, SupervisionError, Supervisor

__all__ = ["ActorSystem", "DeadLetter", "DeadLetters"]

logger = logging.getLogger("hyphal.actors")

M = TypeVar("M")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message no actor will handle."""

    recipient: str
    message: Any
    reason: str
    """Why: ``"stopped"``/``"stopping"`` (sent after a stop), ``"unknown"`` (no actor by that
    name), ``"dropped by the mailbox overflow"``, ``"interrupted"`` (in flight when its actor
    was killed), ``"dropped at restart"``."""


class DeadLetters:
    """Where undeliverable messages go: counted, and passed to every subscriber.

    ``unsubscribe = system.dead_letters.subscribe(callback)``; the callback gets each
    :class:`DeadLetter` synchronously (keep it short; an exception in it is logged).
    """

    __slots__ = ("_subscribers", "count")

    def __init__(self) -> None:
        self.count = 0
        self._subscribers: list[Callable[[DeadLetter], object]] = []

    def subscribe(self, callback: Callable[[DeadLetter], object]) -> Callable[[], None]:
        """Call ``callback`` for each future dead letter; returns the unsubscribe function."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, recipient: str, message: Any, reason: str) -> None:
        self.count += 1
        if not self._subscribers:
            return
        letter = DeadLetter(recipient, message, reason)
        for callback in list(self._subscribers):
            try:
                callback(letter)
            except Exception:
                logger.exception("a dead-letter subscriber raised; ignored")


class ActorSystem:
    """Runs actors: ``async with hyphal.ActorSystem() as system: ref = system.spawn(...)``.

    Every actor runs as its own task (one per incarnation), under the *root supervisor*
    (``strategy``, ``max_restarts`` within ``within`` seconds; defaults: ``one_for_one``, 3
    restarts in 5 s). Leaving the ``async with`` block stops every actor gracefully (each
    handles what is already in its mailbox, then ``on_stop``), waiting at most
    ``shutdown_timeout`` seconds (``None``: as long as it takes) before killing the rest; if the
    block raised, actors are killed at once. Queued asks then fail with
    :class:`~hyphal.BrokenResourceError` and queued tells become dead letters.

    Raises :class:`SupervisionError` on exit if a failure escalated past the root supervisor.
    """

    def __init__(self, name: str = "actors", *, strategy: Strategy = "one_for_one",
                 max_restarts: int = 3, within: float = 5.0,
                 shutdown_timeout: float | None = None) -> None:
        self.name = name
        self.dead_letters = DeadLetters()
        self._root_args = (strategy, max_restarts, within)
        self._shutdown_timeout = shutdown_timeout
        self._names: dict[str, Cell] = {}  # live actors
        self._counter = itertools.count(1)
        self._state = 0  # 0 new, 1 running, 2 closing/closed
        self._tasks: set[asyncio.Task[Any]] = set()
        self._root: Supervisor | None = None
        self._failure: BaseException | None = None
        self._spawned = 0
        self._stopped = 0
        self._retired_processed = 0
        self._retired_failed = 0
        self._retired_restarts = 0
        self._escalations = 0

    def __repr__(self) -> str:
        return f"<ActorSystem {self.name} actors={self._spawned - self._stopped}>"

    async def __aenter__(self) -> ActorSystem:
        if self._state != 0:
            raise RuntimeError("an ActorSystem can be entered only once; create a new one")
        self._loop = asyncio.get_running_loop()
        self._state = 1
        strategy, max_restarts, within = self._root_args
        self._root = Supervisor(self, None, "root", strategy, max_restarts=max_restarts,
                                within=within)
        return self

    async def __aexit__(self, et: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> bool | None:
        assert self._root is not None
        try:
            if et is None and self._failure is None:
                await self._stop_gracefully()
        finally:
            self._state = 2  # from here on nothing starts or restarts
            self._close_supervisors(self._root)
            await self._root.terminate("stopped at shutdown")
            while self._tasks:
                await asyncio.wait(list(self._tasks))
        if self._failure is not None and et is None:
            raise SupervisionError(
                f"an actor failure escalated past the root supervisor of {self.name!r}: "
                f"{self._failure!r}") from self._failure
        return None

    async def _stop_gracefully(self) -> None:
        assert self._root is not None
        cells = self._root._all_cells()
        for cell in cells:
            cell.ref.stop()
        with move_on_after(self._shutdown_timeout if self._shutdown_timeout is not None
                           else float("inf")):
            for cell in cells:
                await cell.ref.join()

    def _close_supervisors(self, sup: Supervisor) -> None:
        sup._events.close()
        for child in sup.children:
            if isinstance(child, Supervisor):
                self._close_supervisors(child)

    # -- spawning ------------------------------------------------------------------------------

    @property
    def root(self) -> Supervisor:
        """The root supervisor (what :meth:`spawn` and :meth:`supervisor` delegate to)."""
        if self._root is None:
            raise RuntimeError("the ActorSystem is not running: use 'async with ActorSystem() "
                               "as system:'")
        return self._root

    def spawn(self, actor: Callable[..., Actor[M, R]], *args: Any, name: str | None = None,
              mailbox: MailboxSpec | int | None = None) -> ActorRef[M, R]:
        """Start ``actor(*args)`` under the root supervisor; see :meth:`Supervisor.spawn`."""
        return self.root.spawn(actor, *args, name=name, mailbox=mailbox)

    def supervisor(self, strategy: Strategy = "one_for_one", *, max_restarts: int = 3,
                   within: float = 5.0, name: str | None = None) -> Supervisor:
        """A supervisor under the root; spawn actors into it with ``sup.spawn(...)``."""
        return self.root.supervisor(strategy, max_restarts=max_restarts, within=within,
                                    name=name)

    def lookup(self, name: str) -> ActorRef[Any, Any] | None:
        """The live actor called ``name``, or None."""
        cell = self._names.get(name)
        return cell.ref if cell is not None else None

    def tell(self, name: str, msg: Any) -> None:
        """Tell the actor called ``name``; with no such actor the message becomes a dead
        letter (reason ``"unknown"``)."""
        ref = self.lookup(name)
        if ref is None:
            self.dead_letters.publish(name, msg, "unknown")
        else:
            ref.tell(msg)

    async def ask(self, name: str, msg: Any, *, timeout: float | None = None) -> Any:
        """Ask the actor called ``name``; raises :class:`~hyphal.BrokenResourceError` if there
        is none."""
        ref = self.lookup(name)
        if ref is None:
            raise BrokenResourceError(f"no actor named {name!r} in system {self.name!r}")
        return await ref.ask(msg, timeout=timeout)

    def statistics(self) -> SystemStatistics:
        cells = list(self._names.values())
        return SystemStatistics(
            actors_live=len(cells),
            actors_spawned=self._spawned,
            actors_stopped=self._stopped,
            messages_processed=self._retired_processed + sum(c.processed for c in cells),
            failures=self._retired_failed + sum(c.failed for c in cells),
            restarts=self._retired_restarts + sum(c.restarts for c in cells),
            escalations=self._escalations,
            dead_letters=self.dead_letters.count,
        )

    # -- internals used by cells and supervisors ----------------------------------------------

    def _spawn_task(self, coro: Coroutine[Any, Any, None], name: str, *,
                    track: bool = False) -> asyncio.Task[None]:
        """Run ``coro`` as a plain task: an idle actor costs one suspended task and no task
        group bookkeeping (its cell holds the task). Every coroutine handed here reports its
        own failures. ``track``: also wait for it at shutdown (supervisors)."""
        task = self._loop.create_task(coro, name=name)
        if track:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return task

    def _register_name(self, name: str | None, kind: Any) -> str:
        if self._state != 1:
            raise RuntimeError("the ActorSystem is not running: use 'async with ActorSystem() "
                               "as system:'")
        if name is None:
            base = getattr(kind, "__name__", "actor")
            name = f"{base}-{next(self._counter)}"
            while name in self._names:
                name = f"{base}-{next(self._counter)}"
        elif name in self._names:
            raise ValueError(f"an actor named {name!r} already exists in system "
                             f"{self.name!r}; names must be unique")
        return name

    def _adopt(self, cell: Cell) -> None:
        self._names[cell.name] = cell
        self._spawned += 1

    def _retire(self, cell: Cell) -> None:
        if self._names.get(cell.name) is cell:
            del self._names[cell.name]
        self._stopped += 1
        self._retired_processed += cell.processed
        self._retired_failed += cell.failed
        self._retired_restarts += cell.restarts

    async def _escalated(self, error: BaseException) -> None:
        """The root supervisor gave up: stop everything; ``__aexit__`` raises."""
        logger.error("actor system %r: a failure escalated past the root supervisor: %r",
                     self.name, error)
        self._failure = error
        assert self._root is not None
        for cell in self._root._all_cells():
            if cell.state != STOPPED:
                await cell.terminate("stopped by an escalated failure")
