"""Supervision trees: who restarts whom when an actor crashes.

Theory of operation
-------------------
A :class:`Supervisor` owns an ordered list of children: actors (cells) and nested supervisors.
A child's crash is *reported* (a non-blocking send on the supervisor's event channel) and
*handled* by the supervisor's own task, one failure at a time, so concurrent crashes never race:

1. a report from an incarnation that has since been replaced (its ``generation`` moved on) is
   ignored -- that child was already restarted;
2. the restart is timestamped; if more than ``max_restarts`` happened within ``within``
   seconds, the supervisor gives up: it kills all its children and *escalates* -- it reports
   itself as a failed child to its own parent (the root supervisor escalates to the system,
   which stops every actor and raises :class:`SupervisionError` when its ``async with`` ends);
3. otherwise the strategy picks who restarts: ``one_for_one`` the failed child,
   ``one_for_all`` every child, ``rest_for_one`` the failed child and those started after it.
   Those still running are killed in reverse start order, then all are started again in start
   order, each from its original factory and arguments (``on_restart(error)`` then
   ``on_start()``). Restarting a nested supervisor restarts its whole subtree.

Messages queued for a restarted actor stay in its mailbox (unless its mailbox says
``keep_on_restart=False``); the one message it was working on when killed is failed.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from hyphal._core.channel import Channel
from hyphal._core.errors import EndOfChannel, HyphalError
from hyphal._core.timing import current_time
from hyphal.actors.actor import Actor
from hyphal.actors.cell import Cell
from hyphal.actors.mailbox import MailboxSpec
from hyphal.actors.stats import SupervisorStatistics

if TYPE_CHECKING:
    from hyphal.actors.ref import ActorRef
    from hyphal.actors.system import ActorSystem

__all__ = ["Strategy", "SupervisionError", "Supervisor"]

logger = logging.getLogger("hyphal.actors")

Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]
_STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")
M = TypeVar("M")
R = TypeVar("R")


class SupervisionError(HyphalError):
    """Failures exceeded the root supervisor's restart intensity; the system stopped every
    actor. ``__cause__`` is the last failure. Raise ``max_restarts`` or fix the crash."""


class Supervisor:
    """A node of the supervision tree. Create one with ``system.supervisor(...)`` or
    ``supervisor.supervisor(...)``; add actors with :meth:`spawn`.

    ``strategy``: ``"one_for_one"``, ``"one_for_all"`` or ``"rest_for_one"``.
    ``max_restarts`` restarts within ``within`` seconds are allowed; one more escalates.

    Raises ``ValueError`` for an unknown strategy or a negative intensity.
    """

    def __init__(self, system: ActorSystem, parent: Supervisor | None, name: str,
                 strategy: Strategy = "one_for_one", *, max_restarts: int = 3,
                 within: float = 5.0) -> None:
        if strategy not in _STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(_STRATEGIES)}, "
                             f"not {strategy!r}")
        if max_restarts < 0 or not within > 0:
            raise ValueError("max_restarts must be >= 0 and within > 0 seconds")
        self.system = system
        self.parent = parent
        self.name = name
        self.strategy: Strategy = strategy
        self.max_restarts = max_restarts
        self.within = within
        self.children: list[Cell | Supervisor] = []
        self.generation = 0
        self.restarts = 0
        self.escalations = 0
        self._history: deque[float] = deque()
        self._events: Channel[tuple[Cell | Supervisor, BaseException, int]] = Channel(None)
        self._handle = system._spawn_task(self._run(), name=f"supervisor {name}", track=True)

    def __repr__(self) -> str:
        return f"<Supervisor {self.name} {self.strategy} children={len(self.children)}>"

    # -- building the tree ---------------------------------------------------------------------

    def spawn(self, actor: Callable[..., Actor[M, R]], *args: Any, name: str | None = None,
              mailbox: MailboxSpec | int | None = None) -> ActorRef[M, R]:
        """Start ``actor(*args)`` under this supervisor and return its reference.

        ``actor`` is an :class:`~hyphal.Actor` subclass (or a factory returning an instance);
        restarts call it again with the same ``args``. ``name`` must be unique in the system
        (default: the class name and a number). ``mailbox``: a :class:`MailboxSpec`
        (default unbounded; a number is short for ``MailboxSpec(capacity=n)``). The actor
        starts (``on_start``) on the next loop iteration; messages sent before wait for it.

        Raises ``ValueError`` for a taken name, ``RuntimeError`` if the system is not running.
        """
        system = self.system
        spec = mailbox if isinstance(mailbox, MailboxSpec) else MailboxSpec(capacity=mailbox)
        cell = Cell(system, self, actor, args, system._register_name(name, actor), spec)
        self.children.append(cell)
        system._adopt(cell)
        cell.start(None)
        return cell.ref

    def supervisor(self, strategy: Strategy = "one_for_one", *, max_restarts: int = 3,
                   within: float = 5.0, name: str | None = None) -> Supervisor:
        """A nested supervisor under this one (it escalates to this one)."""
        child = Supervisor(self.system, self, self.system._register_name(name, Supervisor),
                           strategy, max_restarts=max_restarts, within=within)
        self.children.append(child)
        return child

    def statistics(self) -> SupervisorStatistics:
        return SupervisorStatistics(self.name, self.strategy, len(self.children), self.restarts,
                                    self.escalations)

    # -- failure handling ----------------------------------------------------------------------

    def _child_failed(self, child: Cell | Supervisor, error: BaseException,
                      generation: int) -> None:
        try:
            self._events.send_nowait((child, error, generation))
        except HyphalError:  # the supervisor is shutting down: nobody restarts anything
            pass

    def _forget(self, child: Cell | Supervisor) -> None:
        try:
            self.children.remove(child)
        except ValueError:
            pass

    async def _run(self) -> None:
        while True:
            try:
                child, error, generation = await self._events.recv()
            except EndOfChannel:
                return
            if generation != child.generation or child not in self.children:
                continue
            await self._handle_failure(child, error)

    async def _handle_failure(self, child: Cell | Supervisor, error: BaseException) -> None:
        now = current_time()
        history = self._history
        history.append(now)
        while history and history[0] < now - self.within:
            history.popleft()
        if len(history) > self.max_restarts:
            await self._escalate(child, error)
            return
        index = self.children.index(child)
        if self.strategy == "one_for_one":
            targets = [child]
        elif self.strategy == "one_for_all":
            targets = list(self.children)
        else:
            targets = self.children[index:]
        logger.info("supervisor %r restarts %s after %r failed: %r", self.name,
                    [t.name for t in targets], child.name, error)
        for target in reversed(targets):
            await target.kill()
        for target in targets:
            if target in self.children:  # a kill may have let it finish a graceful stop
                self.restarts += 1
                target.restart(error)

    async def _escalate(self, child: Cell | Supervisor, error: BaseException) -> None:
        self.escalations += 1
        self.system._escalations += 1
        logger.warning("supervisor %r gave up after %d restarts within %s s (last: %r in %r); "
                       "escalating", self.name, len(self._history) - 1, self.within, error,
                       child.name)
        await self.kill()
        if self.parent is None:
            await self.system._escalated(error)
        else:
            self.parent._child_failed(self, error, self.generation)

    # -- the child protocol (a supervisor is a child of its parent) ----------------------------

    async def kill(self) -> None:
        """Kill every child, in reverse start order (their mailboxes stay)."""
        self.generation += 1
        for child in reversed(list(self.children)):
            await child.kill()

    def restart(self, error: BaseException) -> None:
        """Start every child again, in start order, with a fresh restart history."""
        self._history.clear()
        self.generation += 1
        for child in list(self.children):
            self.restarts += 1
            child.restart(error)

    async def terminate(self, reason: str) -> None:
        """Stop this subtree for good (children in reverse start order) and end the task."""
        for child in reversed(list(self.children)):
            await child.terminate(reason)
        self._events.close()
        if self.parent is not None:
            self.parent._forget(self)

    def _all_cells(self) -> list[Cell]:
        cells: list[Cell] = []
        for child in self.children:
            if isinstance(child, Cell):
                cells.append(child)
            else:
                cells.extend(child._all_cells())
        return cells
