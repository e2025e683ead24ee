"""Structured concurrency: :class:`TaskGroup` and the handles its ``spawn`` returns.

Theory of operation
-------------------
``spawn(fn, *args)`` starts the child *eagerly*: it runs the coroutine's first step right away,
in a copy of the caller's context, with the new handle installed as the loop's current task (so
``asyncio.current_task()``, cancel scopes and timeouts inside the child bind to the child). A
child that finishes without ever suspending -- the common case for small work -- costs no
``asyncio.Task`` and no loop iteration: its handle is complete when ``spawn`` returns.

A child that does suspend is then driven by its handle itself (see
:mod:`hyphal._core.taskcore`, with a C twin): each later step runs with the *handle* as the
current task, so the child sees one current task for its whole life -- libraries that
remember the task they were entered in (anyio's cancel scopes, which httpx uses) find the same
object when they exit. The handle has the ``asyncio.Task`` surface those libraries use
(``cancel``/``cancelling``/``uncancel``/``_must_cancel``/``_fut_waiter``/``get_coro``).
Cancelling the group cancels every parked child in one loop callback.

Failure semantics follow ``asyncio.TaskGroup``: the first child error cancels the siblings and
the body; when every child has finished, ``__aexit__`` raises an ``ExceptionGroup`` holding all
errors. ``cancel()`` cancels the body and every child and the group exits quietly.
"""

from __future__ import annotations

import asyncio
import inspect
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator
from contextvars import copy_context
from typing import Any, Generic, TypeVar, cast

from hyphal._core.stats import counters
from hyphal._core.taskcore import CANCELLED as _CANCELLED
from hyphal._core.taskcore import FINISHED as _FINISHED
from hyphal._core.taskcore import PENDING as _PENDING
from hyphal._core.taskcore import TaskCore, cancel_children, deliver_cancellation

# asyncio's own bookkeeping of "the current task": private, but stable from 3.11 through 3.14
# (3.12's eager tasks rely on the same pair). Typed loosely: we install TaskHandles too.
_enter_task: Callable[[asyncio.AbstractEventLoop, Any], None] = asyncio.tasks._enter_task
_leave_task: Callable[[asyncio.AbstractEventLoop, Any], None] = asyncio.tasks._leave_task

__all__ = ["TaskGroup", "TaskHandle", "TaskStandIn", "resume", "resume_as"]

T = TypeVar("T")
_current_task = asyncio.current_task
_CancelledError = asyncio.CancelledError


@types.coroutine
def resume(coro: Coroutine[Any, Any, Any], pending: Any) -> Generator[Any, Any, Any]:
    """Finish, in the awaiting task, a coroutine whose first step already ran elsewhere and
    yielded ``pending`` (a cancellation is forwarded into it)."""
    while True:
        try:
            value = yield pending
        except BaseException as exc:
            try:
                pending = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                pending = coro.send(value)
            except StopIteration as stop:
                return stop.value


@types.coroutine
def resume_as(handle: TaskStandIn, loop: asyncio.AbstractEventLoop,
              coro: Coroutine[Any, Any, Any], pending: Any) -> Generator[Any, Any, Any]:
    """Continue a coroutine whose first step ran eagerly with ``handle`` current and yielded
    ``pending``; every later step runs with ``handle`` as the current task again.

    Prime it (``next(gen)``) before a task drives it: a cancellation thrown in before the
    task's first step is then forwarded into the coroutine.
    """
    error: BaseException | None = None
    try:
        yield  # priming point
    except BaseException as exc:  # cancelled before the driving task's first step
        if isinstance(pending, asyncio.Future):
            pending.cancel()
        error = exc
    while True:
        if error is None:
            try:
                yield pending
            except BaseException as exc:
                error = exc
        driver = _current_task(loop)
        _leave_task(loop, driver)
        _enter_task(loop, handle)
        try:
            pending = coro.send(None) if error is None else coro.throw(error)
        except StopIteration as stop:
            return stop.value
        finally:
            error = None
            _leave_task(loop, handle)
            _enter_task(loop, driver)


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


class TaskHandle(TaskCore, Generic[T]):
    """A child spawned into a :class:`TaskGroup`. ``await handle`` gives its result.

    Awaiting a handle does not tie the awaiter to the child: cancelling the awaiter leaves the
    child running (it belongs to its group). Raises the child's exception, or
    ``CancelledError`` if it was cancelled.
    """

    __slots__ = ("__weakref__",)

    def __repr__(self) -> str:
        state = ("pending", "finished", "failed", "cancelled")[self._state]
        return f"<TaskHandle {self.name or hex(id(self))} {state}>"

    def get_name(self) -> str:
        return self.name or repr(self)

    def result(self) -> T:
        """The child's return value; raises its exception, ``CancelledError``, or
        ``asyncio.InvalidStateError`` if it is still running."""
        state = self._state
        if state == _FINISHED:
            return cast(T, self._result)
        if state == _PENDING:
            raise asyncio.InvalidStateError(f"{self!r} has not finished; await it instead")
        if state == _CANCELLED:
            raise _CancelledError()
        assert self._exc is not None
        raise self._exc

    def exception(self) -> BaseException | None:
        if self._state == _PENDING:
            raise asyncio.InvalidStateError(f"{self!r} has not finished; await it instead")
        if self._state == _CANCELLED:
            raise _CancelledError()
        return self._exc

    def __await__(self) -> Generator[Any, None, T]:
        if self._state == _PENDING:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(fut)
            try:
                yield from fut.__await__()
            finally:
                if not fut.done():
                    self._waiters.remove(fut)
        return self.result()


