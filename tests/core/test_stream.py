"""hyphal.Stream: stages, backpressure, drop accounting, errors, cancellation, closing."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hyphal
from hyphal import Channel, Overflow, Stream


async def test_map_filter_batch_collect() -> None:
    stream = Stream.from_iterable(range(1000)).map(lambda x: x * x).filter(
        lambda x: x % 3 == 0).batch(100)
    batches = await stream.collect()
    flat = [x for b in batches for x in b]
    assert flat == [x * x for x in range(1000) if (x * x) % 3 == 0]
    assert [len(b) for b in batches] == [100, 100, 100, 34]
    assert await stream.collect() == batches  # a range can be read again


async def test_async_functions_flat_map_and_async_for() -> None:
    async def double(x: int) -> int:
        await hyphal.checkpoint()
        return 2 * x

    async def odd(x: int) -> bool:
        return x % 4 == 2

    stream = Stream.from_iterable(range(10)).map(double).filter(odd).flat_map(lambda x: [x, -x])
    assert [x async for x in stream] == [2, -2, 6, -6, 10, -10, 14, -14, 18, -18]
    assert stream.statistics().emitted == 10


async def test_async_iterable_source_passes_items_on_as_they_arrive() -> None:
    async def ticks() -> object:
        for i in range(3):
            await hyphal.sleep(0.01)
            yield i

    seen: list[tuple[int, float]] = []
    start = hyphal.current_time()
    async for item in Stream.from_iterable(ticks()):  # type: ignore[arg-type]
        seen.append((item, hyphal.current_time() - start))
    assert [i for i, _ in seen] == [0, 1, 2]
    assert seen[0][1] < 0.025  # not held back to fill a chunk


@pytest.mark.parametrize("ordered", [True, False])
async def test_concurrent_map_bounds_concurrency(ordered: bool) -> None:
    running = 0
    peak = 0

    async def work(x: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await hyphal.sleep(0.001 * (x % 4))
        running -= 1
        return x

    out = await Stream.from_iterable(range(40)).map(work, concurrency=5,
                                                    ordered=ordered).collect()
    assert peak == 5
    assert out == list(range(40)) if ordered else sorted(out) == list(range(40))
    if not ordered:
        assert out != list(range(40))  # faster items overtook slower ones


async def test_batch_timeout_lets_a_partial_batch_go() -> None:
    async def slow() -> object:
        for i in range(5):
            await hyphal.sleep(0.02)
            yield i

    batches = await Stream.from_iterable(slow()).batch(3, timeout=0.03).collect()  # type: ignore[arg-type]
    assert [x for b in batches for x in b] == [0, 1, 2, 3, 4]
    assert all(len(b) <= 3 for b in batches)
    assert len(batches) >= 3  # items 20 ms apart never fill 3 in 30 ms


async def test_merge_interleaves_every_input() -> None:
    a = Stream.from_iterable(range(0, 500))
    b = Stream.from_iterable(range(1000, 1300)).map(lambda x: x)
    out = await a.merge(b, Stream.from_iterable([])).collect()
    assert sorted(out) == [*range(500), *range(1000, 1300)]
    assert [x for x in out if x < 1000] == list(range(500))  # each input keeps its order


async def test_an_error_in_a_stage_surfaces_at_the_consumer_and_stops_the_pumps() -> None:
    def bad(x: int) -> int:
        if x == 700:
            raise KeyError(x)
        return x

    tasks_before = len(asyncio.all_tasks())
    with pytest.raises(KeyError):
        await Stream.from_iterable(range(10_000)).map(bad).buffer(4).batch(10).collect()
    with pytest.raises(KeyError):
        await Stream.from_iterable(range(10)).merge(
            Stream.from_iterable(range(10_000)).map(bad)).collect()

    async def fails(x: int) -> int:
        await hyphal.sleep(0.001)
        if x == 3:
            raise ValueError(x)
        return x

    with pytest.raises(ValueError):
        await Stream.from_iterable(range(100)).map(fails, concurrency=4).collect()
    await hyphal.checkpoint()
    assert len(asyncio.all_tasks()) == tasks_before


async def test_block_buffer_slows_the_source_to_the_sink() -> None:
    produced = 0

    def count(x: int) -> int:
        nonlocal produced
        produced += 1
        return x

    consumed = 0
    async for _ in Stream.from_iterable(range(100_000), chunk_size=16).map(count).buffer(32):
        consumed += 1
        if consumed % 10 == 0:
            await hyphal.sleep(0)
        # never more than the buffer plus one chunk in flight and one being handed over
        assert produced - consumed <= 32 + 16 + 256
        if consumed == 2000:
            break


@pytest.mark.parametrize("policy", [Overflow.BLOCK, Overflow.DROP_OLDEST, Overflow.DROP_NEWEST,
                                    Overflow.SPILL])
async def test_random_cancellation_loses_nothing_and_drops_are_counted_exactly(
        policy: Overflow, tmp_path: object) -> None:
    rng = random.Random(policy.value)
    n = 3000

    async def jitter(x: int) -> int:
        if rng.random() < 0.05:
            await hyphal.sleep(0)
        return x

    sink: Channel[int] = Channel(8)
    stream = Stream.from_iterable(range(n)).buffer(16, policy, spill_dir=str(tmp_path)).map(
        jitter)
    received: list[int] = []
    async with hyphal.TaskGroup() as tg:
        pipeline = tg.spawn(stream.to, sink)
        while True:
            with hyphal.move_on_after(rng.choice([0, 0.0001, 0.001])):  # cancelled receives
                try:
                    received.append(await sink.recv())
                except hyphal.EndOfChannel:
                    break
    sent = pipeline.result()
    assert received == sorted(received) and len(set(received)) == len(received)
    assert sent == len(received)
    if policy in (Overflow.BLOCK, Overflow.SPILL):
        assert received == list(range(n))
        assert stream.statistics().dropped == 0
    else:
        assert len(received) + stream.statistics().dropped == n
        assert stream.statistics().dropped > 0


async def test_drop_counts_in_statistics_match_what_is_missing() -> None:
    for policy in (Overflow.DROP_OLDEST, Overflow.DROP_NEWEST):
        stream = Stream.from_iterable(range(5000)).buffer(10, policy)
        got = []
        async for x in stream:
            got.append(x)
            if len(got) % 50 == 0:
                await hyphal.sleep(0.0005)
        assert len(got) + stream.statistics().dropped == 5000
        assert stream.statistics().dropped > 0


async def test_closing_the_sink_closes_upstream() -> None:
    source: Channel[int] = Channel(4)
    sink: Channel[int] = Channel(1)
    producer_error: list[BaseException] = []

    async def produce() -> None:
        try:
            for i in range(10_000):
                await source.send(i)
        except hyphal.ClosedResourceError as exc:
            producer_error.append(exc)

    async with hyphal.TaskGroup() as tg:
        tg.spawn(produce)
        pipeline = tg.spawn(Stream.from_channel(source).map(lambda x: x + 1).to, sink)
        first = [await sink.recv() for _ in range(5)]
        sink.close()
    assert first == [1, 2, 3, 4, 5]
    assert pipeline.result() < 10_000
    assert producer_error and source.closed


async def test_breaking_out_of_async_for_closes_the_pipeline() -> None:
    source: Channel[int] = Channel(None)
    for i in range(100):
        source.send_nowait(i)
    async for x in Stream.from_channel(source).buffer(4):
        if x == 10:
            break
    await hyphal.sleep(0.01)  # the abandoned generator is finalised by the loop
    assert source.closed


async def test_byte_stream_chunks_share_the_original_buffer() -> None:
    data = bytes(range(256)) * 1024
    chunks = await Stream.from_bytes(data, chunk_size=4096).buffer(4).collect()
    assert all(isinstance(c, memoryview) and c.obj is data for c in chunks)
    assert b"".join(chunks) == data
    assert len(chunks) == len(data) // 4096


async def test_bad_arguments_are_rejected() -> None:
    s = Stream.from_iterable(range(3))
    with pytest.raises(ValueError, match="size"):
        s.batch(0)
    with pytest.raises(ValueError, match="concurrency"):
        s.map(str, concurrency=0)
    with pytest.raises(TypeError, match="async"):
        s.map(str, concurrency=2)
    with pytest.raises(ValueError, match="timeout"):
        s.batch(2, timeout=-1)


@settings(max_examples=20)
@given(st.integers(min_value=0, max_value=2**32), st.sampled_from(list(Overflow)),
       st.integers(min_value=1, max_value=32))
def test_property_random_cancellations_lose_nothing_or_count_every_drop(
        seed: int, policy: Overflow, size: int) -> None:
    """Whatever the timing of the cancelled receives, BLOCK and SPILL deliver every item in
    order, and the drop policies deliver an ordered subsequence plus an exact drop count."""
    rng = random.Random(seed)
    n = 500

    async def main() -> tuple[list[int], int]:
        stream = Stream.from_iterable(range(n), chunk_size=rng.randint(1, 64)).buffer(
            size, policy)
        sink: Channel[int] = Channel(rng.randint(1, 8))
        got: list[int] = []
        async with hyphal.TaskGroup() as tg:
            tg.spawn(stream.to, sink)
            while True:
                with hyphal.move_on_after(rng.choice([0, 0, 0.0001, 0.0005])):
                    try:
                        got.append(await sink.recv())
                    except hyphal.EndOfChannel:
                        break
        return got, stream.statistics().dropped

    got, dropped = hyphal.run(main)
    assert got == sorted(set(got))
    if policy in (Overflow.BLOCK, Overflow.SPILL):
        assert got == list(range(n)) and dropped == 0
    else:
        assert len(got) + dropped == n


async def test_cancelling_the_consumer_tears_the_pipeline_down() -> None:
    source: Channel[int] = Channel(None)
    for i in range(1000):
        source.send_nowait(i)
    tasks_before = len(asyncio.all_tasks())

    async def consume() -> None:
        async for _ in Stream.from_channel(source).buffer(8).merge(
                Stream.from_iterable(range(10**9))):
            await hyphal.sleep(0)

    with hyphal.move_on_after(0.02):
        await consume()
    await hyphal.sleep(0.01)
    assert len(asyncio.all_tasks()) == tasks_before
    assert source.closed
