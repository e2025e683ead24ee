"""The task driver behind TaskHandle (hyphal._core.taskcore and its C twin): children that
suspend are stepped by their handle, and a group's cancellation reaches every parked child in
one batch. The pure-Python twin runs these same tests (test_speedups.py)."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest

import hyphal
from hyphal._core import taskcore

_where: contextvars.ContextVar[str] = contextvars.ContextVar("where", default="unset")


async def test_batch_cancellation_runs_every_childs_cleanup_in_its_own_task_and_context(
) -> None:
    seen: dict[int, tuple[str, bool, str]] = {}

    async def child(i: int) -> None:
        _where.set(f"child {i}")
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            seen[i] = ("except", asyncio.current_task() is handles[i], _where.get())
            raise
        finally:
            seen.setdefault(i, ("finally only", False, ""))

    handles: list[Any] = []
    async with hyphal.TaskGroup() as tg:
        handles.extend(tg.spawn(child, i) for i in range(200))
        await asyncio.sleep(0)
        tg.cancel()
    assert seen == {i: ("except", True, f"child {i}") for i in range(200)}
    assert all(h.cancelled() for h in handles)
    assert _where.get() == "unset"  # no child's context leaked into the host
    with pytest.raises(asyncio.CancelledError):
        handles[0].result()


async def test_children_spawned_during_cancellation() -> None:
    started: list[str] = []
    late: list[Any] = []

    async def child() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            # into the group being torn down: never starts, is cancelled at once
            late.append(tg.spawn(_record, started, "late"))
            # into a fresh group of its own: runs to completion during the cleanup
            async with hyphal.TaskGroup() as inner:
                cleanup = inner.spawn(_sleep_value, "cleanup")
            started.append(cleanup.result())
            raise

    async with hyphal.TaskGroup() as tg:
        tg.spawn(child)
        tg.spawn(child)
        await asyncio.sleep(0)
        tg.cancel()
    assert started == ["cleanup", "cleanup"]
    assert len(late) == 2 and all(h.cancelled() for h in late)


async def _record(into: list[str], what: str) -> None:
    into.append(what)


async def _sleep_value(value: str) -> str:
    await asyncio.sleep(0.005)
    return value


async def test_child_that_awaits_in_its_cleanup_is_waited_for() -> None:
    order: list[str] = []

    async def slow_cleanup() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            await asyncio.sleep(0.02)
            order.append("slow cleanup done")

    async def quick() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            order.append("quick cleanup done")

    async with hyphal.TaskGroup() as tg:
        slow = tg.spawn(slow_cleanup)
        tg.spawn(quick)
        await asyncio.sleep(0)
        tg.cancel()
    order.append("group exited")
    assert order == ["quick cleanup done", "slow cleanup done", "group exited"]
    assert slow.cancelled()


async def test_cleanup_error_during_batch_is_reported_and_siblings_still_cancelled() -> None:
    cancelled: list[int] = []

    async def child(i: int) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(i)
            if i == 3:
                raise KeyError("cleanup failed") from None
            raise

    with pytest.raises(ExceptionGroup) as info:
        async with hyphal.TaskGroup() as tg:
            for i in range(8):
                tg.spawn(child, i)
            await asyncio.sleep(0)
            tg.cancel()
    assert info.group_contains(KeyError)
    assert sorted(cancelled) == list(range(8))


async def test_cancel_while_running_is_delivered_at_the_next_suspension() -> None:
    steps: list[str] = []

    async def child() -> None:
        tg.cancel()  # the child is running: nothing is thrown into it here
        steps.append("still running")
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            steps.append("cancelled at the await")
            raise

    async with hyphal.TaskGroup() as tg:
        handle = tg.spawn(child)
    assert steps == ["still running", "cancelled at the await"]
    assert handle.cancelled()


async def test_awaited_task_finishes_its_cancellation_before_the_child_resumes() -> None:
    order: list[str] = []

    async def inner() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            await asyncio.sleep(0.01)
            order.append("inner cleaned up")

    async def child() -> None:
        try:
            await asyncio.get_running_loop().create_task(inner())
        except asyncio.CancelledError:
            order.append("child cancelled")
            raise

    async with hyphal.TaskGroup() as tg:
        tg.spawn(child)
        await asyncio.sleep(0)
        tg.cancel()
    assert order == ["inner cleaned up", "child cancelled"]


async def test_gather_inside_a_child_is_cancelled_with_it() -> None:
    cancelled: list[int] = []

    async def leaf(i: int) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(i)
            raise

    async def child() -> None:
        await asyncio.gather(leaf(1), leaf(2))

    async with hyphal.TaskGroup() as tg:
        tg.spawn(child)
        await asyncio.sleep(0.01)
        tg.cancel()
    assert sorted(cancelled) == [1, 2]


async def test_timeouts_inside_children_keep_their_uncancel_accounting() -> None:
    async def child() -> str:
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(60)
        except TimeoutError:
            pass
        me: Any = asyncio.current_task()
        assert me.cancelling() == 0
        with hyphal.move_on_after(0.01) as scope:
            await asyncio.sleep(60)
        assert scope.cancelled_caught
        await asyncio.sleep(0)  # no cancellation left over
        return "went on"

    async with hyphal.TaskGroup() as tg:
        handle = tg.spawn(child)
    assert handle.result() == "went on"


async def test_cancelling_one_handle_directly() -> None:
    async def child() -> str:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            me: Any = asyncio.current_task()
            assert me.cancelling() == 1
            me.uncancel()
            return "caught"
        return "not cancelled"

    async with hyphal.TaskGroup() as tg:
        handle = tg.spawn(child)
        await asyncio.sleep(0)
        assert handle.cancel() and handle.cancelling() == 1
    assert handle.result() == "caught"
    assert not handle.cancel()  # finished: nothing to cancel


async def test_bare_yields_and_bad_yields() -> None:
    class BadAwaitable:
        def __await__(self) -> Any:
            yield "not a future"

    async def spins() -> int:
        for _ in range(5):
            await asyncio.sleep(0)  # a bare yield each time
        return 5

    async def bad() -> None:
        await BadAwaitable()

    async with hyphal.TaskGroup() as tg:
        spun = tg.spawn(spins)
    assert spun.result() == 5
    with pytest.raises(ExceptionGroup) as info:
        async with hyphal.TaskGroup() as tg:
            tg.spawn(bad)
    assert info.group_contains(RuntimeError, match="bad yield")


async def test_nested_groups_cancelled_from_the_top() -> None:
    leaves: list[int] = []

    async def leaf(i: int) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            leaves.append(i)
            raise

    async def middle(base: int) -> None:
        async with hyphal.TaskGroup() as inner:
            for i in range(5):
                inner.spawn(leaf, base + i)

    async with hyphal.TaskGroup() as tg:
        for base in range(0, 50, 10):
            tg.spawn(middle, base)
        await asyncio.sleep(0)
        tg.cancel()
    assert sorted(leaves) == [b + i for b in range(0, 50, 10) for i in range(5)]


async def test_the_scheduled_batch_is_harmless_after_the_group_delivered_it() -> None:
    async with hyphal.TaskGroup() as tg:
        handles = [tg.spawn(asyncio.sleep, 60) for _ in range(10)]
        await asyncio.sleep(0)
        tg.cancel()
    # the group delivered the batch itself when it joined; the loop callback runs now
    await asyncio.sleep(0)
    assert all(h.cancelled() for h in handles)
    taskcore.deliver_cancellation(list(handles))  # done children are skipped
    assert all(h.cancelled() for h in handles)
