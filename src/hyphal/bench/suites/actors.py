"""``hyphal bench actors``: hyphal actors side by side with pykka's ThreadingActor and a minimal
asyncio actor (a task reading an ``asyncio.Queue``; asks carry a future).

Cases: tell throughput (N tells, then one ask that proves they were all handled; also with
``tell_batch`` and ``receive_batch``), sequential
ask round trips (p50 and p99), and the memory of 10k idle actors. hyphal and the asyncio actor
run on the same loop kind (uvloop when installed); pykka runs on its own threads.
"""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import hyphal
from hyphal._core.runner import loop_factory
from hyphal.bench._harness import BenchContext, best_of

# -- the actors under test ------------------------------------------------------------


class _Counter(hyphal.Actor[Any, int]):
    def __init__(self) -> None:
        self.count = 0

    async def receive(self, msg: Any) -> int:
        self.count += 1
        return self.count


class _BatchCounter(_Counter):
    async def receive_batch(self, msgs: list[Any]) -> None:
        self.count += len(msgs)


class _QueueActor:
    """The minimal asyncio actor: one task reading one queue and awaiting the same user code
    as the hyphal actor (``_Counter.receive``); an ask is ``(msg, future)``."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.state = _Counter()
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        get = self.queue.get
        receive = self.state.receive
        while True:
            msg = await get()
            if type(msg) is tuple:
                msg[1].set_result(await receive(msg[0]))
            else:
                await receive(msg)

    def tell(self, msg: Any) -> None:
        self.queue.put_nowait(msg)

    async def ask(self, msg: Any) -> int:
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((msg, fut))
        return await fut


def _on_loop(fn: Callable[[], Coroutine[Any, Any, float]]) -> float:
    with asyncio.Runner(loop_factory=loop_factory("auto")) as runner:
        return runner.run(fn())


# -- tell throughput ------------------------------------------------------------


def _tells_hyphal(n: int) -> float:
    async def go() -> float:
        async with hyphal.ActorSystem() as system:
            ref = system.spawn(_Counter)
            start = time.perf_counter()
            tell = ref.tell
            for i in range(n):
                tell(i)
            assert await ref.ask(None) == n + 1
            return time.perf_counter() - start

    return _on_loop(go)


def _tell_batches_hyphal(n: int) -> float:
    async def go() -> float:
        async with hyphal.ActorSystem() as system:
            ref = system.spawn(_BatchCounter)
            start = time.perf_counter()
            tell_batch = ref.tell_batch
            for i in range(0, n, 1000):
                tell_batch(range(i, min(n, i + 1000)))
            assert await ref.ask(None) == n + 1
            return time.perf_counter() - start

    return _on_loop(go)


def _tells_asyncio(n: int) -> float:
    async def go() -> float:
        actor = _QueueActor()
        start = time.perf_counter()
        tell = actor.tell
        for i in range(n):
            tell(i)
        assert await actor.ask(None) == n + 1
        elapsed = time.perf_counter() - start
        actor.task.cancel()
        return elapsed

    return _on_loop(go)


def _pykka_actor() -> Any:
    import pykka

    class Counter(pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.count = 0

        def on_receive(self, message: Any) -> int:
            self.count += 1
            return self.count

    return Counter.start()


def _tells_pykka(n: int) -> float:
    ref = _pykka_actor()
    try:
        start = time.perf_counter()
        tell = ref.tell
        for i in range(n):
            tell(i)
        assert ref.ask(None) == n + 1
        return time.perf_counter() - start
    finally:
        ref.stop()


# -- ask round trips ------------------------------------------------------------


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def _round_trips(ask: Callable[[int], Awaitable[Any]], n: int) -> list[float]:
    clock = time.perf_counter
    out = []
    for i in range(n):
        t0 = clock()
        await ask(i)
        out.append(clock() - t0)
    return out


def _asks_hyphal(n: int) -> list[float]:
    async def go() -> list[float]:
        async with hyphal.ActorSystem() as system:
            return await _round_trips(system.spawn(_Counter).ask, n)

    with asyncio.Runner(loop_factory=loop_factory("auto")) as runner:
        return runner.run(go())


def _asks_asyncio(n: int) -> list[float]:
    async def go() -> list[float]:
        actor = _QueueActor()
        out = await _round_trips(actor.ask, n)
        actor.task.cancel()
        return out

    with asyncio.Runner(loop_factory=loop_factory("auto")) as runner:
        return runner.run(go())


def _asks_pykka(n: int) -> list[float]:
    ref = _pykka_actor()
    try:
        clock = time.perf_counter
        out = []
        for i in range(n):
            t0 = clock()
            ref.ask(i)
            out.append(clock() - t0)
        return out
    finally:
        ref.stop()


# -- idle memory ------------------------------------------------------------


def _memory(n: int, impl: str) -> float:
    """Bytes per idle actor beyond the user's own state (the instance of the actor class,
    measured separately and subtracted)."""

    async def go() -> float:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        user_state = [_Counter() for _ in range(n)]
        user_bytes = tracemalloc.get_traced_memory()[0] - before
        del user_state
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        if impl == "hyphal":
            async with hyphal.ActorSystem() as system:
                refs = [system.spawn(_Counter) for _ in range(n)]
                await asyncio.sleep(0)
                used = tracemalloc.get_traced_memory()[0] - before - user_bytes
                assert all(r.alive for r in refs)
        else:
            actors = [_QueueActor() for _ in range(n)]
            await asyncio.sleep(0)
            used = tracemalloc.get_traced_memory()[0] - before - user_bytes
            for a in actors:
                a.task.cancel()
            await asyncio.sleep(0)
        tracemalloc.stop()
        return used / n

    return _on_loop(go)


# -- the suite ------------------------------------------------------------


def run(ctx: BenchContext) -> None:
    try:
        import pykka  # noqa: F401
        have_pykka = True
    except ImportError:
        have_pykka = False
        ctx.skip("pykka", "not installed: pip install pykka")

    n = ctx.scale(100_000, 30_000)  # the same burst for every implementation: pykka's rate
    # depends on it (a short burst fits between its threads' GIL hand-offs)
    repeat = ctx.scale(5, 5)  # cheap cases: more alternations tame the machine noise
    ctx.progress(f"tell throughput ({n} tells, then one ask)")
    fns: dict[str, Callable[[], float]] = {
        "hyphal": lambda: _tells_hyphal(n) / n,
        "asyncio actor": lambda: _tells_asyncio(n) / n,
        "hyphal tell_batch": lambda: _tell_batches_hyphal(n) / n,
    }
    if have_pykka:
        fns["pykka"] = lambda: _tells_pykka(n) / n
    for impl, per_msg in best_of(repeat, fns).items():
        note = "tell_batch of 1000, receive_batch" if impl == "hyphal tell_batch" else ""
        ctx.record("tell throughput", impl, 1 / per_msg, "msg/s", note=note)
    ctx.goal("tell throughput", "hyphal", "asyncio actor", 2.0)
    if have_pykka:
        ctx.goal("tell throughput", "hyphal", "pykka", 20.0)

    asks = ctx.scale(10_000, 3_000)
    ctx.progress(f"ask round trip ({asks} sequential)")
    samplers: dict[str, Callable[[int], list[float]]] = {
        "hyphal": _asks_hyphal, "asyncio actor": _asks_asyncio}
    if have_pykka:
        samplers["pykka"] = _asks_pykka
    best: dict[str, tuple[float, float]] = {}
    for _ in range(repeat):
        for impl, sampler in samplers.items():
            gc.collect()
            p50, p99 = _percentiles(sampler(asks))
            if impl not in best or p50 < best[impl][0]:
                best[impl] = (p50, p99)
    for impl, (p50, p99) in best.items():
        ctx.record("ask p50", impl, p50 * 1e6, "us", better="lower")
        ctx.record("ask p99", impl, p99 * 1e6, "us", better="lower")
    ctx.goal("ask p50", "hyphal", "asyncio actor", 1.0)
    if have_pykka:
        ctx.goal("ask p50", "hyphal", "pykka", 0.15)

    idle = ctx.scale(10_000, 10_000)
    ctx.progress(f"memory of {idle} idle actors")
    for impl in ("hyphal", "asyncio actor"):
        gc.collect()
        ctx.record("memory per idle actor", impl, _memory(idle, impl), "bytes", better="lower",
                   note=f"{idle} actors alive at once, beyond the actor's own state; "
                        f"tracemalloc")
