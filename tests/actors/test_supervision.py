"""Supervision: each strategy with real failures, restart intensity and escalation, restarts
with the original arguments, asks to crashing actors, and no message lost across restarts."""

from __future__ import annotations

import asyncio
import random
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

import hyphal
from hyphal import Actor, ActorSystem, MailboxSpec
from hyphal.actors import Strategy


class Boom(Exception):
    pass


class Worker(Actor[Any, Any]):
    """``"state"`` returns (arg, handled, incarnation); ``"crash"`` raises; ``("sleep", s)``
    waits; anything else is recorded in ``handled``. ``starts`` counts incarnations per arg."""

    starts: ClassVar[dict[str, int]] = {}
    restarts_seen: ClassVar[dict[str, list[str]]] = {}

    def __init__(self, arg: str) -> None:
        self.arg = arg
        self.handled: list[Any] = []

    async def on_start(self) -> None:
        Worker.starts[self.arg] = Worker.starts.get(self.arg, 0) + 1

    async def on_restart(self, error: BaseException) -> None:
        Worker.restarts_seen.setdefault(self.arg, []).append(repr(error))

    async def receive(self, msg: Any) -> Any:
        if msg == "crash":
            raise Boom(self.arg)
        if msg == "state":
            return (self.arg, list(self.handled), Worker.starts[self.arg])
        if isinstance(msg, tuple) and msg[0] == "sleep":
            await hyphal.sleep(msg[1])
        self.handled.append(msg)
        return None


@pytest.fixture(autouse=True)
def _reset_worker_counts() -> None:
    Worker.starts = {}
    Worker.restarts_seen = {}


async def _settle(*refs: hyphal.ActorRef[Any, Any]) -> list[Any]:
    """Each actor's state, once its supervisor has restarted it if needed."""
    return [await ref.ask("state", timeout=5) for ref in refs]


async def test_ask_to_a_crashing_actor_gets_the_error_and_the_actor_restarts() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(Worker, "a")
        ref.tell("kept-before")
        with pytest.raises(Boom):
            await ref.ask("crash", timeout=5)
        arg, handled, incarnation = await ref.ask("state", timeout=5)
        assert (arg, handled, incarnation) == ("a", [], 2)  # fresh state, original argument
        assert Worker.restarts_seen["a"] == ["Boom('a')"]
        stats = ref.statistics()
        assert (stats.failed, stats.restarts) == (1, 1)


async def test_one_for_one_restarts_only_the_failed_child() -> None:
    async with ActorSystem() as system:
        sup = system.supervisor("one_for_one", max_restarts=5, within=10)
        a, b, c = (sup.spawn(Worker, x) for x in "abc")
        for ref in (a, b, c):
            ref.tell("m")
        b.tell("crash")
        states = await _settle(a, b, c)
        assert states == [("a", ["m"], 1), ("b", [], 2), ("c", ["m"], 1)]
        assert sup.statistics().restarts == 1


async def test_one_for_all_restarts_every_child_and_fails_a_sibling_in_flight_ask() -> None:
    async with ActorSystem() as system:
        sup = system.supervisor("one_for_all", max_restarts=5, within=10)
        a, b, c = (sup.spawn(Worker, x) for x in "abc")
        a.tell("m")
        c.tell("m")
        slow = asyncio.ensure_future(c.ask(("sleep", 5)))
        await hyphal.sleep(0.01)  # c is inside its slow message
        b.tell("crash")
        with pytest.raises(hyphal.BrokenResourceError, match="interrupted"):
            await slow
        while any(ref.statistics().restarts == 0 for ref in (a, b, c)):
            await hyphal.sleep(0.001)
        states = await _settle(a, b, c)
        assert states == [("a", [], 2), ("b", [], 2), ("c", [], 2)]
        assert Worker.restarts_seen == {x: ["Boom('b')"] for x in "abc"}


async def test_rest_for_one_restarts_the_failed_child_and_those_started_after_it() -> None:
    async with ActorSystem() as system:
        sup = system.supervisor("rest_for_one", max_restarts=5, within=10)
        a, b, c = (sup.spawn(Worker, x) for x in "abc")
        for ref in (a, b, c):
            ref.tell("m")
        b.tell("crash")
        states = await _settle(a, b, c)
        assert states == [("a", ["m"], 1), ("b", [], 2), ("c", [], 2)]


async def test_messages_queued_behind_a_crash_are_kept_for_the_restarted_actor() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(Worker, "k")
        ref.tell_batch(["crash", 1, 2, 3])
        assert (await ref.ask("state", timeout=5))[1] == [1, 2, 3]


async def test_keep_on_restart_false_sends_queued_messages_to_dead_letters() -> None:
    async with ActorSystem() as system:
        letters: list[hyphal.DeadLetter] = []
        system.dead_letters.subscribe(letters.append)
        ref = system.spawn(Worker, "d", mailbox=MailboxSpec(keep_on_restart=False))
        ref.tell_batch(["crash", 1, 2])
        while ref.statistics().restarts == 0:
            await hyphal.sleep(0.001)
        assert (await ref.ask("state", timeout=5))[1] == []
        assert [d.message for d in letters] == [1, 2]
        assert {d.reason for d in letters} == {"dropped at restart"}


