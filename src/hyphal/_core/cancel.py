"""Cancel scopes and timeouts on top of asyncio's task cancellation.

Theory of operation
-------------------
A :class:`CancelScope` belongs to the task that enters it. ``cancel()`` (or the scope's deadline
passing) calls ``task.cancel()`` once and remembers that it did; asyncio then throws
``CancelledError`` into the task at its next suspension. When the scope exits it calls
``task.uncancel()``; if that brings the task's pending-cancellation count back to what it was on
entry and the exception leaving the scope is ``CancelledError``, the cancellation was ours and we
swallow it (``cancelled_caught``). Otherwise someone outside also cancelled the task, and the error
keeps propagating. This is the same bookkeeping as ``asyncio.timeout`` and it nests: each scope
has its own timer, so an inner scope can shorten but never extend an outer deadline.

A task never cancels *itself* synchronously: ``task.cancel()`` on the running task would leave
a pending cancellation that strikes at its next suspension, even if the scope has been left by
then. So a scope cancelled from inside its own task defers the request with ``call_soon``;
when the callback runs, the task is suspended, and if it is still inside the scope the
cancellation is delivered there. A block that finishes without suspending is not cancelled
(``cancel_called`` is true, ``cancelled_caught`` false).

Cancellation is edge-triggered, as in asyncio: it is delivered once. Code that catches
``CancelledError`` inside a cancelled scope must re-raise it.
"""

from __future__ import annotations

import asyncio
import math
from types import TracebackType
from typing import Protocol

from hyphal._core.stats import counters
from hyphal._core.timing import DeadlineTimer, current_time

__all__ = ["CancelScope", "TaskLike", "current_task", "fail_after", "fail_at", "move_on_after",
           "move_on_at"]


class TaskLike(Protocol):
    """What a cancel scope needs from the task it runs in (asyncio.Task or hyphal's handle)."""

    def cancel(self, msg: object | None = None) -> bool: ...
    def cancelling(self) -> int: ...
    def uncancel(self) -> int: ...


def current_task() -> TaskLike:
    try:
        task: TaskLike | None = asyncio.current_task()
    except RuntimeError:  # no running loop at all
        task = None
    if task is None:
        raise RuntimeError(
            "this needs to run inside a task: call it from an async function started by "
            "hyphal.run() or a TaskGroup"
        )
    return task


_IDLE, _ENTERED, _CANCELLING, _EXITED = range(4)


class CancelScope:
    """A region of code that can be cancelled as a unit, by ``cancel()`` or a deadline.

    ::

        with hyphal.CancelScope(deadline=hyphal.current_time() + 5) as scope:
            await work()
        if scope.cancelled_caught:
            ...  # work() was cut short

    ``deadline`` is on :func:`hyphal.current_time`'s clock; ``math.inf`` (the default) means none.
    The scope must be entered and exited in the same task. Raises ``RuntimeError`` if entered
    twice or outside a task.
    """

    __slots__ = ("_cancel_called", "_entry_cancelling", "_fail", "_loop", "_requested",
                 "_state", "_task", "_timer", "cancelled_caught", "deadline")

    def __init__(self, *, deadline: float = math.inf, _fail: bool = False) -> None:
        if deadline != deadline:
            raise ValueError("deadline must be seconds on hyphal.current_time()'s clock, not NaN")
        self.deadline = deadline
        self.cancelled_caught = False
        self._cancel_called = False
        self._fail = _fail
        self._state = _IDLE
        self._task: TaskLike | None = None
        self._timer: DeadlineTimer | None = None
        self._entry_cancelling = 0
        self._requested = False

    @property
    def cancel_called(self) -> bool:
        """True once :meth:`cancel` was called or the deadline passed."""
        return self._cancel_called

    def __enter__(self) -> CancelScope:
        if self._state != _IDLE:
            raise RuntimeError("a CancelScope can be entered only once; create a new one")
        task = current_task()
        self._task = task
        self._loop = asyncio.get_running_loop()
        self._entry_cancelling = task.cancelling()
        self._state = _ENTERED
        if self._cancel_called or self.deadline <= current_time():
            self._deliver()
        elif self.deadline != math.inf:
            self._timer = DeadlineTimer(self._loop, self.deadline, self._expire)
        return self

    def _expire(self) -> None:
        self._timer = None
        self.cancel()

    def cancel(self) -> None:
        """Cancel everything inside the scope. Safe to call at any time, any number of times."""
        self._cancel_called = True
        if self._state == _ENTERED:
            self._deliver()

    def _deliver(self) -> None:
        self._cancel_called = True
        self._state = _CANCELLING
        if asyncio.current_task() is self._task:
            self._loop.call_soon(self._cancel_task)  # see the module docs
        else:
            self._cancel_task()

    def _cancel_task(self) -> None:
        if self._state == _CANCELLING and not self._requested:  # still inside the scope
            assert self._task is not None
            self._requested = True
            self._task.cancel()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._state = _EXITED
        if not self._requested:
            return False
        assert self._task is not None
        if self._task.uncancel() <= self._entry_cancelling and exc_type is asyncio.CancelledError:
            self.cancelled_caught = True
            counters.cancellations += 1
            if self._fail:
                raise TimeoutError("the deadline passed before the block finished") from exc
            return True
        return False


def move_on_at(deadline: float) -> CancelScope:
    """A scope that cancels its block at ``deadline`` and carries on after it."""
    return CancelScope(deadline=deadline)


def move_on_after(seconds: float) -> CancelScope:
    """A scope that cancels its block after ``seconds`` and carries on after it; check
    ``scope.cancelled_caught`` to see whether the time ran out."""
    return CancelScope(deadline=current_time() + seconds)


def fail_at(deadline: float) -> CancelScope:
    """Like :func:`move_on_at`, but raises ``TimeoutError`` when the deadline cuts the block."""
    return CancelScope(deadline=deadline, _fail=True)


def fail_after(seconds: float) -> CancelScope:
    """Like :func:`move_on_after`, but raises ``TimeoutError`` when the time runs out."""
    return CancelScope(deadline=current_time() + seconds, _fail=True)
