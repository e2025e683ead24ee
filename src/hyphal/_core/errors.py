"""The exception hierarchy shared by every hyphal layer.

Everything hyphal raises on purpose derives from :class:`HyphalError`, so ``except
hyphal.HyphalError`` catches all of it. Cancellation is *not* part of this tree: it stays
:class:`asyncio.CancelledError`, a ``BaseException``, so a broad ``except Exception`` never
swallows it.
"""

from __future__ import annotations

__all__ = [
    "BrokenResourceError",
    "BusyResourceError",
    "ClosedResourceError",
    "EndOfChannel",
    "HyphalError",
    "WouldBlock",
]


class HyphalError(Exception):
    """Root of every error hyphal raises deliberately."""


class WouldBlock(HyphalError):
    """A ``*_nowait`` operation could not complete without waiting.

    Retry with the awaitable form (``await ch.send(x)``) or try again later.
    """


class ClosedResourceError(HyphalError):
    """You used a resource after *you* closed it (send after ``close()``, acquire after
    ``pool.close()`` ...)."""


class BrokenResourceError(HyphalError):
    """The *other side* went away: the actor you asked stopped, the peer disconnected."""


class EndOfChannel(HyphalError):
    """A receive found the channel closed by all its senders and drained: no item will ever come.

    ``async for item in channel`` ends quietly on it.
    """


class BusyResourceError(HyphalError):
    """Two tasks tried to use a resource that allows only one user at a time."""
