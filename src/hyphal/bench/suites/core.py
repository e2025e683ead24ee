"""``hyphal bench core``: channels, task groups, select, timers and memory, side by side with
asyncio.Queue, anyio memory streams, aiochannel, janus and asyncio.TaskGroup.

Every implementation runs on the same event loop kind (uvloop when installed) inside one
process, alternating runs, best of ``repeat``.
"""

from __future__ import annotations

import asyncio
import gc
import statistics as stats_mod
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

import hyphal
from hyphal._core.runner import loop_factory
from hyphal.bench._harness import BenchContext, best_of

Timed = Callable[[], Coroutine[Any, Any, float]]


def _on_loop(make: Callable[[], Timed]) -> Callable[[], float]:
    """A synchronous measurement that runs ``make()()`` on a fresh loop and returns seconds."""

    def measure() -> float:
        with asyncio.Runner(loop_factory=loop_factory("auto")) as runner:
            return runner.run(make()())

    return measure


# -- channel cases ------------------------------------------------------------------------------


def _spsc_hyphal(n: int, batch: bool) -> Timed:
    async def go() -> float:
        ch: hyphal.Channel[int] = hyphal.Channel(1000)

        async def produce() -> None:
            send = ch.send
            for i in range(n):
                await send(i)
            ch.close()

        async def consume() -> None:
            if batch:
                recv_many = ch.recv_many
                got = 0
                while got < n:
                    got += len(await recv_many(1000))
            else:
                recv = ch.recv
                for _ in range(n):
                    await recv()

        start = time.perf_counter()
        async with hyphal.TaskGroup() as tg:
            tg.spawn(consume)
            tg.spawn(produce)
        return time.perf_counter() - start

    return go


def _spsc_asyncio(n: int) -> Timed:
    async def go() -> float:
        q: asyncio.Queue[int] = asyncio.Queue(1000)

        async def produce() -> None:
            put = q.put
            for i in range(n):
                await put(i)

        async def consume() -> None:
            get = q.get
            for _ in range(n):
                await get()

        start = time.perf_counter()
        await asyncio.gather(consume(), produce())
        return time.perf_counter() - start

    return go


def _spsc_anyio(n: int) -> Timed:
    async def go() -> float:
        import anyio

        tx, rx = anyio.create_memory_object_stream[int](1000)

        async def produce() -> None:
            async with tx:
                for i in range(n):
                    await tx.send(i)

        async def consume() -> None:
            async with rx:
                for _ in range(n):
                    await rx.receive()

        start = time.perf_counter()
        await asyncio.gather(consume(), produce())
        return time.perf_counter() - start

    return go


def _spsc_aiochannel(n: int) -> Timed:
    async def go() -> float:
        from aiochannel import Channel as AioChannel

        ch: Any = AioChannel(1000)

        async def produce() -> None:
            for i in range(n):
                await ch.put(i)

        async def consume() -> None:
            for _ in range(n):
                await ch.get()

        start = time.perf_counter()
        await asyncio.gather(consume(), produce())
        return time.perf_counter() - start

    return go


def _many_hyphal(n: int, producers: int, consumers: int) -> Timed:
    async def go() -> float:
        ch: hyphal.Channel[int] = hyphal.Channel(1000)
        per = n // producers

        async def produce() -> None:
            send = ch.send
            for i in range(per):
                await send(i)

        async def consume() -> None:
            recv = ch.recv
            try:
                while True:
                    await recv()
            except hyphal.EndOfChannel:
                pass

        start = time.perf_counter()
        async with hyphal.TaskGroup() as outer:
            for _ in range(consumers):
                outer.spawn(consume)
            async with hyphal.TaskGroup() as tg:
                for _ in range(producers):
                    tg.spawn(produce)
            ch.close()
        return time.perf_counter() - start

    return go


