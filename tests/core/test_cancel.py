"""Cancel scopes, timeouts and sleep."""

from __future__ import annotations

import asyncio
import math

import pytest

import hyphal


async def test_move_on_after_cuts_the_block() -> None:
    with hyphal.move_on_after(0.01) as scope:
        await hyphal.sleep(5)
        raise AssertionError("not reached")
    assert scope.cancelled_caught and scope.cancel_called


async def test_move_on_after_leaves_fast_blocks_alone() -> None:
    with hyphal.move_on_after(5) as scope:
        await hyphal.sleep(0)
    assert not scope.cancelled_caught and not scope.cancel_called


async def test_fail_after_raises_timeout_error() -> None:
    with pytest.raises(TimeoutError, match="deadline"), hyphal.fail_after(0.01):
        await hyphal.sleep(5)


async def test_cancel_by_hand_and_before_entry() -> None:
    scope = hyphal.CancelScope()
    scope.cancel()
    with scope:
        await hyphal.sleep(5)
    assert scope.cancelled_caught

    async def canceller(s: hyphal.CancelScope) -> None:
        await hyphal.sleep(0.01)
        s.cancel()

    with hyphal.CancelScope() as scope2:
        async with hyphal.TaskGroup() as tg:
            tg.spawn(canceller, scope2)
            await hyphal.sleep(5)
    assert scope2.cancelled_caught


async def test_inner_deadline_never_extends_the_outer() -> None:
    start = hyphal.current_time()
    with hyphal.move_on_after(0.05) as outer, hyphal.move_on_after(10) as inner:
        await hyphal.sleep(10)
    assert outer.cancelled_caught and not inner.cancelled_caught
    assert hyphal.current_time() - start < 5


async def test_inner_shorter_deadline_fires_first() -> None:
    with hyphal.move_on_after(10) as outer:
        with hyphal.move_on_after(0.01) as inner:
            await hyphal.sleep(10)
        await hyphal.sleep(0)
    assert inner.cancelled_caught and not outer.cancelled_caught


async def test_outer_cancellation_is_not_swallowed_by_inner_scope() -> None:
    task_scope = hyphal.CancelScope()

    async def body() -> None:
        with task_scope, hyphal.move_on_after(10):
            await hyphal.sleep(0.01)
            task_scope.cancel()
            await hyphal.sleep(10)

    await body()
    assert task_scope.cancelled_caught


async def test_external_cancel_passes_through_a_scope() -> None:
    async def victim() -> None:
        with hyphal.move_on_after(10):
            await hyphal.sleep(10)

    task = asyncio.get_running_loop().create_task(victim())
    await hyphal.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_scope_cannot_be_reentered() -> None:
    scope = hyphal.CancelScope()
    with scope:
        pass
    with pytest.raises(RuntimeError, match="only once"), scope:
        pass


def test_scope_outside_a_task_says_so() -> None:
    with pytest.raises(RuntimeError, match="inside a task"), hyphal.CancelScope():
        pass


async def test_nan_is_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        await hyphal.sleep(math.nan)
    with pytest.raises(ValueError, match="NaN"):
        hyphal.CancelScope(deadline=math.nan)


async def test_sleep_never_wakes_early() -> None:
    early = 0
    for _ in range(150):
        start = hyphal.current_time()
        await hyphal.sleep(0.001)
        if hyphal.current_time() - start < 0.001:
            early += 1
    assert early == 0


async def test_deadline_timer_never_fires_early() -> None:
    loop = asyncio.get_running_loop()
    early = 0
    for _ in range(100):
        start = hyphal.current_time()
        with hyphal.move_on_after(0.001):
            await asyncio.sleep(1)
        if hyphal.current_time() - start < 0.001:
            early += 1
    assert early == 0
    assert loop.is_running()


async def test_cancellations_are_counted() -> None:
    before = hyphal.statistics().cancellations
    with hyphal.move_on_after(0):
        await hyphal.sleep(1)
    assert hyphal.statistics().cancellations == before + 1
