"""The transport contract, exercised with kernels sharing a LocalHub: remote sends, requests,
errors rebuilt from type and message, publish fan-out, and transport selection."""

from __future__ import annotations

from typing import Any

import pytest

import hyphal
from hyphal.kernel import Kernel, LocalHub, LocalTransport, Message, NoRoute, RemoteError
from hyphal.kernel.errors import error_type_name, rebuild_error


class _Private(Exception):
    def __init__(self, a: int, b: int) -> None:  # not constructible from a message
        super().__init__(f"{a}/{b}")


async def test_kernels_on_one_hub_reach_each_others_routes() -> None:
    hub = LocalHub()
    users = Kernel(LocalTransport(hub))
    front = Kernel(LocalTransport(hub))
    got: list[Any] = []

    @users.route("users://profile/{id:int}")
    async def profile(msg: Message) -> dict[str, Any]:
        got.append((msg.params["id"], msg.trace_id))
        return {"id": msg.params["id"], "reply_to": msg.reply_to}

    users.route("users://fail/key", lambda msg: {}["missing"])

    @users.route("users://fail/private")
    def private(msg: Message) -> None:
        raise _Private(1, 2)

    async with users, front:
        first = Message("users://profile/7")
        reply = await front.request(first)
        assert reply["id"] == 7 and reply["reply_to"].startswith("local://reply/")
        assert got == [(7, first.trace_id)]  # the trace crosses the transport
        await front.send("users://profile/8")
        await users.drain()
        assert got[-1][0] == 8
        with pytest.raises(KeyError, match="missing"):
            await front.request("users://fail/key")
        with pytest.raises(RemoteError, match="_Private: 1/2") as info:
            await front.request("users://fail/private")
        assert info.value.type_name.endswith("_Private")
        with pytest.raises(NoRoute, match="users://profile"):
            await front.request("users://profil/1")
        await front.send("nobody://here")
        assert front.statistics().dead_letters == 2
        assert front.statistics().remote_sent >= 3


async def test_publish_fans_out_to_every_kernel_on_the_hub() -> None:
    hub = LocalHub()
    kernels = [Kernel(LocalTransport(hub)) for _ in range(3)]
    got: list[int] = []
    for i, k in enumerate(kernels):
        k.subscribe("events://**", lambda msg, i=i: got.append(i))
    async with kernels[0], kernels[1], kernels[2]:
        assert await kernels[0].publish("events://user/1") == 3
        assert sorted(got) == [0, 1, 2]


async def test_requests_to_a_pattern_served_twice_are_spread() -> None:
    hub = LocalHub()
    a, b, client = (Kernel(LocalTransport(hub)) for _ in range(3))
    a.route("work://x", lambda msg: "a")
    b.route("work://x", lambda msg: "b")
    async with a, b, client:
        answers = {await client.request("work://x") for _ in range(4)}
    assert answers == {"a", "b"}


async def test_a_stopped_kernel_is_no_longer_reachable() -> None:
    hub = LocalHub()
    server, client = Kernel(LocalTransport(hub)), Kernel(LocalTransport(hub))
    server.route("s://x", lambda msg: 1)
    async with client:
        async with server:
            assert await client.request("s://x") == 1
        with pytest.raises(NoRoute):
            await client.request("s://x")


async def test_remote_request_timeout() -> None:
    hub = LocalHub()
    server, client = Kernel(LocalTransport(hub)), Kernel(LocalTransport(hub))

    @server.route("slow://x")
    async def slow(msg: Message) -> None:
        await hyphal.sleep(5)

    async with server, client:
        with pytest.raises(TimeoutError, match="slow://x"):
            await client.request("slow://x", timeout=0.05)


def test_rebuild_error_keeps_known_types_and_wraps_the_rest() -> None:
    assert type(rebuild_error("ValueError", "bad")) is ValueError
    exc = rebuild_error("hyphal._core.errors.WouldBlock", "full")
    assert isinstance(exc, hyphal.WouldBlock) and str(exc) == "full"
    unknown = rebuild_error("somewhere.not.imported.Boom", "x")
    assert isinstance(unknown, RemoteError) and unknown.type_name.endswith("Boom")
    assert error_type_name(KeyError("k")) == "KeyError"
    assert error_type_name(hyphal.WouldBlock()) == "hyphal._core.errors.WouldBlock"


def test_transport_is_chosen_by_name() -> None:
    assert Kernel().transport.name == "local"
    assert not Kernel().transport.remote
    with pytest.raises(ValueError, match="unknown transport"):
        Kernel("carrier-pigeon://x")
    assert Kernel("nats://127.0.0.1:4222").transport.name == "nats"  # connects on entry


async def test_routes_added_while_running_are_served_to_other_kernels() -> None:
    hub = LocalHub()
    server, client = Kernel(LocalTransport(hub)), Kernel(LocalTransport(hub))
    async with server, client:
        server.route("late://x/{n:int}", lambda msg: msg.params["n"] + 1)
        await hyphal.sleep(0)
        assert await client.request("late://x/1") == 2
