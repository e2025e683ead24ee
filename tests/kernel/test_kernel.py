"""The kernel: delivery, request/reply, errors, timeouts, dead letters, backpressure, batches,
publish, middleware, subsystems and statistics."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

import hyphal
from hyphal.kernel import DEAD_LETTER_PATH, DeadLetter, Kernel, Message, NoRoute, Subsystem


async def test_send_runs_sync_handlers_inline_and_queues_async_ones() -> None:
    kernel = Kernel()
    seen: list[Any] = []

    @kernel.route("users://profile/{id:int}")
    def profile(msg: Message) -> None:
        seen.append(("sync", msg.params["id"], msg.body))

    @kernel.route("users://audit/{what}")
    async def audit(msg: Message) -> None:
        seen.append(("async", msg.params["what"]))

    async with kernel:
        tasks_before = hyphal.statistics().tasks_spawned
        await kernel.send("users://profile/7", "hi")
        assert seen == [("sync", 7, "hi")]  # ran before send returned
        await kernel.send("users://audit/login")
        assert len(seen) == 1  # queued, not run yet
        await kernel.drain()
        assert seen[-1] == ("async", "login")
        assert hyphal.statistics().tasks_spawned == tasks_before  # no task per message


async def test_request_returns_the_result_from_sync_and_async_handlers() -> None:
    kernel = Kernel()
    kernel.route("m://double/{n:int}", lambda msg: msg.params["n"] * 2)

    @kernel.route("m://echo/**")
    async def echo(msg: Message) -> Any:
        await hyphal.sleep(0)
        return msg.params["**"], msg.body, msg.reply_to is not None

    async with kernel:
        assert await kernel.request("m://double/21") == 42
        assert await kernel.request("m://echo/a/b", 5) == ("a/b", 5, True)


async def test_handler_errors_are_carried_back_with_type_and_message() -> None:
    kernel = Kernel()

    class Refused(Exception):
        pass

    @kernel.route("m://fail/{how}")
    async def fail(msg: Message) -> None:
        if msg.params["how"] == "key":
            raise KeyError("no such user")
        raise Refused("not today")

    kernel.route("m://sync-fail", lambda msg: 1 / 0)

    async with kernel:
        with pytest.raises(KeyError, match="no such user"):
            await kernel.request("m://fail/key")
        with pytest.raises(Refused, match="not today"):
            await kernel.request("m://fail/other")
        with pytest.raises(ZeroDivisionError):
            await kernel.request("m://sync-fail")
        stats = kernel.statistics()
        assert stats.route("m://fail/{how}").errors == 2
        assert stats.route("m://sync-fail").errors == 1


async def test_send_counts_and_logs_handler_errors_without_raising(
        caplog: pytest.LogCaptureFixture) -> None:
    kernel = Kernel()
    kernel.route("m://bad", lambda msg: 1 / 0)

    @kernel.route("m://bad-async")
    async def bad(msg: Message) -> None:
        raise RuntimeError("boom")

    async with kernel:
        await kernel.send("m://bad")
        await kernel.send("m://bad-async")
        await kernel.drain()
    assert kernel.statistics().route("m://bad").errors == 1
    assert kernel.statistics().route("m://bad-async").errors == 1
    assert any(r.name == "hyphal.kernel" and "m://bad-async" in r.getMessage()
               for r in caplog.records)


async def test_request_timeout_cancels_the_handler_and_raises_timeout_error() -> None:
    kernel = Kernel(request_timeout=0.05)
    cancelled = asyncio.Event()

    @kernel.route("slow://op")
    async def slow(msg: Message) -> None:
        try:
            await hyphal.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with kernel:
        start = hyphal.current_time()
        with pytest.raises(TimeoutError, match="slow://op"):
            await kernel.request("slow://op", timeout=0.05)
        assert 0.05 <= hyphal.current_time() - start < 2
        assert cancelled.is_set()
        with pytest.raises(TimeoutError):
            await kernel.request("slow://op")  # the kernel's default
        assert kernel.statistics().route("slow://op").errors == 2


async def test_no_route_names_the_closest_pattern_and_becomes_a_dead_letter() -> None:
    kernel = Kernel()
    kernel.route("users://profile/{id}", lambda msg: None)
    kernel.route("users://settings", lambda msg: None)
    letters: list[DeadLetter] = []
    kernel.route(DEAD_LETTER_PATH, lambda msg: letters.append(msg.body))

    async with kernel:
        with pytest.raises(NoRoute, match=re.escape("'users://profile/{id}'")) as info:
            await kernel.request("users://profil/1")
        assert info.value.closest == "users://profile/{id}"
        assert isinstance(info.value, hyphal.HyphalError)
        await kernel.send("users://nowhere/at/all", 1)
        await kernel.send("ghosts://x")
        stats = kernel.statistics()
        assert stats.dead_letters == 3
        assert [d.message.path for d in kernel.dead_letters()] == [
            "users://profil/1", "users://nowhere/at/all", "ghosts://x"]
        assert [d.message.path for d in letters] == [d.message.path
                                                     for d in kernel.dead_letters()]


async def test_malformed_paths_raise_value_error() -> None:
    kernel = Kernel()
    kernel.route("a://b", lambda msg: None)
    async with kernel:
        with pytest.raises(ValueError, match="segment 2 is empty"):
            await kernel.send("a://b//c")
        with pytest.raises(ValueError, match="'://'"):
            await kernel.request("just-text")


async def test_using_a_kernel_that_is_not_running_is_an_error() -> None:
    kernel = Kernel()
    kernel.route("a://b", lambda msg: None)
    with pytest.raises(RuntimeError, match="async with kernel"):
        await kernel.send("a://b")
    with pytest.raises(RuntimeError, match="async with kernel"):
        await kernel.request("a://b")


async def test_backpressure_waits_for_room_when_the_inbox_is_full() -> None:
    kernel = Kernel()
    sub = kernel.subsystem("bp", inbox=4)
    gate = asyncio.Event()
    handled: list[int] = []

    @sub.route("work")
    async def work(msg: Message) -> None:
        await gate.wait()
        handled.append(msg.body)

    async with kernel:
        for i in range(5):  # the worker takes the first; four wait in the inbox
            await kernel.send("bp://work", i)
        assert kernel.statistics().subsystem("bp").inbox_depth == 4
        with hyphal.move_on_after(0.05) as scope:
            await kernel.send("bp://work", 5)  # full: waits
        assert scope.cancelled_caught
        with pytest.raises(hyphal.WouldBlock, match="inbox of subsystem 'bp' is full"):
            kernel.send_nowait("bp://work", 6)
        gate.set()
        await kernel.send("bp://work", 7)  # room again
        await kernel.drain()
    assert handled == [0, 1, 2, 3, 4, 7]  # in order; nothing half-sent


async def test_backpressure_can_raise_instead_of_waiting() -> None:
    kernel = Kernel()
    sub = kernel.subsystem("bp", inbox=2, when_full="raise")
    gate = asyncio.Event()

    @sub.route("work")
    async def work(msg: Message) -> None:
        await gate.wait()

    async with kernel:
        for i in range(3):
            await kernel.send("bp://work", i)
        with pytest.raises(hyphal.WouldBlock):
            await kernel.send("bp://work", 3)
        gate.set()


async def test_send_batch_runs_concurrently_and_keeps_result_order() -> None:
    kernel = Kernel()
    running = 0
    peak = 0

    @kernel.route("b://item/{n:int}")
    async def item(msg: Message) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await hyphal.sleep(0.01 * (5 - msg.params["n"] % 5))  # later ones finish first
        running -= 1
        return msg.params["n"] * 10

    kernel.route("b://sync/{n:int}", lambda msg: -msg.params["n"])

    async with kernel:
        msgs: list[Any] = [Message(f"b://item/{i}") for i in range(10)]
        msgs.insert(3, ("b://sync/3", None))
        start = hyphal.current_time()
        results = await kernel.send_batch(msgs)
        assert results == [0, 10, 20, -3, 30, 40, 50, 60, 70, 80, 90]
        assert peak == 10
        assert hyphal.current_time() - start < 0.2  # concurrent, not 10 sleeps in a row


async def test_send_batch_errors_raise_or_take_their_place() -> None:
    kernel = Kernel()

    @kernel.route("b://maybe/{n:int}")
    async def maybe(msg: Message) -> int:
        if msg.params["n"] == 1:
            raise ValueError("one is bad")
        return msg.params["n"]

    async with kernel:
        paths = ["b://maybe/0", "b://maybe/1", "b://maybe/2", "b://missing"]
        with pytest.raises(ValueError, match="one is bad"):
            await kernel.send_batch(paths)
        results = await kernel.send_batch(paths, return_exceptions=True)
        assert results[0] == 0 and results[2] == 2
        assert isinstance(results[1], ValueError)
        assert isinstance(results[3], NoRoute)


async def test_send_sequence_keeps_order_per_subsystem_and_runs_subsystems_side_by_side() -> None:
    kernel = Kernel()
    log: list[str] = []

    async def step(msg: Message) -> str:
        log.append(f"start {msg.path}")
        await hyphal.sleep(0.01)
        log.append(f"end {msg.path}")
        return msg.path

    kernel.route("a://{n}", step)
    kernel.route("b://{n}", step)
    async with kernel:
        order = ["a://1", "b://1", "a://2", "b://2", "a://3"]
        assert await kernel.send_sequence(order) == order
    a_events = [e for e in log if "a://" in e]
    assert a_events == ["start a://1", "end a://1", "start a://2", "end a://2",
                        "start a://3", "end a://3"]
    assert log.index("start b://1") < log.index("end a://1")  # b ran beside a


async def test_publish_reaches_every_matching_subscriber() -> None:
    kernel = Kernel()
    got: list[tuple[str, Any]] = []
    kernel.subscribe("events://user/*", lambda msg: got.append(("star", msg.path)))
    kernel.subscribe("events://user/{id:int}",
                     lambda msg: got.append(("int", msg.params["id"])))
    kernel.subscribe("events://**", lambda msg: got.append(("all", msg.params["**"])))

    @kernel.subscribe("events://user/*")
    async def second(msg: Message) -> None:
        got.append(("async", msg.id))

    async with kernel:
        msg = Message("events://user/5")
        assert await kernel.publish(msg) == 4
        await kernel.drain()
        assert sorted(got, key=str) == sorted(
            [("star", "events://user/5"), ("int", 5), ("all", "user/5"), ("async", msg.id)],
            key=str)
        assert await kernel.publish("events://nobody/listens/here/x") == 1
        assert await kernel.publish("other://x") == 0


async def test_middleware_runs_in_the_documented_order() -> None:
    kernel = Kernel()
    order: list[str] = []

    def tracer(name: str) -> Any:
        async def mw(msg: Message, call_next: Any) -> Any:
            order.append(f"{name} in")
            result = await call_next(msg)
            order.append(f"{name} out")
            return result
        return mw

    sub = kernel.subsystem("m")
    kernel.use(tracer("k1"))
    sub.use(tracer("s1"))
    kernel.use(tracer("k2"))

    @sub.route("x")
    def handler(msg: Message) -> str:
        order.append("handler")
        return "ok"

    async with kernel:
        assert await kernel.request("m://x") == "ok"
    assert order == ["k1 in", "k2 in", "s1 in", "handler", "s1 out", "k2 out", "k1 out"]


async def test_middleware_can_refuse_a_message() -> None:
    kernel = Kernel()

    @kernel.use
    async def auth(msg: Message, call_next: Any) -> Any:
        if msg.meta.get("token") != "secret":
            raise PermissionError(f"{msg.path} needs a token")
        return await call_next(msg)

    kernel.route("vault://open", lambda msg: "opened")
    async with kernel:
        with pytest.raises(PermissionError, match="needs a token"):
            await kernel.request("vault://open")
        assert await kernel.request("vault://open", meta={"token": "secret"}) == "opened"


async def test_subsystems_mount_and_unmount_at_run_time() -> None:
    kernel = Kernel()
    events: list[str] = []
    billing = Subsystem("billing")

    @billing.on_start
    async def start() -> None:
        events.append("start")

    @billing.on_stop
    def stop() -> None:
        events.append("stop")

    @billing.route("charge/{amount:float}")
    async def charge(msg: Message) -> None:
        await hyphal.sleep(0.001)
        events.append(f"charged {msg.params['amount']}")

    async with kernel:
        with pytest.raises(NoRoute):
            await kernel.request("billing://charge/1.5")
        await kernel.mount(billing)
        assert events == ["start"]
        await kernel.send("billing://charge/2.5")
        await kernel.send("billing://charge/3")
        await kernel.unmount("billing")  # drains first, then stops
        assert events == ["start", "charged 2.5", "charged 3.0", "stop"]
        with pytest.raises(NoRoute):
            await kernel.request("billing://charge/1.5")
        await kernel.mount(billing)  # and back
        await kernel.request("billing://charge/4")
    assert events[-2:] == ["charged 4.0", "stop"]


async def test_ambiguous_routes_raise_at_registration() -> None:
    kernel = Kernel()
    kernel.route("u://p/{id}", lambda msg: None)
    with pytest.raises(ValueError, match="ambiguous"):
        kernel.route("u://p/{name}", lambda msg: None)
    other = Subsystem("u")
    other.route("p/{x}", lambda msg: None)
    with pytest.raises(ValueError, match="mounted already"):
        await kernel.mount(other)
    clash = Subsystem("v")
    clash.route("a/{x}", lambda msg: None)
    with pytest.raises(ValueError, match="ambiguous"):
        clash.route("a/{y}", lambda msg: None)


async def test_statistics_count_calls_errors_latency_and_inbox_depth() -> None:
    kernel = Kernel()
    kernel.route("s://ok", lambda msg: None)
    async with kernel:
        for _ in range(40):
            await kernel.send("s://ok")
        stats = kernel.statistics()
        route = stats.route("s://ok")
        assert (route.calls, route.errors) == (40, 0)
        assert route.latency.total >= 1  # sampled: the first call is always timed
        assert 0 < route.latency.percentile(50) < 1
        sub = stats.subsystem("s")
        assert sub.inbox_depth == 0 and sub.running and sub.routes == 1


async def test_routes_registered_while_running_work_at_once() -> None:
    kernel = Kernel()
    async with kernel:
        kernel.route("late://x", lambda msg: "late")
        assert await kernel.request("late://x") == "late"

        @kernel.route("later://y/{z}")
        async def later(msg: Message) -> Any:
            return msg.params["z"]

        assert await kernel.request("later://y/q") == "q"
        await kernel.send("later://y/r")
        await kernel.drain()


async def test_leaving_drains_queued_messages_and_runs_on_stop() -> None:
    kernel = Kernel()
    done: list[int] = []
    sub = kernel.subsystem("d")

    @sub.route("x")
    async def x(msg: Message) -> None:
        await hyphal.sleep(0)
        done.append(msg.body)

    sub.on_stop(lambda: done.append(-1))
    async with kernel:
        for i in range(50):
            await kernel.send("d://x", i)
    assert done == [*range(50), -1]
    assert not kernel.running


async def test_an_error_in_the_body_cancels_the_workers() -> None:
    kernel = Kernel()

    @kernel.route("c://x")
    async def x(msg: Message) -> None:
        await hyphal.sleep(10)

    with pytest.raises(RuntimeError, match="body"):
        async with kernel:
            await kernel.send("c://x")
            await hyphal.sleep(0)
            raise RuntimeError("body failed")
    assert not kernel.running
    async with kernel:  # and it can run again
        pass


async def test_lookup_reports_the_pattern_and_params() -> None:
    kernel = Kernel()
    kernel.route("u://p/{id:int}", lambda msg: None)
    assert kernel.lookup("u://p/3") == ("u://p/{id:int}", {"id": 3})
    assert kernel.lookup("u://q") is None
    assert kernel.patterns() == ["u://p/{id:int}"]


async def test_a_subsystem_whose_on_start_fails_is_not_left_mounted() -> None:
    kernel = Kernel()
    broken = Subsystem("broken")
    broken.route("x", lambda msg: "x")

    @broken.on_start
    def fail() -> None:
        raise OSError("database unreachable")

    async with kernel:
        with pytest.raises(OSError, match="unreachable"):
            await kernel.mount(broken)
        with pytest.raises(NoRoute):
            await kernel.request("broken://x")
        broken._on_start.clear()
        await kernel.mount(broken)  # fixed: mounts fine now
        assert await kernel.request("broken://x") == "x"


async def test_batch_and_sequence_timeouts() -> None:
    kernel = Kernel()

    @kernel.route("t://slow/{n}")
    async def slow(msg: Message) -> None:
        await hyphal.sleep(5)

    async with kernel:
        with pytest.raises(TimeoutError, match="batch"):
            await kernel.send_batch(["t://slow/1", "t://slow/2"], timeout=0.05)
        with pytest.raises(TimeoutError, match="sequence"):
            await kernel.send_sequence(["t://slow/1"], timeout=0.05)


class _Abort(BaseException):
    pass


async def test_send_accepts_keywords_and_ready_messages_and_restores_the_context() -> None:
    kernel = Kernel()
    got: list[Any] = []
    kernel.route("k://x", lambda msg: got.append((msg.body, msg.meta)))

    @kernel.route("k://abort")
    def abort(msg: Message) -> None:
        raise _Abort

    async with kernel:
        await kernel.send("k://x", meta={"m": 1})
        await kernel.send("k://x", body=2)
        await kernel.send(path="k://x", body=3, meta={"m": 3})
        ready = Message("k://x", 4)
        await kernel.send(ready)
        assert got == [(None, {"m": 1}), (2, {}), (3, {"m": 3}), (4, {})]
        with pytest.raises(TypeError):
            await kernel.send()  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            await kernel.send("k://x", 1, 2)  # type: ignore[misc]
        with pytest.raises(TypeError):
            await kernel.send(["unhashable"])  # type: ignore[arg-type]
        with pytest.raises(_Abort):  # not an Exception: it propagates
            await kernel.send("k://abort")
        assert hyphal.kernel.current_message() is None  # the context was restored
        assert kernel.statistics().route("k://abort").calls == 0


async def test_queued_handlers_that_suspend_fail_or_return_other_awaitables() -> None:
    kernel = Kernel()
    sub = kernel.subsystem("w")
    log: list[str] = []

    @sub.route("ready/{n:int}")
    async def ready(msg: Message) -> None:
        log.append(f"ready {msg.params['n']}")

    @sub.route("slow/{n:int}")
    async def slow(msg: Message) -> None:
        await hyphal.sleep(0.001)
        log.append(f"slow {msg.params['n']}")

    @sub.route("bad")
    async def bad(msg: Message) -> None:
        raise LookupError("nope")

    other = kernel.subsystem("o")

    @other.use
    def as_task(msg: Message, call_next: Any) -> Any:  # returns a Task, not a coroutine
        return asyncio.ensure_future(call_next(msg))

    @other.route("x")
    async def x(msg: Message) -> None:
        log.append("task")

    async with kernel:
        for path in ["w://ready/1", "w://slow/2", "w://bad", "w://ready/3", "w://slow/4",
                     "o://x"]:
            await kernel.send(path)
        await kernel.drain()
    assert [e for e in log if e != "task"] == ["ready 1", "slow 2", "ready 3", "slow 4"]
    assert "task" in log
    stats = kernel.statistics()
    assert stats.route("w://bad").errors == 1
    assert stats.subsystem("w").handled == 5
