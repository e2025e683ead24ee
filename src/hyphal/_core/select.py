"""``select``: wait for the first of several channel operations, performing exactly one.

Theory of operation: first try every operation without waiting, in argument order (so earlier
operations have priority when several are ready). If none is ready, register one waiter per
operation, all sharing one future; the first channel able to complete its operation resolves
the future with ``(index, value)``, and the others skip a waiter whose future is already done.
After waking, every waiter is unregistered. A receive that completed while the select was being
cancelled gives its item back, so cancellation never loses an item.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable
from typing import Any

from hyphal._core.channel import DELIVERED_NOTE, RecvOp, SendOp, _Waiter
from hyphal._core.channel import speedups as _speedups
from hyphal._core.timing import DeadlineTimer, current_time

__all__ = ["select"]

Op = RecvOp[Any] | SendOp[Any]


def _time_out(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError("select() timed out before any operation could happen"))


def select(*ops: Op, timeout: float | None = None) -> Awaitable[tuple[int, Any]]:
    """Perform exactly one of ``ops``; awaiting the result gives ``(index, value)``.

    ``value`` is the received item for a ``ch.recv_op()`` and ``None`` for a
    ``ch.send_op(x)``. When several are ready, the first in argument order wins. Raises
    ``TimeoutError`` if ``timeout`` seconds pass with none possible, ``EndOfChannel`` /
    ``ClosedResourceError`` from the channel whose operation can never happen, ``ValueError``
    for no operations. If an operation can happen at once, ``select()`` performs it as it is
    called: await what it returns.
    """
    return _select(ops, timeout)


async def _select(ops: tuple[Op, ...], timeout: float | None) -> tuple[int, Any]:
    for i, op in enumerate(ops):  # the first operation that can happen right now
        ok, value = op.try_now()
        if ok:
            return i, value
    if not ops:
        raise ValueError("select() needs at least one operation, such as ch.recv_op()")
    if timeout is not None and timeout <= 0:
        raise TimeoutError("select() timed out before any operation could happen")
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[tuple[int, Any]] = loop.create_future()
    waiters = []
    for i, op in enumerate(ops):
        w = _Waiter(fut, i, op.item if isinstance(op, SendOp) else None)
        op.channel._add_waiter(w, op.sending)
        waiters.append(w)
    timer = None
    if timeout is not None and timeout != math.inf:
        timer = DeadlineTimer(loop, current_time() + timeout, lambda: _time_out(fut))
    try:
        return await fut
    except asyncio.CancelledError as exc:
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            index, value = fut.result()
            op = ops[index]
            if op.sending:
                exc.add_note(DELIVERED_NOTE)
            else:
                op.undo(value)
        raise
    finally:
        if timer is not None:
            timer.cancel()
        for op, w in zip(ops, waiters, strict=True):
            op.channel._remove_waiter(w, op.sending)


if _speedups is not None:  # the same function with its ready-receive fast path in C
    _speedups.set_select_fallback(_select)
    select = _speedups.select
