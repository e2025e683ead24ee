"""``hyphal bench kernel``: the message kernel side by side with pyee and blinker.

Cases (the issue's): an exact path to a sync handler (pyee ``emit``, blinker ``send``), a
``{id}`` parameter path, an async handler (pyee's ``AsyncIOEventEmitter``), request/reply
round-trip p50, ``send_batch`` of 100 per message, route lookup with 10, 1k and 10k registered
routes (static and dynamic), and end-to-end ``send`` with message creation next to the Mycelia
kernel's published 75k msg/s (and its 150k target). Every measurement runs on a fresh event loop
(uvloop when installed); implementations alternate, best of ``repeat``.
"""

from __future__ import annotations

import asyncio
import statistics as stats_mod
import time
from collections.abc import Callable, Coroutine
from typing import Any

from hyphal._core.runner import loop_factory
from hyphal.bench._harness import BenchContext, best_of
from hyphal.kernel import Kernel, Message
from hyphal.kernel.paths import parse_pattern
from hyphal.kernel.routing import RouteTable

MYCELIA_REPORTED = 75_000.0
MYCELIA_TARGET = 150_000.0


def _on_loop(go: Callable[[], Coroutine[Any, Any, float]]) -> float:
    with asyncio.Runner(loop_factory=loop_factory("auto")) as runner:
        return runner.run(go())


def _kernel_send(n: int, paths: list[str], pattern: str, is_async: bool,
                 warm: bool = True) -> Callable[[], float]:
    """``n`` sends cycling over ``paths``; ``warm``: each path is sent once before the clock
    starts (a running application's steady state: its paths are in the route cache)."""
    def measure() -> float:
        async def go() -> float:
            kernel = Kernel()
            if is_async:
                async def handler(msg: Message) -> None:
                    pass
                kernel.route(pattern, handler)
            else:
                kernel.route(pattern, lambda msg: None)
            async with kernel:
                send = kernel.send
                k = len(paths)
                if warm:
                    for path in paths:
                        await send(path)
                    await kernel.drain()
                start = time.perf_counter()
                for i in range(n):
                    await send(paths[i % k], i)
                await kernel.drain()
                return time.perf_counter() - start

        return _on_loop(go)

    return measure


def _pyee(n: int) -> Callable[[], float]:
    def measure() -> float:
        from pyee import EventEmitter

        ee = EventEmitter()
        ee.on("exact", lambda body: None)
        emit = ee.emit
        start = time.perf_counter()
        for i in range(n):
            emit("exact", i)
        return time.perf_counter() - start

    return measure


def _pyee_param(n: int, ids: list[str]) -> Callable[[], float]:
    def measure() -> float:
        from pyee import EventEmitter

        ee = EventEmitter()
        ee.on("user", lambda user_id, body: None)
        emit = ee.emit
        k = len(ids)
        start = time.perf_counter()
        for i in range(n):
            emit("user", ids[i % k], i)
        return time.perf_counter() - start

    return measure


def _blinker(n: int) -> Callable[[], float]:
    def measure() -> float:
        from blinker import Signal

        signal = Signal()

        def receiver(sender: Any, **kw: Any) -> None:
            pass

        signal.connect(receiver)
        send = signal.send
        start = time.perf_counter()
        for i in range(n):
            send(i)
        return time.perf_counter() - start

    return measure


def _pyee_async(n: int) -> Callable[[], float]:
    def measure() -> float:
        async def go() -> float:
            from pyee.asyncio import AsyncIOEventEmitter

            ee = AsyncIOEventEmitter()
            done = asyncio.get_running_loop().create_future()
            seen = 0

            async def handler(body: int) -> None:
                nonlocal seen
                seen += 1
                if seen == n:
                    done.set_result(None)

            ee.on("exact", handler)
            start = time.perf_counter()
            for i in range(n):
                ee.emit("exact", i)
            await done
            return time.perf_counter() - start

        return _on_loop(go)

    return measure