async def test_too_many_restarts_escalate_to_the_parent_which_restarts_the_subtree() -> None:
    async with ActorSystem() as system:
        parent = system.supervisor("one_for_one", max_restarts=5, within=10, name="parent")
        other = parent.spawn(Worker, "other")
        child_sup = parent.supervisor("one_for_one", max_restarts=1, within=10, name="child")
        x = child_sup.spawn(Worker, "x")
        y = child_sup.spawn(Worker, "y")
        other.tell("m")
        y.tell("m")
        x.tell("crash")
        await _settle(x)  # first crash: restarted by child_sup
        x.tell("crash")   # second within the window: child_sup gives up and escalates
        states = await _settle(other, x, y)
        assert states == [("other", ["m"], 1), ("x", [], 3), ("y", [], 2)]
        assert child_sup.statistics().escalations == 1
        assert system.statistics().escalations == 1


async def test_escalation_past_the_root_stops_the_system_with_supervision_error() -> None:
    system = ActorSystem(max_restarts=1, within=10)
    ref: hyphal.ActorRef[Any, Any] | None = None
    with pytest.raises(hyphal.SupervisionError) as info:
        async with system:
            ref = system.spawn(Worker, "r")
            ref.tell("crash")
            ref.tell("crash")
            while ref.alive:
                await hyphal.sleep(0.001)
            with pytest.raises(hyphal.BrokenResourceError):
                await ref.ask("state")
    assert isinstance(info.value.__cause__, Boom)


async def test_a_crash_in_on_start_is_supervised_like_any_other() -> None:
    class FailsOnce(Actor[str, str]):
        tries = 0

        async def on_start(self) -> None:
            FailsOnce.tries += 1
            if FailsOnce.tries == 1:
                raise Boom("start")

        async def receive(self, msg: str) -> str:
            return msg

    async with ActorSystem() as system:
        ref = system.spawn(FailsOnce)
        assert await ref.ask("hi", timeout=5) == "hi"
        assert ref.statistics().restarts == 1


async def test_unknown_strategy_is_rejected() -> None:
    async with ActorSystem() as system:
        with pytest.raises(ValueError, match="strategy"):
            system.supervisor("one_for_some")  # type: ignore[arg-type]


class Ledger(Actor[int, list[int]]):
    """Raises on messages divisible by 7 the first time it sees them; records the rest."""

    log: ClassVar[list[int]] = []
    crashed: ClassVar[set[int]] = set()

    async def receive(self, msg: int) -> list[int]:
        if msg < 0:
            return list(Ledger.log)
        if msg % 7 == 0 and msg not in Ledger.crashed:
            Ledger.crashed.add(msg)
            raise Boom(msg)
        Ledger.log.append(msg)
        return []


@given(st.lists(st.integers(min_value=0, max_value=1000), max_size=60, unique=True),
       st.integers(min_value=1, max_value=8))
def test_no_message_is_lost_under_restarts(messages: list[int], chunk: int) -> None:
    """Every message that did not crash is handled exactly once, in order, however the crashes
    fall across batches."""

    async def main() -> list[int]:
        Ledger.log = []
        Ledger.crashed = set()
        async with ActorSystem(max_restarts=1000, within=1) as system:
            ref = system.spawn(Ledger)
            for i in range(0, len(messages), chunk):
                ref.tell_batch(messages[i:i + chunk])
                await hyphal.checkpoint()
            return await ref.ask(-1, timeout=10)

    log = hyphal.run(main)
    assert log == [m for m in messages if m % 7 != 0]


@pytest.mark.parametrize("strategy", ["one_for_one", "one_for_all", "rest_for_one"])
async def test_asks_never_hang_under_random_crashes(strategy: Strategy) -> None:
    """Every ask finishes -- with a reply, the crash it caused, or BrokenResourceError for one
    interrupted by a sibling's restart -- and the system shuts down cleanly."""
    rng = random.Random(strategy)
    async with ActorSystem() as system:
        sup = system.supervisor(strategy, max_restarts=10_000, within=1)
        refs = [sup.spawn(Worker, name) for name in "vwxyz"]
        outcomes: list[str] = []
        asked = 0

        async def one_ask(ref: hyphal.ActorRef[Any, Any], msg: Any) -> None:
            try:
                await ref.ask(msg, timeout=10)
                outcomes.append("reply")
            except Boom:
                outcomes.append("crash")
            except hyphal.BrokenResourceError:
                outcomes.append("interrupted")

        async with hyphal.TaskGroup() as tg:
            for _ in range(300):
                ref = rng.choice(refs)
                roll = rng.random()
                asked += roll < 0.5
                if roll < 0.1:
                    tg.spawn(one_ask, ref, "crash")
                elif roll < 0.2:
                    tg.spawn(one_ask, ref, ("sleep", 0.001))
                elif roll < 0.5:
                    tg.spawn(one_ask, ref, "state")
                else:
                    ref.tell(rng.random())
                if rng.random() < 0.2:
                    await hyphal.sleep(0)
        assert len(outcomes) == asked  # every ask finished, none timed out
        assert "crash" in outcomes and "reply" in outcomes
        assert all(ref.alive for ref in refs)