class TaskStandIn:
    """The current task while code runs eagerly outside a group (the HTTP server's async
    handlers): once the code suspends, an ``asyncio.Task`` driving :func:`resume_as` takes
    over (``_task``), and the stand-in forwards the ``asyncio.Task`` surface to it."""

    __slots__ = ("__weakref__", "_cancel_pending", "_cancels", "_task")

    def __init__(self) -> None:
        self._task: asyncio.Task[Any] | None = None
        self._cancels = 0
        self._cancel_pending = False

    def get_name(self) -> str:
        return repr(self)

    def done(self) -> bool:
        return self._task is not None and self._task.done()

    def cancelled(self) -> bool:
        return self._task is not None and self._task.cancelled()

    def cancel(self, msg: object | None = None) -> bool:
        if self._task is not None:
            return self._task.cancel(msg)
        self._cancels += 1
        self._cancel_pending = True
        return True

    @property
    def _must_cancel(self) -> bool:
        task: Any = self._task
        return task._must_cancel if task is not None else self._cancel_pending

    @property
    def _fut_waiter(self) -> Any:
        task: Any = self._task
        return task._fut_waiter if task is not None else None

    def get_coro(self) -> Any:
        return self._task.get_coro() if self._task is not None else None

    def cancelling(self) -> int:
        return self._task.cancelling() if self._task is not None else self._cancels

    def uncancel(self) -> int:
        if self._task is not None:
            return self._task.uncancel()
        if self._cancels > 0:
            self._cancels -= 1
        return self._cancels