def _many_asyncio(n: int, producers: int, consumers: int) -> Timed:
    async def go() -> float:
        q: asyncio.Queue[int | None] = asyncio.Queue(1000)
        per = n // producers

        async def produce() -> None:
            put = q.put
            for i in range(per):
                await put(i)

        async def consume() -> None:
            get = q.get
            while await get() is not None:
                pass

        start = time.perf_counter()
        consumers_ = [asyncio.ensure_future(consume()) for _ in range(consumers)]
        await asyncio.gather(*(produce() for _ in range(producers)))
        for _ in range(consumers):
            await q.put(None)
        await asyncio.gather(*consumers_)
        return time.perf_counter() - start

    return go


def _many_anyio(n: int, producers: int, consumers: int) -> Timed:
    async def go() -> float:
        import anyio

        tx, rx = anyio.create_memory_object_stream[int](1000)
        per = n // producers

        async def produce(s: Any) -> None:
            async with s:
                for i in range(per):
                    await s.send(i)

        async def consume(r: Any) -> None:
            async with r:
                async for _ in r:
                    pass

        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(consumers):
                tg.start_soon(consume, rx.clone())
            for _ in range(producers):
                tg.start_soon(produce, tx.clone())
            tx.close()
            rx.close()
        return time.perf_counter() - start

    return go


# -- thread -> task -----------------------------------------------------------------------------


def _thread_hyphal(n: int) -> Timed:
    async def go() -> float:
        ch: hyphal.ThreadChannel[int] = hyphal.ThreadChannel(1000)

        def produce() -> None:
            send = ch.send_sync
            for i in range(n):
                send(i)

        start = time.perf_counter()
        t = threading.Thread(target=produce)
        t.start()
        recv = ch.recv
        for _ in range(n):
            await recv()
        t.join()
        return time.perf_counter() - start

    return go


def _thread_janus(n: int) -> Timed:
    async def go() -> float:
        import janus

        q: Any = janus.Queue(1000)

        def produce() -> None:
            put = q.sync_q.put
            for i in range(n):
                put(i)

        start = time.perf_counter()
        t = threading.Thread(target=produce)
        t.start()
        get = q.async_q.get
        for _ in range(n):
            await get()
        t.join()
        elapsed = time.perf_counter() - start
        q.close()
        await q.wait_closed()
        return elapsed

    return go


# -- task groups --------------------------------------------------------------------------------


async def _trivial(i: int) -> int:
    return i


def _spawn_hyphal(n: int) -> Timed:
    async def go() -> float:
        start = time.perf_counter()
        async with hyphal.TaskGroup() as tg:
            for i in range(n):
                tg.spawn(_trivial, i)
        return time.perf_counter() - start

    return go


def _spawn_asyncio(n: int) -> Timed:
    async def go() -> float:
        start = time.perf_counter()
        async with asyncio.TaskGroup() as tg:
            for i in range(n):
                tg.create_task(_trivial(i))
        return time.perf_counter() - start

    return go


def _cancel_hyphal(n: int) -> Timed:
    async def go() -> float:
        async with hyphal.TaskGroup() as tg:
            for _ in range(n):
                tg.spawn(asyncio.sleep, 60)
            await asyncio.sleep(0)
            start = time.perf_counter()
            tg.cancel()
        return time.perf_counter() - start

    return go


def _cancel_asyncio(n: int) -> Timed:
    async def go() -> float:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(asyncio.sleep(60)) for _ in range(n)]
            await asyncio.sleep(0)
            start = time.perf_counter()
            for t in tasks:
                t.cancel()
        return time.perf_counter() - start

    return go


# -- select -------------------------------------------------------------------------------------


def _select_ready(n: int, channels: int) -> Timed:
    async def go() -> float:
        chans = [hyphal.Channel[int](None) for _ in range(channels)]
        ready = chans[-1]
        for i in range(n):
            ready.send_nowait(i)
        ops = [c.recv_op() for c in chans]
        select = hyphal.select
        start = time.perf_counter()
        for _ in range(n):
            await select(*ops)
        return time.perf_counter() - start

    return go


def _plain_recv(n: int) -> Timed:
    async def go() -> float:
        ch = hyphal.Channel[int](None)
        for i in range(n):
            ch.send_nowait(i)
        recv = ch.recv
        start = time.perf_counter()
        for _ in range(n):
            await recv()
        return time.perf_counter() - start

    return go


# -- timers -------------------------------------------------------------------------------------


