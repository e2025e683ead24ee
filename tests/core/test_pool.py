"""ObjectPool: reuse, limits, waiting, reset, statistics, close."""

from __future__ import annotations

import itertools

import pytest

import hyphal


def _counter_factory() -> itertools.count[int]:
    return itertools.count()


async def test_objects_are_reused() -> None:
    made = itertools.count()
    pool = hyphal.ObjectPool(lambda: next(made), size=2)
    async with pool.borrow() as a:
        pass
    async with pool.borrow() as b:
        pass
    assert a == b == 0
    stats = pool.statistics()
    assert (stats.created, stats.reused, stats.in_use, stats.idle) == (1, 1, 0, 1)


async def test_async_factory_and_reset() -> None:
    resets = []

    async def make() -> list[int]:
        return []

    pool = hyphal.ObjectPool(make, size=1, reset=lambda obj: (obj.clear(), resets.append(1)))
    obj = await pool.acquire()
    obj.append(1)
    await pool.release(obj)
    again = await pool.acquire()
    assert again is obj
    assert again == []
    assert resets == [1]


async def test_exhausted_pool_waits_or_raises() -> None:
    pool = hyphal.ObjectPool(object, size=1)
    first = await pool.acquire()
    with pytest.raises(hyphal.WouldBlock, match="in use"):
        await pool.acquire(wait=False)
    with pytest.raises(TimeoutError):
        await pool.acquire(timeout=0.01)

    async def give_back() -> None:
        await hyphal.sleep(0.01)
        await pool.release(first)

    async with hyphal.TaskGroup() as tg:
        tg.spawn(give_back)
        second = await pool.acquire()
    assert second is first
    assert pool.statistics().high_water == 1


async def test_error_in_block_discards_the_object() -> None:
    made = itertools.count()
    pool = hyphal.ObjectPool(lambda: next(made), size=1)
    with pytest.raises(RuntimeError):
        async with pool.borrow():
            raise RuntimeError("broken")
    async with pool.borrow() as obj:
        assert obj == 1  # a fresh one
    assert pool.statistics().discarded == 1


async def test_cancelled_waiter_does_not_swallow_an_object() -> None:
    pool = hyphal.ObjectPool(object, size=1)
    held = await pool.acquire()
    with hyphal.move_on_after(0.01):
        await pool.acquire()
    await pool.release(held)
    assert await pool.acquire(wait=False) is held


async def test_close_wakes_waiters_and_refuses_new_acquires() -> None:
    closed = []
    pool = hyphal.ObjectPool(object, size=1, close=closed.append)
    held = await pool.acquire()

    async def waiter() -> None:
        with pytest.raises(hyphal.ClosedResourceError):
            await pool.acquire()

    async with hyphal.TaskGroup() as tg:
        tg.spawn(waiter)
        await hyphal.sleep(0)
        await pool.aclose()
    with pytest.raises(hyphal.ClosedResourceError):
        await pool.acquire()
    await pool.release(held)
    assert closed == [held]


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="size"):
        hyphal.ObjectPool(object, size=0)
