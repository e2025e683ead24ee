"""Channel behaviour users rely on: capacities, policies, closing, clones, cancellation."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

import pytest

import hyphal
from hyphal import Channel, Overflow


async def test_fifo_through_a_bounded_channel() -> None:
    ch: Channel[int] = Channel(3)
    out: list[int] = []

    async def consume() -> None:
        async for x in ch:
            out.append(x)

    async with hyphal.TaskGroup() as tg:
        tg.spawn(consume)
        for i in range(100):
            await ch.send(i)
        ch.close()
    assert out == list(range(100))


async def test_rendezvous_send_waits_for_a_receiver() -> None:
    ch: Channel[str] = Channel(0)
    with pytest.raises(hyphal.WouldBlock):
        ch.send_nowait("x")
    async with hyphal.TaskGroup() as tg:
        sender = tg.spawn(ch.send, "hello")
        await hyphal.sleep(0.01)
        assert not sender.done()  # nobody received yet
        assert await ch.recv() == "hello"
    assert sender.done()


async def test_unbounded_never_blocks() -> None:
    ch: Channel[int] = Channel(None)
    for i in range(10_000):
        ch.send_nowait(i)
    assert len(ch) == 10_000
    assert ch.capacity is None
    assert await ch.recv_many(20_000) == list(range(10_000))


async def test_bounded_send_waits_for_room() -> None:
    ch: Channel[int] = Channel(2)
    ch.send_nowait(1)
    ch.send_nowait(2)
    with pytest.raises(hyphal.WouldBlock, match="full"):
        ch.send_nowait(3)
    async with hyphal.TaskGroup() as tg:
        sender = tg.spawn(ch.send, 3)
        assert not sender.done()
        assert await ch.recv() == 1
        await hyphal.sleep(0.01)
        assert sender.done()
    assert [ch.recv_nowait() for _ in range(2)] == [2, 3]


async def test_drop_oldest_and_drop_newest_count_what_they_drop() -> None:
    oldest: Channel[int] = Channel(3, Overflow.DROP_OLDEST)
    newest: Channel[int] = Channel(3, Overflow.DROP_NEWEST)
    for i in range(10):
        await oldest.send(i)
        newest.send_nowait(i)
    assert await oldest.recv_many(10) == [7, 8, 9]
    assert await newest.recv_many(10) == [0, 1, 2]
    for ch in (oldest, newest):
        stats = ch.statistics()
        assert (stats.sent, stats.received, stats.dropped) == (10, 3, 7)


async def test_spill_keeps_everything_in_order_and_memory_bounded(tmp_path: object) -> None:
    ch: Channel[tuple[int, str]] = Channel(8, Overflow.SPILL, spill_dir=str(tmp_path))
    for i in range(5000):
        await ch.send((i, "x" * 10))
    stats = ch.statistics()
    assert stats.buffered == 8 and stats.spilled == 4992
    got = []
    while len(got) < 5000:
        got.extend(await ch.recv_many(100))
    assert got == [(i, "x" * 10) for i in range(5000)]
    ch.send_nowait((1, "after drain"))  # back on the memory fast path
    assert ch.statistics().spilled == 0
    assert await ch.recv() == (1, "after drain")
    ch.close()


async def test_spill_interleaved_with_receives_keeps_order() -> None:
    ch: Channel[int] = Channel(4, Overflow.SPILL)
    got: list[int] = []
    sent = 0
    for round_ in range(50):
        for _ in range(round_ % 13):
            ch.send_nowait(sent)
            sent += 1
        for _ in range(round_ % 7):
            try:
                got.append(ch.recv_nowait())
            except hyphal.WouldBlock:
                break
    ch.close()
    got.extend([x async for x in ch])
    assert got == list(range(sent))


async def test_spill_memory_stays_bounded() -> None:
    n = 100_000
    ch: Channel[int] = Channel(100, Overflow.SPILL)
    gc.collect()
    tracemalloc.start()
    try:
        for i in range(n):
            ch.send_nowait(i + 1000)
        spilling_peak = tracemalloc.get_traced_memory()[1]
        assert len(ch) == n
    finally:
        tracemalloc.stop()
    held = [i + 1000 for i in range(n)]
    tracemalloc.start()
    try:
        copy = list(held)
        holding_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del copy
    assert spilling_peak < holding_peak  # a list alone already costs more than spilling
    assert await ch.recv_many(n) == list(range(1000, 1100))


async def test_close_wakes_every_waiter() -> None:
    rx: Channel[int] = Channel(0)
    tx: Channel[int] = Channel(1)
    tx.send_nowait(0)
    results: list[str] = []

    async def receiver() -> None:
        try:
            await rx.recv()
        except hyphal.EndOfChannel:
            results.append("end")

    async def sender() -> None:
        try:
            await tx.send(1)
        except hyphal.ClosedResourceError as exc:
            results.append("closed" if "not delivered" in str(exc) else "?")

    async with hyphal.TaskGroup() as tg:
        for _ in range(5):
            tg.spawn(receiver)
            tg.spawn(sender)
        await hyphal.sleep(0)
        rx.close()
        tx.close()
    assert sorted(results) == ["closed"] * 5 + ["end"] * 5


async def test_receivers_drain_before_end_of_channel() -> None:
    ch: Channel[int] = Channel(10)
    for i in range(3):
        ch.send_nowait(i)
    ch.close()
    assert [await ch.recv() for _ in range(3)] == [0, 1, 2]
    with pytest.raises(hyphal.EndOfChannel):
        await ch.recv()
    with pytest.raises(hyphal.EndOfChannel):
        ch.recv_nowait()


async def test_send_after_close_says_what_to_do() -> None:
    ch: Channel[int] = Channel(1)
    ch.close()
    with pytest.raises(hyphal.ClosedResourceError, match="clone"):
        await ch.send(1)
    with pytest.raises(hyphal.ClosedResourceError):
        ch.send_nowait(1)


async def test_clones_close_the_channel_only_together() -> None:
    ch: Channel[int] = Channel(10)
    producers = [ch.clone() for _ in range(3)]
    ch.close()  # the original handle is done; the clones still send
    assert not ch.closed

    async def produce(handle: hyphal.ChannelClone[int], base: int) -> None:
        with handle:
            for i in range(5):
                await handle.send(base + i)

    got: list[int] = []
    async with hyphal.TaskGroup() as tg:
        for n, p in enumerate(producers):
            tg.spawn(produce, p, n * 100)
        got.extend([x async for x in ch])
    assert sorted(got) == sorted(n * 100 + i for n in range(3) for i in range(5))
    assert ch.closed
    with pytest.raises(hyphal.ClosedResourceError):
        await producers[0].send(1)


def test_misuse_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="capacity must be >= 0"):
        Channel(-1)
    with pytest.raises(ValueError, match="needs a buffer"):
        Channel(0, Overflow.DROP_OLDEST)
    with pytest.raises(ValueError, match="needs a buffer"):
        Channel(None, Overflow.SPILL)
    with pytest.raises(TypeError, match="capacity"):
        Channel(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Overflow"):
        Channel(1, "drop")  # type: ignore[arg-type]


async def test_cancelled_recv_never_loses_an_item() -> None:
    ch: Channel[int] = Channel(0)
    loop = asyncio.get_running_loop()
    receiver = loop.create_task(ch.recv())
    await hyphal.sleep(0)
    ch.send_nowait(42)  # handed to the waiting receiver ...
    receiver.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await receiver
    assert ch.recv_nowait() == 42  # the item came back


async def test_cancelled_send_says_whether_it_delivered() -> None:
    ch: Channel[int] = Channel(1)
    ch.send_nowait(0)
    sender = asyncio.ensure_future(ch.send(1))
    await hyphal.sleep(0)
    assert ch.recv_nowait() == 0  # frees room: the waiting sender's item moves in
    sender.cancel()
    with pytest.raises(asyncio.CancelledError) as info:
        await sender
    assert hyphal.send_was_delivered(info.value)
    assert ch.recv_nowait() == 1

    ch.send_nowait(2)  # full again
    blocked = asyncio.ensure_future(ch.send(3))
    await hyphal.sleep(0)  # waiting for room
    blocked.cancel()
    with pytest.raises(asyncio.CancelledError) as info2:
        await blocked
    assert not hyphal.send_was_delivered(info2.value)
    assert ch.recv_many_nowait(10) == [2]  # 3 was never delivered


async def test_recv_many_waits_for_the_first_then_takes_what_is_there() -> None:
    ch: Channel[int] = Channel(100)

    async def later() -> None:
        await hyphal.sleep(0.01)
        await ch.send_batch(range(10))

    async with hyphal.TaskGroup() as tg:
        tg.spawn(later)
        first = await ch.recv_many(4)
    assert first == [0, 1, 2, 3]
    assert await ch.recv_many(100) == list(range(4, 10))
    with pytest.raises(ValueError, match="max_items"):
        await ch.recv_many(0)


async def test_send_batch_waits_for_room_and_keeps_order() -> None:
    ch: Channel[int] = Channel(7)
    got: list[int] = []

    async def consume() -> None:
        async for batch in _batches(ch):
            got.extend(batch)

    async with hyphal.TaskGroup() as tg:
        tg.spawn(consume)
        await ch.send_batch(range(1000))
        ch.close()
    assert got == list(range(1000))


async def _batches(ch: Channel[int]):  # type: ignore[no-untyped-def]
    while True:
        try:
            yield await ch.recv_many(50)
        except hyphal.EndOfChannel:
            return


async def test_statistics_and_runtime_totals() -> None:
    before = hyphal.statistics()
    ch: Channel[int] = Channel(4)
    await ch.send_batch(range(4))
    await ch.recv()
    stats = ch.statistics()
    assert (stats.capacity, stats.buffered, stats.sent, stats.received) == (4, 3, 4, 1)
    assert stats.overflow is Overflow.BLOCK and not stats.closed
    after = hyphal.statistics()
    assert after.messages_sent - before.messages_sent >= 4
    assert after.messages_received - before.messages_received >= 1


def test_idle_channel_is_small() -> None:
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        channels = [Channel[int](100) for _ in range(1000)]
        per_channel = (tracemalloc.get_traced_memory()[0] - base) / len(channels)
    finally:
        tracemalloc.stop()
    assert per_channel <= 1024, per_channel
