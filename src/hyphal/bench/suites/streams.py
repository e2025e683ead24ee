"""``hyphal bench streams``: hyphal.Stream pipelines side by side with the same pipelines built
from ``asyncio.Queue`` stages (one task per stage, bounded queues for backpressure).

Cases: 1M ints through map -> filter -> batch(100), and a relay of 64 KiB byte chunks (MB/s).
Both run on the same loop kind (uvloop when installed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import hyphal
from hyphal._core.runner import loop_factory
from hyphal.bench._harness import BenchContext, best_of

_DONE = object()
_QUEUE_SIZE = 1000


def _on_loop(fn: Callable[[], Coroutine[Any, Any, float]]) -> Callable[[], float]:
    def measure() -> float:
        with asyncio.Runner(loop_factory=loop_factory("auto")) as runner:
            return runner.run(fn())

    return measure


def _square(x: int) -> int:
    return x * x


def _keep(x: int) -> bool:
    return x % 3 != 0


# -- ints: map -> filter -> batch ---------------------------------------------------------------


def _ints_hyphal(n: int) -> Callable[[], float]:
    async def go() -> float:
        start = time.perf_counter()
        count = 0
        stream = hyphal.Stream.from_iterable(range(n)).map(_square).filter(_keep).batch(100)
        async for batch in stream:
            count += len(batch)
        elapsed = time.perf_counter() - start
        assert count == n - (n + 2) // 3
        return elapsed

    return _on_loop(go)


def _ints_queues(n: int) -> Callable[[], float]:
    async def go() -> float:
        q1: asyncio.Queue[Any] = asyncio.Queue(_QUEUE_SIZE)
        q2: asyncio.Queue[Any] = asyncio.Queue(_QUEUE_SIZE)
        q3: asyncio.Queue[Any] = asyncio.Queue(_QUEUE_SIZE)
        q4: asyncio.Queue[Any] = asyncio.Queue(_QUEUE_SIZE)

        async def source() -> None:
            for i in range(n):
                await q1.put(i)
            await q1.put(_DONE)

        async def mapper() -> None:
            while (x := await q1.get()) is not _DONE:
                await q2.put(_square(x))
            await q2.put(_DONE)

        async def filterer() -> None:
            while (x := await q2.get()) is not _DONE:
                if _keep(x):
                    await q3.put(x)
            await q3.put(_DONE)

        async def batcher() -> None:
            batch: list[int] = []
            while (x := await q3.get()) is not _DONE:
                batch.append(x)
                if len(batch) == 100:
                    await q4.put(batch)
                    batch = []
            if batch:
                await q4.put(batch)
            await q4.put(_DONE)

        start = time.perf_counter()
        async with asyncio.TaskGroup() as tg:
            for stage in (source, mapper, filterer, batcher):
                tg.create_task(stage())
            count = 0
            while (b := await q4.get()) is not _DONE:
                count += len(b)
        elapsed = time.perf_counter() - start
        assert count == n - (n + 2) // 3
        return elapsed

    return _on_loop(go)


# -- bytes relay ----------------------------------------------------------------------------------


def _bytes_hyphal(data: bytes, chunk: int) -> Callable[[], float]:
    async def go() -> float:
        start = time.perf_counter()
        total = 0
        stream = hyphal.Stream.from_bytes(data, chunk_size=chunk).buffer(16)
        async for piece in stream:
            total += len(piece)
        elapsed = time.perf_counter() - start
        assert total == len(data)
        return elapsed

    return _on_loop(go)


def _bytes_queue(data: bytes, chunk: int) -> Callable[[], float]:
    async def go() -> float:
        q: asyncio.Queue[Any] = asyncio.Queue(16)

        async def source() -> None:
            for i in range(0, len(data), chunk):
                await q.put(data[i:i + chunk])
            await q.put(_DONE)

        start = time.perf_counter()
        total = 0
        async with asyncio.TaskGroup() as tg:
            tg.create_task(source())
            while (piece := await q.get()) is not _DONE:
                total += len(piece)
        elapsed = time.perf_counter() - start
        assert total == len(data)
        return elapsed

    return _on_loop(go)


def run(ctx: BenchContext) -> None:
    n = ctx.scale(1_000_000, 200_000)
    repeat = ctx.scale(3, 2)
    ctx.progress(f"{n} ints through map -> filter -> batch(100)")
    best = best_of(repeat, {"hyphal": _ints_hyphal(n), "asyncio.Queue stages": _ints_queues(n)})
    for impl, seconds in best.items():
        ctx.record("map->filter->batch ints", impl, n / seconds, "items/s")
    ctx.goal("map->filter->batch ints", "hyphal", "asyncio.Queue stages", 3.0)

    size = ctx.scale(256, 64) * 1024 * 1024
    chunk = 64 * 1024
    data = bytes(size)
    ctx.progress(f"{size >> 20} MiB in 64 KiB chunks")
    best = best_of(repeat, {"hyphal": _bytes_hyphal(data, chunk),
                            "asyncio.Queue relay": _bytes_queue(data, chunk)})
    for impl, seconds in best.items():
        ctx.record("64 KiB byte chunks", impl, size / seconds / 1e6, "MB/s",
                   note="hyphal: memoryview slices, no copy; the relay slices bytes")