def _sleep_precision(n: int, *sleepers: Callable[[float], Awaitable[None]]
                     ) -> list[list[float]]:
    """Lateness of ``n`` sequential 1 ms sleeps per sleeper, the sleepers taking turns on one
    loop so that each sees the same machine (a burst of load hits both, not one)."""
    async def go() -> list[list[float]]:
        lateness: list[list[float]] = [[] for _ in sleepers]
        for _ in range(n):
            for sleeper, late in zip(sleepers, lateness, strict=True):
                start = time.monotonic()
                await sleeper(0.001)
                late.append(time.monotonic() - start - 0.001)
        return lateness

    with asyncio.Runner(loop_factory=loop_factory("auto")) as runner:
        return runner.run(go())


def _p99(values: list[float]) -> float:
    return stats_mod.quantiles(values, n=100)[98]


# -- memory -------------------------------------------------------------------------------------


def _idle_channel_bytes() -> float:
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        keep = [hyphal.Channel[int](1000) for _ in range(1000)]
        used = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    del keep
    return used / 1000 - 8  # minus the list slot holding each channel


def _peak_bytes(capacity: int | None, overflow: hyphal.Overflow, n: int) -> float:
    async def go() -> None:
        ch: hyphal.Channel[int] = hyphal.Channel(capacity, overflow)
        for i in range(n):
            ch.send_nowait(i + 1000)  # past the small-int cache: each item is a real object
        got = 0
        while got < n:
            got += len(await ch.recv_many(1000))
        ch.close()

    gc.collect()
    tracemalloc.start()
    try:
        with asyncio.Runner(loop_factory=loop_factory("auto")) as runner:
            tracemalloc.reset_peak()
            runner.run(go())
            peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return float(peak)


# -- the suite ----------------------------------------------------------------------------------


