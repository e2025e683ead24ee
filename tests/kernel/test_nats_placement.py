"""Named actors placed across nodes by a JetStream key-value registry."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pytest

import hyphal
from hyphal.kernel import Kernel
from hyphal.kernel.nats import NatsTransport
from hyphal.kernel.nats_server import NatsServer
from hyphal.kernel.placement import ActorPlacement


class Counter(hyphal.Actor[Any, Any]):
    def __init__(self) -> None:
        self.count = 0

    async def receive(self, msg: Any) -> Any:
        if msg == "boom":
            raise ValueError("counter exploded")
        if msg == "incr":
            self.count += 1
        return self.count


def cluster_node(server: NatsServer, name: str) -> tuple[hyphal.ActorSystem, Kernel,
                                                          ActorPlacement]:
    system = hyphal.ActorSystem()
    kernel = Kernel(NatsTransport(server.url, node=name, durable=False), request_timeout=5)
    placement = ActorPlacement(kernel, system, ttl=3.0)
    placement.actor("counter://{name}", Counter)
    return system, kernel, placement


async def test_one_instance_per_name_across_nodes(nats_server: NatsServer) -> None:
    nodes = [cluster_node(nats_server, f"n{i}") for i in range(3)]
    async with contextlib.AsyncExitStack() as stack:
        for trio in nodes:
            for part in trio:
                await stack.enter_async_context(part)  # type: ignore[arg-type]
        kernels = [k for _, k, _ in nodes]
        async with hyphal.TaskGroup() as tg:  # every node asks at once, on three names
            for i in range(60):
                tg.spawn(kernels[i % 3].request, f"counter://c{i % 3}", "incr")
        for name in ("c0", "c1", "c2"):
            # each name has exactly one live actor: it counted every increment
            assert await kernels[0].request(f"counter://{name}", "get") == 20
        owners = [set(p.owned()) for _, _, p in nodes]
        all_owned = [path for o in owners for path in o]
        assert sorted(all_owned) == ["counter://c0", "counter://c1", "counter://c2"]
        with pytest.raises(ValueError, match="exploded"):  # errors cross like any other
            await kernels[1].request("counter://c0", "boom")
        await kernels[2].send("counter://c1", "incr")  # tell through another node
        deadline = time.monotonic() + 5
        while await kernels[0].request("counter://c1", "get") != 21:
            assert time.monotonic() < deadline
            await hyphal.sleep(0.02)


async def test_a_departed_owners_actors_restart_elsewhere(nats_server: NatsServer) -> None:
    a, b = cluster_node(nats_server, "a"), cluster_node(nats_server, "b")
    async with a[0], a[1], a[2]:
        async with b[0], b[1], b[2]:
            assert await b[1].request("counter://x", "incr") == 1
            assert b[2].owned() == ["counter://x"]  # claimed where it was first used
            assert await a[1].request("counter://x", "incr") == 2  # forwarded to b's actor
        # b has left, and its registry entry with it: a fresh instance starts on a
        assert await a[1].request("counter://x", "incr") == 1
        assert a[2].owned() == ["counter://x"]


async def test_a_crashed_owner_is_replaced(nats_server: NatsServer) -> None:
    a, b = cluster_node(nats_server, "a"), cluster_node(nats_server, "b")
    async with a[0], a[1], a[2], b[0], b[1], b[2]:
        await a[1].request("counter://y", "incr")
        owner = a if a[2].owned() else b
        other = b if owner is a else a
        # the owner stops answering without a goodbye: its private subject goes quiet
        await owner[2]._sub.unsubscribe()
        owner[2]._sub = None
        owner[2]._owned.clear()
        assert await other[1].request("counter://y", "incr") == 1  # restarted on the other
        assert other[2].owned() == ["counter://y"]


def test_placement_needs_nats() -> None:
    with pytest.raises(TypeError, match="NATS"):
        ActorPlacement(Kernel(), hyphal.ActorSystem())