def _request_p50(n: int) -> float:
    async def go() -> float:
        kernel = Kernel()

        @kernel.route("bench://echo/{id}")
        async def echo(msg: Message) -> Any:
            return msg.body

        samples = []
        async with kernel:
            request = kernel.request
            for i in range(n):
                t0 = time.perf_counter()
                await request("bench://echo/7", i)
                samples.append(time.perf_counter() - t0)
        return stats_mod.median(samples)

    return _on_loop(go)


def _batch(n: int, size: int) -> Callable[[], float]:
    def measure() -> float:
        async def go() -> float:
            kernel = Kernel()

            @kernel.route("bench://item/{id:int}")
            async def item(msg: Message) -> Any:
                return msg.params["id"]

            batches = [[Message(f"bench://item/{j}", None) for j in range(size)]
                       for _ in range(max(1, n // size))]
            async with kernel:
                start = time.perf_counter()
                for batch in batches:
                    await kernel.send_batch(batch)
                return (time.perf_counter() - start) / (len(batches) * size)

        return _on_loop(go)

    return measure


def _lookup_table(size: int) -> tuple[RouteTable[int], str, list[str]]:
    """A table of ``size`` static and ``size`` dynamic routes (the dynamic-path cache off, so
    lookups measure the trie), a static probe and dynamic probes from its middle."""
    table: RouteTable[int] = RouteTable(cache=0)
    for i in range(size):
        table.add(parse_pattern(f"svc{i % 10}://static{i}/leaf"), i)
        table.add(parse_pattern(f"svc{i % 10}://item{i}/{{id}}/detail"), i)
    probe = size // 2
    static_path = f"svc{probe % 10}://static{probe}/leaf"
    dyn_paths = [f"svc{probe % 10}://item{probe}/{j}/detail" for j in range(100)]
    if table.match(static_path) is None or table.match(dyn_paths[0]) is None:  # pragma: no cover
        raise AssertionError("the lookup benchmark's probes do not match")
    return table, static_path, dyn_paths


def _lookups(sizes: list[int], lookups: int, rounds: int) -> dict[int, tuple[float, float]]:
    """Seconds per static and per dynamic lookup for each table size, measured interleaved
    (every size once per round) and best of ``rounds``."""
    tables = {size: _lookup_table(size) for size in sizes}
    best = {size: (float("inf"), float("inf")) for size in sizes}
    for _ in range(rounds):
        for size, (table, static_path, dyn_paths) in tables.items():
            match = table.match
            start = time.perf_counter()
            for _ in range(lookups):
                match(static_path)
            s = (time.perf_counter() - start) / lookups
            start = time.perf_counter()
            for i in range(lookups):
                match(dyn_paths[i % 100])
            d = (time.perf_counter() - start) / lookups
            best[size] = (min(best[size][0], s), min(best[size][1], d))
    return best


def _end_to_end(n: int, is_async: bool) -> Callable[[], float]:
    """Create each message (an f-string path, a dict body) and send it; async: queued to the
    subsystem's worker and handled before the clock stops."""
    def measure() -> float:
        async def go() -> float:
            kernel = Kernel()
            if is_async:
                async def created(msg: Message) -> None:
                    pass
                kernel.route("orders://created/{id}", created)
            else:
                kernel.route("orders://created/{id}", lambda msg: None)

            async with kernel:
                send = kernel.send
                for i in range(1000):  # warm: the application's paths are in the route cache
                    await send(Message(f"orders://created/{i}", None))
                await kernel.drain()
                start = time.perf_counter()
                for i in range(n):
                    await send(Message(f"orders://created/{i % 1000}", {"n": i}))
                await kernel.drain()
                return time.perf_counter() - start

        return _on_loop(go)

    return measure


def run(ctx: BenchContext) -> None:
    n = ctx.scale(100_000, 20_000)
    repeat = 1 if ctx.smoke else 5  # best of 5, interleaved: shared machines are noisy

    ctx.progress("exact path, sync handler")
    case = "exact path, sync handler"
    t = best_of(repeat, {
        "hyphal": _kernel_send(n, ["bench://exact"], "bench://exact", False),
        "pyee EventEmitter.emit": _pyee(n),
        "blinker Signal.send": _blinker(n),
    })
    for impl, secs in t.items():
        ctx.record(case, impl, n / secs, "msg/s")
    ctx.goal(case, "hyphal", "pyee EventEmitter.emit", 2.0)
    ctx.goal(case, "hyphal", "blinker Signal.send", 3.0)

    ctx.progress("{id} param path")
    ids = [str(i) for i in range(1000)]
    case = "{id} param path, 1k ids (warm)"
    t = best_of(repeat, {
        "hyphal": _kernel_send(n, [f"bench://user/{i}" for i in ids], "bench://user/{id}",
                               False),
        "pyee EventEmitter.emit": _pyee_param(n, ids),
    })
    for impl, secs in t.items():
        ctx.record(case, impl, n / secs, "msg/s")
    ctx.goal(case, "hyphal", "pyee EventEmitter.emit", 1.5)
    case = "{id} param path, every id new (trie, no cache)"
    distinct = [str(i) for i in range(n)]
    t = best_of(repeat, {
        "hyphal": _kernel_send(n, [f"bench://user/{i}" for i in distinct], "bench://user/{id}",
                               False, warm=False),
        "pyee EventEmitter.emit": _pyee_param(n, distinct),
    })
    for impl, secs in t.items():
        ctx.record(case, impl, n / secs, "msg/s")

    ctx.progress("async handler")
    case = "async handler"
    na = ctx.scale(100_000, 10_000)
    t = best_of(repeat, {
        "hyphal": _kernel_send(na, ["bench://async"], "bench://async", True),
        "pyee AsyncIOEventEmitter": _pyee_async(na),
    })
    for impl, secs in t.items():
        ctx.record(case, impl, na / secs, "msg/s")
    ctx.goal(case, "hyphal", "pyee AsyncIOEventEmitter", 10.0)

    ctx.progress("request/reply")
    p50 = min(_request_p50(ctx.scale(20_000, 5_000)) for _ in range(repeat))
    ctx.record("request/reply round trip, async handler (p50)", "hyphal", p50, "s",
               better="lower")

    ctx.progress("send_batch of 100")
    t = best_of(repeat, {"hyphal": _batch(ctx.scale(50_000, 10_000), 100)})
    ctx.record("send_batch of 100, per message", "hyphal", t["hyphal"], "s", better="lower")

    ctx.progress("route lookup")
    lookups = ctx.scale(200_000, 50_000)
    labels = {10: "10", 1_000: "1k", 10_000: "10k"}
    for size, (s, d) in _lookups(list(labels), lookups, 7 if not ctx.quick else 5).items():
        impl = f"hyphal, {labels[size]} routes"
        ctx.record("route lookup, static path", impl, s, "s", better="lower")
        ctx.record("route lookup, dynamic path (trie)", impl, d, "s", better="lower")
    ctx.goal("route lookup, static path", "hyphal, 10k routes", "hyphal, 10 routes", 1.3)
    ctx.goal("route lookup, dynamic path (trie)", "hyphal, 10k routes", "hyphal, 10 routes",
             2.0)

    ctx.progress("end to end")
    case = "end-to-end send with message creation"
    t = best_of(repeat, {"hyphal, sync handler": _end_to_end(n, False),
                         "hyphal, async handler (queued)": _end_to_end(n, True)})
    for impl, secs in t.items():
        ctx.record(case, impl, n / secs, "msg/s")
    ctx.record(case, "Mycelia kernel, reported", MYCELIA_REPORTED, "msg/s",
               note="published figure, different hardware")
    ctx.record(case, "Mycelia kernel, target", MYCELIA_TARGET, "msg/s",
               note="published goal, different hardware")
    ctx.goal(case, "hyphal, sync handler", "Mycelia kernel, target", 10.0)
    ctx.goal(case, "hyphal, async handler (queued)", "Mycelia kernel, target", 10.0)
