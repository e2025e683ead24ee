"""Bounded stress tests: many channels, many cancellations, wide task trees."""

from __future__ import annotations

import asyncio

import pytest

import hyphal
from hyphal import Channel


@pytest.mark.slow
async def test_200_channels_10k_items_each() -> None:
    n_channels, n_items = 200, 10_000
    totals: list[int] = []

    async def pump(ch: Channel[int]) -> None:
        with ch.clone() as tx:
            for i in range(n_items):
                await tx.send(i) if i % 97 == 0 else tx.send_nowait(i) if len(ch) < 64 else \
                    await tx.send(i)

    async def drain(ch: Channel[int]) -> None:
        total = 0
        async for x in ch:
            total += x
        totals.append(total)

    async with hyphal.TaskGroup() as tg:
        for _ in range(n_channels):
            ch: Channel[int] = Channel(64)
            tg.spawn(drain, ch)
            tg.spawn(pump, ch)
            ch.close()
    assert totals == [sum(range(n_items))] * n_channels


@pytest.mark.slow
async def test_100k_cancelled_receives_lose_nothing() -> None:
    ch: Channel[int] = Channel(0)
    received: list[int] = []
    cancelled = 0

    async def receiver() -> None:
        nonlocal cancelled
        for _ in range(100_000):
            with hyphal.CancelScope() as scope:
                scope.cancel() if len(received) % 3 else None
                received.append(await ch.recv())
            if scope.cancelled_caught:
                cancelled += 1

    async def sender() -> None:
        i = 0
        while True:
            await ch.send(i)
            i += 1

    async with hyphal.TaskGroup() as tg:
        s = tg.spawn(sender)
        await receiver()
        tg.cancel()
    del s
    assert received == list(range(len(received)))  # no gap: nothing lost, order kept
    assert cancelled + len(received) == 100_000
    assert cancelled > 10_000


@pytest.mark.slow
async def test_cancel_10k_sleeping_tasks() -> None:
    async with hyphal.TaskGroup() as tg:
        handles = [tg.spawn(hyphal.sleep, 60) for _ in range(10_000)]
        await hyphal.sleep(0)
        tg.cancel()
    assert all(h.cancelled() for h in handles)
    assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


@pytest.mark.slow
async def test_task_tree_four_deep_ten_wide() -> None:
    async def node(depth: int) -> int:
        if depth == 4:
            await hyphal.sleep(0)
            return 1
        async with hyphal.TaskGroup() as tg:
            kids = [tg.spawn(node, depth + 1) for _ in range(10)]
        return sum(k.result() for k in kids)

    assert await node(0) == 10_000