class TaskGroup:
    """A scope that owns the tasks spawned into it and waits for all of them.

    ::

        async with hyphal.TaskGroup() as tg:
            a = tg.spawn(fetch, "a")
            b = tg.spawn(fetch, "b")
        print(a.result(), b.result())

    - A child raising an exception cancels its siblings and the body; the group then raises an
      ``ExceptionGroup`` with every error (match it with ``except*``).
    - ``tg.cancel()`` cancels the body and every child; the group exits without error.
    - Cancelling the task that runs the group cancels the children too, and the
      ``CancelledError`` propagates once they are done.
    - Children start eagerly: ``spawn`` runs the child until its first suspension before it
      returns (see the module docs), so a child that needs no I/O is finished on return.
    """

    __slots__ = ("_aborting", "_base_error", "_batch", "_cancel_called", "_entry_cancelling",
                 "_errors", "_exiting", "_host", "_host_cancel_requested",
                 "_live", "_loop", "_name", "_on_completed", "_state")

    def __init__(self, *, name: str | None = None) -> None:
        self._name = name
        self._state = 0  # 0 new, 1 entered, 2 exited
        # a dict for its order: cancelling children in spawn order removes their timers from
        # the loop's heap in the order they were added, which is markedly cheaper
        self._live: dict[TaskHandle[Any], None] = {}
        self._errors: list[BaseException] = []
        self._base_error: BaseException | None = None
        self._aborting = False
        self._batch: list[TaskHandle[Any]] | None = None
        self._exiting = False
        self._cancel_called = False
        self._host_cancel_requested = False
        self._on_completed: asyncio.Future[None] | None = None
        self._entry_cancelling = 0

    def __repr__(self) -> str:
        return f"<TaskGroup {self._name or hex(id(self))} live={len(self._live)}>"

    async def __aenter__(self) -> TaskGroup:
        if self._state != 0:
            raise RuntimeError("a TaskGroup can be entered only once; create a new one")
        self._loop = asyncio.get_running_loop()
        host = _current_task()
        if host is None:
            raise RuntimeError("TaskGroup must be used inside a task")
        self._host: Any = host
        self._entry_cancelling = host.cancelling()
        self._state = 1
        return self

    # -- spawning ---------------------------------------------------------------------------

    def spawn(
        self,
        fn: Callable[..., Awaitable[T]],
        *args: Any,
        name: str | None = None,
    ) -> TaskHandle[T]:
        """Start ``fn(*args)`` as a child of this group and return its handle.

        Raises ``RuntimeError`` if the group is not active (not entered, or already finished)
        and ``TypeError`` if ``fn`` is not an async function (passing ``fn()`` instead of
        ``fn`` is the usual slip).
        """
        if self._state != 1:
            raise RuntimeError(
                "this TaskGroup is not active: spawn inside 'async with TaskGroup() as tg:'"
            )
        try:
            coro: Any = fn(*args)
        except TypeError:
            given: object = fn
            if isinstance(given, Coroutine):
                given.close()
                raise TypeError(
                    "spawn() takes an async function and its arguments, spawn(fn, *args); "
                    "it was given a coroutine object, spawn(fn(*args))"
                ) from None
            raise
        counters.tasks_spawned += 1
        if self._aborting:  # the group is being torn down: the child never starts
            if hasattr(coro, "close"):
                coro.close()
            stillborn: TaskHandle[T] = TaskHandle(None, name)  # never among the live ones
            stillborn._complete(_CANCELLED, None, None)
            return stillborn
        handle: TaskHandle[T] = TaskHandle(self, name)
        if type(coro) is not types.CoroutineType and not asyncio.iscoroutine(coro):
            if not inspect.isawaitable(coro):
                raise TypeError(f"spawn() needs an async function; {fn!r} returned {coro!r}")
            coro = _await(coro)  # e.g. Channel.send, which returns a Future on its fast path
        loop = self._loop
        self._live[handle] = None
        parent = _current_task(loop)
        if parent is not None:
            _leave_task(loop, parent)
        try:
            handle._start(coro, copy_context(), loop)
        finally:
            if parent is not None:
                _enter_task(loop, parent)
        return handle

    # -- cancellation and failure -----------------------------------------------------------

    def cancel(self) -> None:
        """Cancel the body and every child; the group exits quietly once they are done."""
        self._cancel_called = True
        self._abort()
        if self._state == 1 and not self._exiting:
            self._cancel_host()

    @property
    def cancel_called(self) -> bool:
        return self._cancel_called

    def _cancel_host(self) -> None:
        # Never cancel the running host synchronously: the request would outlive the body if
        # it finished without suspending (see hyphal._core.cancel). Defer it to a callback,
        # which runs while the host is suspended.
        if _current_task(self._loop) is self._host:
            self._loop.call_soon(self._cancel_host_now)
        else:
            self._cancel_host_now()

    def _cancel_host_now(self) -> None:
        if self._state == 1 and not self._exiting and not self._host_cancel_requested:
            self._host_cancel_requested = True
            self._host.cancel()

    def _abort(self) -> None:
        # Newest first: children usually armed their timers in spawn order, and the loop's
        # timer heap removes the most recent ones cheapest.
        self._aborting = True
        self._batch = cancel_children(reversed(self._live), self._loop)

    def _deliver_now(self, batch: list[TaskHandle[Any]]) -> None:
        """Deliver a scheduled batch of cancellations right here, in ``__aexit__`` (the host
        is about to wait for those children anyway), the way ``spawn`` runs a child's first
        step: with the host stepped aside as the current task. The scheduled callback then
        finds nothing left to do."""
        loop = self._loop
        host = _current_task(loop)
        if host is not None:
            _leave_task(loop, host)
        try:
            deliver_cancellation(batch)
        finally:
            if host is not None:
                _enter_task(loop, host)

    def _child_done(self, child: TaskHandle[Any], exc: BaseException | None) -> None:
        self._live.pop(child, None)
        if exc is not None:
            self._errors.append(exc)
            if not isinstance(exc, Exception) and self._base_error is None:
                self._base_error = exc
            if not self._aborting:
                self._abort()
                if self._state == 1 and not self._exiting:
                    self._cancel_host()
        if not self._live and self._on_completed is not None and not self._on_completed.done():
            self._on_completed.set_result(None)

    def _children_done(self, children: list[TaskHandle[Any]]) -> None:
        """Several children finished without error (the C driver's batch of cancellations
        reports them together). Each of them is in ``_live`` exactly once (spawned into
        this group, and a child reports its completion once)."""
        live = self._live
        if len(children) == len(live):  # each of them is in live once: they are all of it
            live.clear()
        else:
            for child in children:
                del live[child]
        if not self._live and self._on_completed is not None and not self._on_completed.done():
            self._on_completed.set_result(None)

    async def __aexit__(
        self,
        et: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> bool:
        self._exiting = True
        propagate_cancel: BaseException | None = exc if et is _CancelledError else None
        if exc is not None and not isinstance(exc, Exception | _CancelledError):
            self._base_error = self._base_error or exc
        if et is not None and not self._aborting:
            self._abort()
        while self._live:
            batch = self._batch
            if batch is not None:
                self._batch = None
                self._deliver_now(batch)
                continue
            self._on_completed = self._loop.create_future()
            try:
                await self._on_completed
            except _CancelledError as cancel:
                if propagate_cancel is None:
                    propagate_cancel = cancel
                if not self._aborting:
                    self._abort()
            finally:
                self._on_completed = None
        if self._host_cancel_requested and self._host.uncancel() <= self._entry_cancelling:
            propagate_cancel = None  # the cancellation was ours
        self._state = 2
        if self._base_error is not None:
            raise self._base_error
        if et is not None and et is not _CancelledError:
            assert exc is not None
            self._errors.insert(0, exc)
        if self._errors:
            errors, self._errors = self._errors, []
            raise ExceptionGroup(
                "unhandled errors in a TaskGroup", cast(list[Exception], errors)
            ) from None
        if propagate_cancel is not None:
            raise propagate_cancel
        return et is _CancelledError  # our own cancellation: swallow it
