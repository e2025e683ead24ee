"""Actors: tell/ask, ordering, lifecycle, batches, stop, dead letters, bounded mailboxes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import hyphal
from hyphal import Actor, ActorSystem, MailboxSpec, Overflow


class Counter(Actor[int, int]):
    def __init__(self, start: int = 0) -> None:
        self.total = start

    async def receive(self, msg: int) -> int:
        self.total += msg
        return self.total


class Recorder(Actor[Any, list[Any]]):
    """Keeps every message; ``"get"`` returns them; ``("sleep", s)`` waits ``s`` seconds."""

    def __init__(self, log: list[Any] | None = None) -> None:
        self.seen: list[Any] = []
        self.log = log if log is not None else []

    async def on_start(self) -> None:
        self.log.append("start")

    async def on_stop(self) -> None:
        self.log.append("stop")

    async def receive(self, msg: Any) -> list[Any]:
        if msg == "get":
            return list(self.seen)
        if isinstance(msg, tuple) and msg[0] == "sleep":
            await hyphal.sleep(msg[1])
        self.seen.append(msg)
        return []


async def test_tell_and_ask_reply_with_receive_result() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(Counter, 10)
        ref.tell(1)
        ref.tell(2)
        assert await ref.ask(3) == 16
        assert ref.statistics().processed == 3


async def test_messages_from_one_sender_arrive_in_order() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(Recorder)

        async def sender(tag: str) -> None:
            for i in range(200):
                ref.tell((tag, i))
                if i % 17 == 0:
                    await hyphal.checkpoint()

        async with hyphal.TaskGroup() as tg:
            for tag in "abc":
                tg.spawn(sender, tag)
        seen = await ref.ask("get")
        for tag in "abc":
            assert [i for t, i in seen if t == tag] == list(range(200))


async def test_one_message_at_a_time_even_when_receive_waits() -> None:
    class Exclusive(Actor[float, int]):
        def __init__(self) -> None:
            self.inside = 0
            self.max_inside = 0

        async def receive(self, msg: float) -> int:
            self.inside += 1
            self.max_inside = max(self.max_inside, self.inside)
            await hyphal.sleep(msg)
            self.inside -= 1
            return self.max_inside

    async with ActorSystem() as system:
        ref = system.spawn(Exclusive)
        async with hyphal.TaskGroup() as tg:
            asks = [tg.spawn(ref.ask, 0.001) for _ in range(10)]
        assert [a.result() for a in asks] == [1] * 10


async def test_lifecycle_hooks_run_in_order_and_stop_drains_the_mailbox() -> None:
    log: list[Any] = []
    async with ActorSystem() as system:
        ref = system.spawn(Recorder, log, name="rec")
        ref.tell(("sleep", 0.01))
        ref.tell("x")
        ref.stop()
        ref.tell("late")  # after stop: a dead letter
        await ref.join()
        assert not ref.alive
        assert log == ["start", "stop"]
        assert system.dead_letters.count == 1
        assert system.lookup("rec") is None


async def test_ask_to_a_stopped_actor_raises_broken_resource_error_at_once() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(Counter)
        ref.stop()
        await ref.join()
        with hyphal.fail_after(0.5), pytest.raises(hyphal.BrokenResourceError):
            await ref.ask(1)


async def test_ask_timeout_raises_and_the_actor_keeps_working() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(Recorder)
        start = hyphal.current_time()
        with pytest.raises(TimeoutError):
            await ref.ask(("sleep", 0.2), timeout=0.02)
        assert hyphal.current_time() - start >= 0.02
        # a queued ask that timed out is skipped, not handled late
        ref.tell(("sleep", 0.05))
        with pytest.raises(TimeoutError):
            await ref.ask("skipped?", timeout=0.01)
        seen = await ref.ask("get", timeout=5)
        assert "skipped?" not in seen
        assert ref.statistics().asks == 1  # answered; the timed-out ones are not
        with pytest.raises(ValueError, match="timeout"):
            await ref.ask("get", timeout=-1)


async def test_lookup_and_system_tell_to_unknown_actor_is_a_dead_letter() -> None:
    async with ActorSystem() as system:
        letters: list[hyphal.DeadLetter] = []
        unsubscribe = system.dead_letters.subscribe(letters.append)
        ref = system.spawn(Counter, name="counter")
        assert system.lookup("counter") is ref
        system.tell("counter", 5)
        assert await system.ask("counter", 0) == 5
        system.tell("nobody", "hello")
        assert letters == [hyphal.DeadLetter("nobody", "hello", "unknown")]
        with pytest.raises(hyphal.BrokenResourceError):
            await system.ask("nobody", 1)
        with pytest.raises(ValueError, match="already exists"):
            system.spawn(Counter, name="counter")
        unsubscribe()
        system.tell("nobody", "again")
        assert len(letters) == 1
        assert system.dead_letters.count == 2


async def test_tell_batch_and_receive_batch_get_runs_of_tells() -> None:
    class Summer(Actor[int, int]):
        def __init__(self) -> None:
            self.total = 0
            self.calls: list[int] = []

        async def receive_batch(self, msgs: list[int]) -> None:
            self.calls.append(len(msgs))
            self.total += sum(msgs)

        async def receive(self, msg: int) -> int:
            return self.total

    async with ActorSystem() as system:
        ref = system.spawn(Summer)
        ref.tell_batch(range(100))
        ref.tell_batch([1, 2, 3])
        assert await ref.ask(0) == sum(range(100)) + 6
        actor = system.lookup(ref.name)
        assert actor is ref
        assert ref.statistics().processed == 104


async def test_bounded_mailbox_block_policy_waits_for_room() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(Recorder, mailbox=2)  # short for MailboxSpec(capacity=2)
        ref.tell(("sleep", 0.02))
        await hyphal.checkpoint()  # the actor takes the first message and sleeps
        ref.tell(1)
        ref.tell(2)
        with pytest.raises(hyphal.WouldBlock):
            ref.tell(3)
        with hyphal.fail_after(2):
            await ref.send(3)  # waits until the actor takes its mailbox
        assert (await ref.ask("get"))[1:] == [1, 2, 3]


@pytest.mark.parametrize("policy", [Overflow.DROP_NEWEST, Overflow.DROP_OLDEST])
async def test_bounded_mailbox_drop_policies_send_drops_to_dead_letters(
        policy: Overflow) -> None:
    async with ActorSystem() as system:
        letters: list[hyphal.DeadLetter] = []
        system.dead_letters.subscribe(letters.append)
        ref = system.spawn(Recorder, mailbox=MailboxSpec(capacity=3, overflow=policy))
        ref.tell(("sleep", 0.02))
        await hyphal.checkpoint()
        for i in range(10):
            ref.tell(i)
        while ref.statistics().mailbox_depth:  # let it take the survivors before asking
            await hyphal.sleep(0.005)
        seen = (await ref.ask("get", timeout=5))[1:]
        dropped = [d.message for d in letters]
        assert sorted(seen + dropped) == list(range(10))
        assert seen == ([0, 1, 2] if policy is Overflow.DROP_NEWEST else [7, 8, 9])
        assert ref.statistics().dropped == 7


async def test_an_ask_dropped_by_the_mailbox_raises_message_dropped() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(Recorder, mailbox=MailboxSpec(capacity=1,
                                                         overflow=Overflow.DROP_OLDEST))
        ref.tell(("sleep", 0.02))
        await hyphal.checkpoint()
        ask = asyncio.ensure_future(ref.ask("get"))
        await hyphal.checkpoint()
        ref.tell("newer")  # evicts the queued ask
        with pytest.raises(hyphal.MessageDropped):
            await ask


def test_mailbox_spec_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="SPILL"):
        MailboxSpec(capacity=10, overflow=Overflow.SPILL)
    with pytest.raises(ValueError, match="capacity"):
        MailboxSpec(capacity=0)


async def test_spawn_outside_a_running_system_is_an_error() -> None:
    system = ActorSystem()
    with pytest.raises(RuntimeError, match="not running"):
        system.spawn(Counter)


async def test_ten_thousand_actors_alive_at_once() -> None:
    async with ActorSystem() as system:
        refs = [system.spawn(Counter, i) for i in range(10_000)]
        for ref in refs:
            ref.tell(1)
        replies = await asyncio.gather(*(ref.ask(0) for ref in refs[::100]))
        assert replies == [i + 1 for i in range(0, 10_000, 100)]
        stats = system.statistics()
        assert stats.actors_live == 10_000
    assert system.statistics().actors_live == 0
    assert system.statistics().messages_processed == 10_000 + 100


async def test_shutdown_fails_queued_asks_when_the_body_raises() -> None:
    ref: hyphal.ActorRef[Any, list[Any]] | None = None
    pending: asyncio.Future[Any] | None = None
    with pytest.raises(KeyError):
        async with ActorSystem() as system:
            ref = system.spawn(Recorder)
            ref.tell(("sleep", 10))
            pending = asyncio.ensure_future(ref.ask("get"))
            await hyphal.checkpoint()
            raise KeyError("boom")
    assert pending is not None and ref is not None
    with pytest.raises(hyphal.BrokenResourceError):
        await pending
    assert not ref.alive


async def test_shutdown_timeout_kills_an_actor_stuck_in_receive() -> None:
    log: list[Any] = []
    start = hyphal.current_time()
    async with ActorSystem(shutdown_timeout=0.05) as system:
        ref = system.spawn(Recorder, log)
        ref.tell(("sleep", 30))
        pending = asyncio.ensure_future(ref.ask("get"))
        await hyphal.checkpoint()
    assert hyphal.current_time() - start < 5
    assert log == ["start", "stop"]
    with pytest.raises(hyphal.BrokenResourceError):
        await pending


async def test_cancelling_the_task_that_runs_the_system_stops_every_actor() -> None:
    refs: list[hyphal.ActorRef[Any, Any]] = []
    started = asyncio.Event()

    async def run_system() -> None:
        async with ActorSystem() as system:
            refs.extend(system.spawn(Recorder) for _ in range(3))
            started.set()
            await hyphal.sleep(30)

    task = asyncio.ensure_future(run_system())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not any(ref.alive for ref in refs)
    with pytest.raises(hyphal.BrokenResourceError):
        await refs[0].ask("get")


async def test_an_actor_can_spawn_and_ask_other_actors() -> None:
    class Parent(Actor[int, int]):
        async def on_start(self) -> None:
            self.child = self.system.spawn(Counter, 100, name=f"{self.name}-child")

        async def receive(self, msg: int) -> int:
            return await self.child.ask(msg)

    async with ActorSystem() as system:
        parent = system.spawn(Parent, name="parent")
        assert await parent.ask(5) == 105
        assert system.lookup("parent-child") is not None


async def test_stop_is_idempotent_and_join_on_a_stopped_actor_returns() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(Counter)
        ref.stop()
        ref.stop()
        await ref.join()
        await ref.join()
        assert ref.statistics().state == "stopped"
