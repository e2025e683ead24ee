"""The NATS transport between kernels in this process, over a real nats-server (fixture)."""

from __future__ import annotations

import time
from typing import Any

import pytest

import hyphal
from hyphal.kernel import Kernel, Message, NoRoute, RemoteError
from hyphal.kernel.envelope import UnserializableBody
from hyphal.kernel.nats import NatsTransport
from hyphal.kernel.nats_server import NatsServer, accepting
from hyphal.testing import free_port


class PrivateError(Exception):
    pass


def node(server: NatsServer, name: str, **options: Any) -> Kernel:
    return Kernel(NatsTransport(server.url, node=name, **options), request_timeout=5.0)


async def test_request_reply_keeps_params_meta_and_trace(nats_server: NatsServer) -> None:
    a, b = node(nats_server, "a"), node(nats_server, "b")

    @b.route("users://profile/{id:int}")
    def profile(msg: Message) -> dict[str, Any]:
        return {"id": msg.params["id"], "meta": msg.meta, "trace": msg.trace_id,
                "body": msg.body}

    async with a, b:
        sent = Message("users://profile/7", b"\x00raw", {"tenant": "x"})
        reply = await a.request(sent)
        assert reply == {"id": 7, "meta": {"tenant": "x"}, "trace": sent.id, "body": b"\x00raw"}
        assert a.transport.statistics().requests == 1  # type: ignore[attr-defined]


async def test_remote_errors_come_back_with_type_and_message(nats_server: NatsServer) -> None:
    a, b = node(nats_server, "a"), node(nats_server, "b")

    @b.route("fail://key")
    def key(msg: Message) -> None:
        raise KeyError("missing")

    @b.route("fail://private")
    async def private(msg: Message) -> None:
        raise PrivateError("secret")

    async with a, b:
        with pytest.raises(KeyError, match="missing"):
            await a.request("fail://key")
        # this module is imported here too, so its class is rebuilt
        with pytest.raises(PrivateError, match="secret"):
            await a.request("fail://private")
        with pytest.raises(NoRoute, match="no node on NATS"):
            await a.request("nobody://here")
        # a param that does not convert on the serving node: its NoRoute comes back
        with pytest.raises(NoRoute):
            await a.request("fail://key/extra")


async def test_unknown_error_types_become_remote_errors(nats_server: NatsServer) -> None:
    a, b = node(nats_server, "a"), node(nats_server, "b")

    @b.route("fail://odd")
    def odd(msg: Message) -> None:
        raise type("Unimportable", (Exception,), {"__module__": "not.imported"})("boom")

    async with a, b:
        with pytest.raises(RemoteError) as info:
            await a.request("fail://odd")
        assert info.value.type_name == "not.imported.Unimportable"
        assert info.value.message == "boom"


async def test_unserialisable_bodies_raise_at_the_sender(nats_server: NatsServer) -> None:
    a, b = node(nats_server, "a"), node(nats_server, "b")
    got: list[Any] = []
    b.route("sink://x", lambda msg: got.append(msg.body))
    b.route("bad://result", lambda msg: object())

    async with a, b:
        with pytest.raises(UnserializableBody, match="sink://x"):
            await a.send("sink://x", object())
        with pytest.raises(TypeError, match="cannot cross the network"):
            await a.request("sink://x", {"nested": PrivateError()})
        with pytest.raises(UnserializableBody, match="result"):
            await a.request("bad://result")
        await a.request("sink://x", "ok")
        assert got == ["ok"]  # the bad ones never left


async def test_send_reaches_one_server_and_publish_every_subscriber(
        nats_server: NatsServer) -> None:
    a, b, c = (node(nats_server, n) for n in "abc")
    handled: dict[str, list[int]] = {"b": [], "c": []}
    events: list[tuple[str, str]] = []
    for name, k in (("b", b), ("c", c)):
        k.route("work://item/{n:int}",
                lambda msg, name=name: handled[name].append(msg.params["n"]))
        k.subscribe("events://**", lambda msg, name=name: events.append((name, msg.path)))
    a.subscribe("events://user/*", lambda msg: events.append(("a", msg.path)))

    async with a, b, c:
        for i in range(200):
            await a.send(f"work://item/{i}")
            if i % 10 == 9:  # sends coalesce per loop iteration: let the batches go
                await hyphal.sleep(0)
        assert await a.publish("events://user/1") == 1  # a's own subscriber; others remote
        await a.request("work://item/999")
        deadline = time.monotonic() + 10
        while (len(handled["b"]) + len(handled["c"]) < 201 or len(events) < 3) and (
                time.monotonic() < deadline):
            await hyphal.sleep(0.02)
        await hyphal.sleep(0.05)  # nothing more arrives
    both = handled["b"] + handled["c"]
    assert sorted(both) == [*range(200), 999]  # each exactly once
    assert handled["b"] and handled["c"]  # the queue group split the work
    assert sorted(events) == [("a", "events://user/1"), ("b", "events://user/1"),
                              ("c", "events://user/1")]


