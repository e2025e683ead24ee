"""The task driver behind :class:`hyphal.TaskHandle`: steps a child's coroutine without an
``asyncio.Task``, and cancels a whole group of parked children in one loop callback.

Theory of operation
-------------------
A :class:`_PyTaskCore` (or its C twin ``hyphal._core._speedups.TaskCore``, used when it was
built and ``HYPHAL_PURE_PYTHON`` is not set) drives one coroutine the way ``asyncio.Task``
does: ``_step`` sends into (or throws into) the coroutine with the handle installed as the
loop's current task, and looks at what it yielded:

- an asyncio future (``_asyncio_future_blocking`` set): the handle *parks* on it -- it adds
  its ``_wakeup`` callback (in the child's context) and remembers it as ``_fut_waiter``;
- ``None`` (a bare ``yield``, ``sleep(0)``): ``_wakeup`` is scheduled with ``call_soon``;
- anything else: a ``RuntimeError`` is thrown into the coroutine on the next iteration.

``_step`` runs in the child's ``contextvars.Context``: callbacks are registered with
``context=``, and the two direct callers (``_start``, ``TaskGroup.spawn``'s eager first step,
and :func:`deliver_cancellation`) enter it themselves.

Cancellation follows ``asyncio.Task``: ``cancel()`` counts the request, cancels the awaited
future if there is one (its completion wakes the child, which then sees ``CancelledError``),
and otherwise sets ``_must_cancel`` so the next step throws ``CancelledError`` -- so a child
that is running when it is cancelled gets the error at its next suspension, never inside
the running step. ``cancelling``/``uncancel``/``_must_cancel``/``_fut_waiter``/``get_coro``
are the ``asyncio.Task`` surface that cancel scopes, ``asyncio.timeout`` and anyio use.

:func:`cancel_children` is the group-wide cancellation: it counts a request on every pending
child and sets ``_must_cancel``, then schedules ONE callback (:func:`deliver_cancellation`)
that, for each child still parked, takes back its wake-up callback from the awaited future,
cancels that future and steps the child at once (throwing ``CancelledError`` into it). A child
whose future already completed has its wake-up scheduled and sees ``_must_cancel`` there; a
child whose awaited object does not finish when cancelled (an ``asyncio.Task``, a ``gather``)
keeps waiting for it, as under asyncio. So cancelling N parked children costs one loop
iteration instead of 2N callbacks. The group hands the children over newest first (timers are
usually armed in spawn order, and the loop's timer heap removes the newest cheapest), and when
its host reaches ``__aexit__`` while the batch is still scheduled it delivers it there, in place
-- as ``spawn`` runs a first step eagerly -- so the scheduled callback finds nothing left to do.
Delivering a batch twice is harmless: done, re-parked and already-woken children are skipped.

Completion (``_complete``) records the outcome, wakes whoever awaits the handle and tells the
group (``_child_done``; the C driver reports the children a batch finished without error in one
``_children_done`` call, and counts completions itself, see :func:`stats.set_task_counts`).
The C core is its own wake-up callback (calling it steps the child), which saves a bound
method per child. A cancelled child stores no exception object: ``result()`` makes a
fresh ``CancelledError`` (as ``asyncio.Future`` does), which keeps finished frames from
outliving the child.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from hyphal._core.native import load_speedups
from hyphal._core.stats import counters, set_task_counts

__all__ = ["CANCELLED", "FAILED", "FINISHED", "PENDING", "SPEEDUPS", "TaskCore", "cancel_children",
           "deliver_cancellation"]

_enter_task: Callable[[asyncio.AbstractEventLoop, Any], None] = asyncio.tasks._enter_task
_leave_task: Callable[[asyncio.AbstractEventLoop, Any], None] = asyncio.tasks._leave_task
_CancelledError = asyncio.CancelledError

PENDING, FINISHED, FAILED, CANCELLED = range(4)


class _PyTaskCore:
    """The pure-Python twin of ``_speedups.TaskCore`` (see the module docs)."""

    __slots__ = ("_cancel_msg", "_coro", "_ctx", "_exc", "_fut_waiter", "_group", "_loop",
                 "_must_cancel", "_num_cancels", "_result", "_state", "_waiters", "name")

    def __init__(self, group: Any, name: str | None) -> None:
        self._group = group
        self.name = name
        self._state = PENDING
        self._result: Any = None
        self._exc: BaseException | None = None
        self._waiters: list[asyncio.Future[None]] | None = None
        self._coro: Any = None
        self._ctx: Any = None
        self._loop: Any = None
        self._fut_waiter: Any = None
        self._must_cancel = False
        self._cancel_msg: object | None = None
        self._num_cancels = 0

    # -- the asyncio.Task surface -----------------------------------------------------------

    def done(self) -> bool:
        return self._state != PENDING

    def cancelled(self) -> bool:
        return self._state == CANCELLED

    def cancel(self, msg: object | None = None) -> bool:
        """Request cancellation; returns False if the child has already finished."""
        if self._state != PENDING:
            return False
        self._num_cancels += 1
        fut = self._fut_waiter
        if fut is not None and (fut.cancel() if msg is None else fut.cancel(msg=msg)):
            return True
        self._must_cancel = True
        self._cancel_msg = msg
        return True

    def cancelling(self) -> int:
        return self._num_cancels

    def uncancel(self) -> int:
        if self._num_cancels > 0:
            self._num_cancels -= 1
        return self._num_cancels

    def get_coro(self) -> Any:
        return self._coro

    # -- driving ----------------------------------------------------------------------------

    def _start(self, coro: Any, ctx: Any, loop: Any) -> None:
        """Run the first step now, in ``ctx`` (the caller has left its own task)."""
        self._coro = coro
        self._ctx = ctx
        self._loop = loop
        ctx.run(self._step, None)

    def _wakeup(self, fut: Any) -> None:
        """Loop callback: the awaited future completed (or ``None``: a bare yield)."""
        if fut is None or isinstance(fut, BaseException):
            self._step(fut)
            return
        try:
            fut.result()
        except BaseException as exc:
            self._step(exc)
        else:
            self._step(None)

    def _step(self, exc: BaseException | None) -> None:
        if self._state != PENDING:
            return
        if self._must_cancel:
            if not isinstance(exc, _CancelledError):
                msg = self._cancel_msg
                exc = _CancelledError() if msg is None else _CancelledError(msg)
            self._must_cancel = False
        self._fut_waiter = None
        loop = self._loop
        _enter_task(loop, self)
        try:
            result = self._coro.send(None) if exc is None else self._coro.throw(exc)
        except StopIteration as stop:
            _leave_task(loop, self)
            if self._must_cancel:  # cancelled while finishing: asyncio.Task's rule
                self._must_cancel = False
                self._complete(CANCELLED, None, None)
            else:
                self._complete(FINISHED, stop.value, None)
        except _CancelledError:
            _leave_task(loop, self)
            self._complete(CANCELLED, None, None)
        except (KeyboardInterrupt, SystemExit) as error:
            _leave_task(loop, self)
            self._complete(FAILED, None, error)
            raise
        except BaseException as error:
            _leave_task(loop, self)
            self._complete(FAILED, None, error)
        else:
            _leave_task(loop, self)
            self._park(result)

    def _park(self, result: Any) -> None:
        blocking = getattr(result, "_asyncio_future_blocking", None)
        if blocking is not None:
            if not blocking:
                self._fail_soon(f"yield was used instead of yield from in task {self!r} "
                                f"with {result!r}")
            elif result.get_loop() is not self._loop:
                self._fail_soon(f"task {self!r} got future {result!r} attached to a "
                                "different loop")
            else:
                result._asyncio_future_blocking = False
                result.add_done_callback(self._wakeup, context=self._ctx)
                self._fut_waiter = result
                if self._must_cancel:
                    msg = self._cancel_msg
                    if result.cancel() if msg is None else result.cancel(msg=msg):
                        self._must_cancel = False
        elif result is None:
            self._loop.call_soon(self._wakeup, None, context=self._ctx)
        else:
            self._fail_soon(f"task got bad yield: {result!r}")

    def _fail_soon(self, message: str) -> None:
        self._loop.call_soon(self._wakeup, RuntimeError(message), context=self._ctx)

    def _complete(self, state: int, result: Any, exc: BaseException | None) -> None:
        self._state = state
        self._result = result
        self._exc = exc
        self._fut_waiter = None
        if state == FINISHED:
            counters.tasks_finished += 1
        elif state == FAILED:
            counters.tasks_failed += 1
        else:
            counters.tasks_cancelled += 1
        waiters = self._waiters
        if waiters:
            self._waiters = None
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)
        group = self._group
        if group is not None:
            group._child_done(self, exc if state == FAILED else None)


def _py_cancel_children(children: Iterable[Any],
                        loop: asyncio.AbstractEventLoop) -> list[Any] | None:
    """Request cancellation of every pending child; deliver it to the parked ones in one
    loop callback (see the module docs). Returns the parked ones (the batch), if any."""
    parked = []
    for child in children:
        if child._state != PENDING:
            continue
        child._num_cancels += 1
        child._must_cancel = True
        child._cancel_msg = None
        if child._fut_waiter is not None:
            parked.append(child)
    if not parked:
        return None
    loop.call_soon(_py_deliver_cancellation, parked)
    return parked


def _py_deliver_cancellation(parked: list[Any]) -> None:
    """Deliver the cancellations of a batch; a child that is done, or was woken meanwhile
    (it sees its cancellation when it steps), is skipped, so delivering twice is harmless."""
    for i, child in enumerate(parked):
        fut = child._fut_waiter
        if child._state != PENDING or not child._must_cancel or fut is None:
            continue
        if not fut.remove_done_callback(child._wakeup):
            continue  # it completed meanwhile: the scheduled wake-up delivers the cancel
        cancelled = fut.cancel()
        if not fut.done():  # e.g. an asyncio.Task: wait until it has finished, as asyncio does
            fut.add_done_callback(child._wakeup, context=child._ctx)
            if cancelled:
                child._must_cancel = False
            continue
        try:
            child._ctx.run(child._step, None)
        except BaseException:
            rest = parked[i + 1:]
            if rest:
                child._loop.call_soon(_py_deliver_cancellation, rest)
            raise


_speedups: Any = load_speedups("hyphal._core")  # None: the pure-Python driver takes over

if TYPE_CHECKING or _speedups is None:
    TaskCore = _PyTaskCore
    cancel_children = _py_cancel_children
    deliver_cancellation = _py_deliver_cancellation
else:
    _speedups.setup_tasks(
        _CancelledError, _enter_task, _leave_task, asyncio.Future,
        # asyncio's C helpers keep the current tasks in this dict: the driver uses it directly
        getattr(asyncio.tasks, "_current_tasks", None)
        if type(_enter_task).__name__ == "builtin_function_or_method" else None)
    set_task_counts(_speedups.task_counts)
    TaskCore = _speedups.TaskCore
    cancel_children = _speedups.cancel_children
    deliver_cancellation = _speedups.deliver_cancellation

SPEEDUPS = TaskCore is not _PyTaskCore
"""True when the C task driver is in use."""