def run(ctx: BenchContext) -> None:
    n = ctx.scale(1_000_000, 200_000)
    repeat = ctx.scale(3, 2)
    loop_name = "uvloop" if loop_factory("auto") is not asyncio.new_event_loop else "asyncio"
    ctx.progress(f"SPSC {n:,} items on {loop_name}")

    def rate(case: str, timings: dict[str, float], items: int) -> None:
        for impl, seconds in timings.items():
            ctx.record(case, impl, items / seconds, "msg/s", note=loop_name)

    spsc = best_of(repeat, {
        "hyphal Channel": _on_loop(lambda: _spsc_hyphal(n, False)),
        "asyncio.Queue": _on_loop(lambda: _spsc_asyncio(n)),
        "anyio memory stream": _on_loop(lambda: _spsc_anyio(n)),
        "aiochannel": _on_loop(lambda: _spsc_aiochannel(n)),
    })
    rate("SPSC send/recv, capacity 1000", spsc, n)
    ctx.goal("SPSC send/recv, capacity 1000", "hyphal Channel", "asyncio.Queue", 3.0)
    ctx.goal("SPSC send/recv, capacity 1000", "hyphal Channel", "anyio memory stream", 15.0)

    ctx.progress("SPSC with recv_many")
    batched = best_of(repeat, {
        "hyphal Channel recv_many": _on_loop(lambda: _spsc_hyphal(n, True)),
        "asyncio.Queue": _on_loop(lambda: _spsc_asyncio(n)),
    })
    rate("SPSC send + recv_many(1000)", batched, n)
    ctx.goal("SPSC send + recv_many(1000)", "hyphal Channel recv_many", "asyncio.Queue", 8.0)

    for producers, consumers in ((4, 1), (4, 4)):
        case = f"{producers} producers -> {consumers} consumer{'s' * (consumers > 1)}"
        ctx.progress(case)
        timings = best_of(repeat, {
            "hyphal Channel": _on_loop(partial(_many_hyphal, n, producers, consumers)),
            "asyncio.Queue": _on_loop(partial(_many_asyncio, n, producers, consumers)),
            "anyio memory stream": _on_loop(partial(_many_anyio, n, producers, consumers)),
        })
        rate(case, timings, n)
        ctx.goal(case, "hyphal Channel", "asyncio.Queue", 2.5)
        ctx.goal(case, "hyphal Channel", "anyio memory stream", 15.0)

    tn = ctx.scale(300_000, 100_000)
    ctx.progress("thread -> task")
    timings = best_of(repeat, {
        "hyphal ThreadChannel": _on_loop(lambda: _thread_hyphal(tn)),
        "janus": _on_loop(lambda: _thread_janus(tn)),
    })
    rate("thread -> task, capacity 1000", timings, tn)
    ctx.goal("thread -> task, capacity 1000", "hyphal ThreadChannel", "janus", 3.0)

    sn = ctx.scale(100_000, 50_000)
    ctx.progress("spawning tasks")
    timings = best_of(repeat, {
        "hyphal TaskGroup": _on_loop(lambda: _spawn_hyphal(sn)),
        "asyncio.TaskGroup": _on_loop(lambda: _spawn_asyncio(sn)),
    })
    for impl, seconds in timings.items():
        ctx.record(f"spawn + finish {sn:,} trivial tasks", impl, seconds, "s", better="lower")
    ctx.goal(f"spawn + finish {sn:,} trivial tasks", "hyphal TaskGroup", "asyncio.TaskGroup", 0.5)

    cn = ctx.scale(10_000, 10_000)
    ctx.progress("cancelling sleeping tasks")
    timings = best_of(repeat, {
        "hyphal TaskGroup": _on_loop(lambda: _cancel_hyphal(cn)),
        "asyncio.TaskGroup": _on_loop(lambda: _cancel_asyncio(cn)),
    })
    for impl, seconds in timings.items():
        ctx.record(f"cancel {cn:,} sleeping tasks", impl, seconds, "s", better="lower")
    ctx.goal(f"cancel {cn:,} sleeping tasks", "hyphal TaskGroup", "asyncio.TaskGroup", 0.5)

    ctx.progress("select")
    seln = ctx.scale(300_000, 100_000)
    timings = best_of(repeat, {
        "hyphal select, 2 channels": _on_loop(lambda: _select_ready(seln, 2)),
        "hyphal select, 50 channels": _on_loop(lambda: _select_ready(seln, 50)),
        "plain recv": _on_loop(lambda: _plain_recv(seln)),
    })
    rate("select over ready channels", timings, seln)
    ctx.goal("select over ready channels", "hyphal select, 2 channels", "plain recv", 0.5)

    ctx.progress("timer precision")
    # p99 of only a few hundred samples is the 3rd-worst sleep, i.e. noise: 1000 each (~2 s)
    tcount = max(2, ctx.scale(1000, 1000))
    ours, theirs = _sleep_precision(tcount, hyphal.sleep, asyncio.sleep)
    case = f"{tcount} sequential 1 ms sleeps: p99 lateness"
    ctx.record(case, "hyphal.sleep", _p99(ours), "s", better="lower",
               note=f"{sum(x < 0 for x in ours)} early")
    ctx.record(case, "asyncio.sleep", _p99(theirs), "s", better="lower",
               note=f"{sum(x < 0 for x in theirs)} early")
    ctx.record(f"{tcount} sequential 1 ms sleeps: woke early", "hyphal.sleep",
               sum(x < 0 for x in ours), "sleeps", better="lower")
    ctx.record(f"{tcount} sequential 1 ms sleeps: woke early", "asyncio.sleep",
               sum(x < 0 for x in theirs), "sleeps", better="lower")
    ctx.goal(case, "hyphal.sleep", "asyncio.sleep", 1.0)

    ctx.progress("memory")
    ctx.record("idle Channel(1000) memory", "hyphal Channel", _idle_channel_bytes(), "B",
               better="lower")
    mn = ctx.scale(1_000_000, 200_000)
    case = f"peak memory moving {mn:,} items through capacity 1000"
    ctx.record(case, "hyphal SPILL", _peak_bytes(1000, hyphal.Overflow.SPILL, mn), "B",
               better="lower")
    ctx.record(case, "holding them all (unbounded)",
               _peak_bytes(None, hyphal.Overflow.BLOCK, mn), "B", better="lower")
    ctx.goal(case, "hyphal SPILL", "holding them all (unbounded)", 0.1)