@pytest.mark.parametrize("batch", [64, 1])
async def test_sends_keep_their_order_and_identity_in_batches(nats_server: NatsServer,
                                                              batch: int) -> None:
    a, b = node(nats_server, "a", batch=batch), node(nats_server, "b")
    got: list[Message] = []
    b.route("seq://{n:int}", got.append)
    b.route("seq://all", got.append)
    sent = [Message("seq://all", i, {"i": i}) for i in range(500)]
    async with a, b:
        for msg in sent:
            await a.send(msg)
        with pytest.raises(ValueError, match="at most"):
            await a.send("seq://all", b"x" * (2 << 20))
        await a.request("seq://1")
        deadline = time.monotonic() + 10
        while len(got) < 501 and time.monotonic() < deadline:
            await hyphal.sleep(0.01)
    sends = [m for m in got if m.path == "seq://all"]
    assert [m.body for m in sends] == list(range(500))  # in order, each once
    assert [(m.id, m.meta) for m in sends] == [(m.id, m.meta) for m in sent]


async def test_local_routes_stay_local(nats_server: NatsServer) -> None:
    a = node(nats_server, "a")
    a.route("here://x", lambda msg: "local")
    async with a:
        assert await a.request("here://x") == "local"
        await a.send("here://x")
        stats = a.transport.statistics()  # type: ignore[attr-defined]
        assert (stats.sent, stats.requests) == (0, 0)


async def test_overlapping_patterns_on_one_node_handle_a_message_once(
        nats_server: NatsServer) -> None:
    a, b = node(nats_server, "a"), node(nats_server, "b")
    seen: list[str] = []
    b.route("o://a/{x}", lambda msg: seen.append("param"))
    b.route("o://a/b", lambda msg: seen.append("static"))
    b.route("o://**", lambda msg: seen.append("rest"))
    b.subscribe("p://a/*", lambda msg: seen.append("sub1"))
    b.subscribe("p://**", lambda msg: seen.append("sub2"))
    async with a, b:
        await a.request("o://a/b")
        await a.request("o://a/c")
        await a.request("o://z/z/z")
        await a.publish("p://a/b")
        await a.request("o://a/b")
        deadline = time.monotonic() + 10
        while len(seen) < 6 and time.monotonic() < deadline:
            await hyphal.sleep(0.02)
        await hyphal.sleep(0.1)  # and no duplicate follows
    assert sorted(seen) == sorted(["static", "param", "rest", "sub1", "sub2", "static"])


async def test_request_times_out_clearly(nats_server: NatsServer) -> None:
    a, b = node(nats_server, "a"), node(nats_server, "b")

    @b.route("slow://x")
    async def slow(msg: Message) -> None:
        await hyphal.sleep(0.5)

    async with a, b:
        start = time.monotonic()
        with pytest.raises(TimeoutError, match=r"slow://x.*within 0\.2 s"):
            await a.request("slow://x", timeout=0.2)
        assert time.monotonic() - start < 2
        # the slow handler holds no other request up (each is answered in its own task)
        b.route("fast://x", lambda msg: 1)
        await hyphal.sleep(0.05)
        assert await a.request("fast://x") == 1


async def test_leaving_drains_messages_the_node_accepted(nats_server: NatsServer) -> None:
    a, b = node(nats_server, "a"), node(nats_server, "b")
    done: list[int] = []

    @b.route("jobs://{n:int}")
    async def job(msg: Message) -> None:
        await hyphal.sleep(0.002)
        done.append(msg.params["n"])

    b.route("ping://b", lambda msg: "pong")
    async with a:
        async with b:
            for i in range(100):
                await a.send(f"jobs://{i}")
            await a.request("ping://b")  # b's connection has every job now
        assert sorted(done) == list(range(100))


