"""The :class:`Actor` base class users subclass."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from hyphal.actors.cell import Cell
    from hyphal.actors.ref import ActorRef
    from hyphal.actors.system import ActorSystem

__all__ = ["Actor"]

Msg = TypeVar("Msg")
Reply = TypeVar("Reply")


class Actor(Generic[Msg, Reply]):
    """State plus behaviour, driven by messages one at a time.

    ::

        class Counter(hyphal.Actor[int, int]):
            def __init__(self, start: int = 0) -> None:
                self.total = start

            async def receive(self, msg: int) -> int:
                self.total += msg
                return self.total          # the reply to an ask (ignored for a tell)

        async with hyphal.ActorSystem() as system:
            ref = system.spawn(Counter, 10, name="counter")
            ref.tell(1)
            assert await ref.ask(2) == 13

    Guarantees: only the actor's own task calls its methods, one message at a time, and
    messages from one sender arrive in the order they were sent. Construct the actor's state in
    ``__init__`` -- the system calls ``cls(*args)`` again, with the original arguments, when a
    supervisor restarts it.

    Hooks (all optional, all ``async``): ``on_start()`` before the first message;
    ``on_stop()`` when this instance ends (a graceful stop, a crash before its restart, or a
    shutdown; errors in it are logged and ignored); ``on_restart(error)`` on the fresh instance
    that replaces a crashed one, before its ``on_start``.

    Batching: an actor may define ``async def receive_batch(self, msgs: list[Msg]) -> None``;
    it then gets runs of consecutive ``tell`` messages in one call (asks still go to
    ``receive``, in order). If it raises, the whole run counts as failed.

    Speed: a ``receive`` whose body never awaits (no ``await``, ``async for`` or ``async
    with``) is run as a plain call -- the same code, without making a coroutine per message
    (see :mod:`hyphal.actors.inline`); one that awaits only goes through the event loop when
    it really suspends.

    An exception escaping ``receive`` fails the message (an ``ask`` waiting for it gets the
    exception) and crashes the actor; its supervisor decides what happens next. Messages queued
    behind the crashing one are kept for the restarted actor unless its mailbox says
    ``keep_on_restart=False``.
    """

    _hyphal_cell: Cell

    async def receive(self, msg: Msg) -> Reply:
        """Handle one message; the return value answers an ``ask``."""
        raise NotImplementedError(f"{type(self).__name__} must define 'async def receive(self, "
                                  f"msg)'")

    async def on_start(self) -> None:
        """Called in the actor's task before it takes its first message."""

    async def on_stop(self) -> None:
        """Called when this instance ends, whatever the reason."""

    async def on_restart(self, error: BaseException) -> None:
        """Called on the fresh instance replacing one that crashed with ``error``."""

    # -- context ---------------------------------------------------------------------------------

    @property
    def ref(self) -> ActorRef[Msg, Reply]:
        """This actor's own reference (to give to others, or to ``tell`` itself)."""
        return self._hyphal_cell.ref

    @property
    def name(self) -> str:
        return self._hyphal_cell.name

    @property
    def system(self) -> ActorSystem:
        return self._hyphal_cell.system

    def stop(self) -> None:
        """Stop after the messages already queued (same as ``self.ref.stop()``)."""
        self._hyphal_cell.ref.stop()

    def __repr__(self) -> str:
        cell: Any = getattr(self, "_hyphal_cell", None)
        return f"<{type(self).__name__} {cell.name if cell is not None else '(not spawned)'}>"
