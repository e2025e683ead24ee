"""Clocks and timers that never fire early.

uvloop keeps a millisecond clock that it refreshes once per loop iteration, so a
``call_later(0.001, ...)`` measured against a fresh ``time.monotonic()`` fires early about
0.4% of the time. hyphal measures every deadline against ``time.monotonic()`` and re-arms the
timer for whatever is left, so a sleep or a timeout is never short.

Re-arming a sub-millisecond remainder with ``call_later`` would cost a whole extra tick of
uvloop's millisecond timer (up to 1 ms late), so a remainder under ``_SPIN`` is waited out by
yielding to the loop (``call_soon``) until the clock reaches the deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from time import monotonic

__all__ = ["DeadlineTimer", "checkpoint", "current_time", "sleep", "sleep_until"]

_SPIN = 0.0015
"""Remainders shorter than this are waited out one loop iteration at a time."""

current_time = monotonic
"""hyphal's clock: ``time.monotonic()``, in seconds. Deadlines are expressed on it."""


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def checkpoint() -> None:
    """Let other tasks run for one loop iteration; raises if the task is being cancelled."""
    await asyncio.sleep(0)


async def sleep(seconds: float) -> None:
    """Sleep at least ``seconds`` (never less, whatever the loop's clock resolution).

    ``sleep(0)`` (or a negative value) yields to the loop once, like :func:`checkpoint`.
    Raises ``ValueError`` for NaN.
    """
    if seconds != seconds:
        raise ValueError("sleep() needs a number of seconds, not NaN")
    if seconds <= 0:
        await asyncio.sleep(0)
        return
    await sleep_until(monotonic() + seconds)


async def sleep_until(deadline: float) -> None:
    """Sleep until :func:`current_time` reaches ``deadline``."""
    loop = asyncio.get_running_loop()
    remaining = deadline - monotonic()
    if remaining <= 0:
        await asyncio.sleep(0)
        return
    fut_done_once = False  # the first wait always uses the loop's timer
    while remaining > 0:
        if remaining < _SPIN and fut_done_once:
            await asyncio.sleep(0)
        else:
            fut: asyncio.Future[None] = loop.create_future()
            handle = loop.call_later(remaining, _wake, fut)
            try:
                await fut
            finally:
                handle.cancel()
            fut_done_once = True
        remaining = deadline - monotonic()


class DeadlineTimer:
    """Calls ``callback()`` once :func:`current_time` has reached ``deadline``, never before.

    The loop's own timer may wake us a little early; we check the real clock and re-arm.
    """

    __slots__ = ("_callback", "_deadline", "_handle", "_loop")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, deadline: float, callback: Callable[[], object]
    ) -> None:
        self._loop = loop
        self._deadline = deadline
        self._callback = callback
        self._handle: asyncio.TimerHandle | asyncio.Handle | None = loop.call_later(
            max(0.0, deadline - monotonic()), self._fire
        )

    def _fire(self) -> None:
        remaining = self._deadline - monotonic()
        if remaining > 0:
            if remaining < _SPIN:
                self._handle = self._loop.call_soon(self._fire)
            else:
                self._handle = self._loop.call_later(remaining, self._fire)
            return
        self._handle = None
        self._callback()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