async def test_connect_failure_is_a_clear_connection_error() -> None:
    k = Kernel(NatsTransport(f"nats://127.0.0.1:{free_port()}", connect_timeout=0.5))
    with pytest.raises(ConnectionError, match="hyphal nats"):
        async with k:
            pass


async def test_server_restart_mid_stream(nats_server: NatsServer) -> None:
    a, b = node(nats_server, "a"), node(nats_server, "b")
    b.route("echo://{n:int}", lambda msg: msg.params["n"])
    ok: list[int] = []
    failed: list[str] = []
    async with a, b:
        for i in range(20):
            ok.append(await a.request(f"echo://{i}"))
        nats_server.stop()
        start = time.monotonic()
        with pytest.raises(TimeoutError, match="connection is down"):
            await a.request("echo://1", timeout=0.3)
        assert time.monotonic() - start < 2  # a clear error, never a hang
        nats_server.start()
        deadline = time.monotonic() + 10
        i = 20
        while len(ok) < 40 and time.monotonic() < deadline:
            try:
                ok.append(await a.request(f"echo://{i}", timeout=0.5))
                i += 1
            except (TimeoutError, NoRoute) as exc:  # until both have reconnected
                failed.append(type(exc).__name__)
                await hyphal.sleep(0.05)
        assert ok == list(range(40))  # subscriptions came back without the app doing anything
        assert a.transport.statistics().reconnects >= 1  # type: ignore[attr-defined]


async def test_durable_send_waits_for_a_server_of_its_route(nats_server: NatsServer) -> None:
    a = node(nats_server, "a")
    async with a:
        for i in range(5):
            await a.send("durable://job", i, durable=True)
    got: list[int] = []
    b = node(nats_server, "b")
    b.route("durable://job", lambda msg: got.append(msg.body))
    async with b:
        deadline = time.monotonic() + 10
        while len(got) < 5 and time.monotonic() < deadline:
            await hyphal.sleep(0.05)
    assert got == [0, 1, 2, 3, 4]
    # acknowledged: a new node serving the route later gets nothing again
    again: list[int] = []
    c = node(nats_server, "c")
    c.route("durable://job", lambda msg: again.append(msg.body))
    async with c:
        await hyphal.sleep(0.5)
    assert again == []


async def test_durable_send_needs_jetstream(tmp_path: Any) -> None:
    with NatsServer(jetstream=False) as server:
        a = node(server, "a", durable=False)
        async with a:
            with pytest.raises(RuntimeError, match="JetStream"):
                await a.send("durable://job", 1, durable=True)


def test_transport_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPHAL_TRANSPORT", "nats://127.0.0.1:4999")
    monkeypatch.setenv("HYPHAL_NODE", "env-node")
    k = Kernel()
    assert isinstance(k.transport, NatsTransport)
    assert (k.transport.url, k.transport.node) == ("nats://127.0.0.1:4999", "env-node")
    assert Kernel("nats://127.0.0.1:4999", node="given").transport.node == "given"  # type: ignore[attr-defined]
    monkeypatch.delenv("HYPHAL_TRANSPORT")
    assert Kernel().transport.name == "local"


async def test_leaving_while_the_server_is_down_is_prompt(nats_server: NatsServer) -> None:
    a = node(nats_server, "a", durable_timeout=0.5)
    a.route("durable://job", lambda msg: None)  # with a durable consumer waiting on JetStream
    async with a:
        await a.send("elsewhere://x", 1)
        nats_server.kill()
        await hyphal.sleep(0.2)
        await a.send("elsewhere://x", 2)  # buffered for the reconnect
        with (pytest.raises(TimeoutError, match=r"JetStream .* connection down"),
              hyphal.fail_after(3)):
            await a.send("durable://job", 3, durable=True)
        start = time.monotonic()
    assert time.monotonic() - start < 2


def test_a_second_server_on_a_taken_port_fails_instead_of_passing_for_the_first(
        nats_server: Any) -> None:
    """A server is ready when its own ports file appears: one whose port another server
    holds exits, and start() says so, rather than seeing the other server accept."""
    second = NatsServer(nats_server.port, jetstream=False)
    try:
        with pytest.raises(RuntimeError, match=f"is port {nats_server.port} taken"):
            second.start(timeout=10)
    finally:
        second.close()
    assert accepting("127.0.0.1", nats_server.port)  # the first one still serves
