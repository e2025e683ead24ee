"""The actors' per-message paths (hotpath.py, in C when built): handlers that finish at once
and handlers that suspend, in any mix, keep the actor's promises; the pure-Python twins pass
the same suite."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hyphal
from hyphal import Actor, ActorSystem
from hyphal.actors import hotpath


@pytest.mark.skipif(sys.platform == "win32" or bool(os.environ.get("HYPHAL_PURE_PYTHON")),
                    reason="pure Python asked for, or no compiler expected")
def test_c_fast_paths_were_built() -> None:
    assert hotpath.SPEEDUPS, "the install did not compile hyphal.actors._speedups"


class Mixed(Actor[Any, Any]):
    """Suspends for ("wait", x), raises for ("fail", x), answers everything else at once."""

    def __init__(self, log: list[Any]) -> None:
        self.log = log

    async def receive(self, msg: Any) -> Any:
        if isinstance(msg, tuple) and msg[0] == "wait":
            await asyncio.sleep(0)
            await hyphal.sleep(0.001)
        if isinstance(msg, tuple) and msg[0] == "fail":
            raise ValueError(msg[1])
        self.log.append(msg)
        return msg


async def test_suspending_and_immediate_handlers_interleave_in_order() -> None:
    log: list[Any] = []
    async with ActorSystem() as system:
        ref = system.spawn(Mixed, log)
        sent: list[Any] = []
        asks = []
        for i in range(60):
            msg = ("wait", i) if i % 7 == 0 else i
            sent.append(msg)
            if i % 5 == 0:
                asks.append((msg, ref.ask(msg)))
            else:
                ref.tell(msg)
        for msg, reply in asks:
            assert await reply == msg
        assert await ref.ask("end") == "end"
        assert log == [*sent, "end"]
        stats = ref.statistics()
        assert stats.processed == 61 and stats.asks == len(asks) + 1 and stats.failed == 0
        assert stats.ask_latency_p50 > 0


async def test_a_handler_failing_after_it_suspended_fails_its_ask_and_keeps_the_rest() -> None:
    class FailsLate(Mixed):
        async def receive(self, msg: Any) -> Any:
            if msg == "late":
                await asyncio.sleep(0)
                raise KeyError("late")
            return await super().receive(msg)

    log: list[Any] = []
    async with ActorSystem() as system:
        ref = system.spawn(FailsLate, log)
        ref.tell(1)
        doomed = ref.ask("late")
        ref.tell(2)
        after = ref.ask(3)
        with pytest.raises(KeyError):
            await doomed
        assert await after == 3  # the restarted actor got the messages queued behind
        assert log[-2:] == [2, 3]
        assert ref.statistics().restarts == 1


async def test_stop_iteration_from_receive_is_a_runtime_error_as_in_any_coroutine() -> None:
    class Leaky(Actor[Any, Any]):
        async def receive(self, msg: Any) -> Any:
            if msg == "await":
                await asyncio.sleep(0)
            raise StopIteration(msg)

    async with ActorSystem() as system:
        for msg in ("now", "await"):
            ref = system.spawn(Leaky)
            with pytest.raises(RuntimeError, match="coroutine raised StopIteration"):
                await ref.ask(msg)


async def test_a_receive_returning_any_awaitable_is_awaited() -> None:
    class FutureReplies(Actor[int, int]):
        def receive(self, msg: int) -> Any:  # type: ignore[override]
            fut = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(fut.set_result, msg * 2)
            return fut

    async with ActorSystem() as system:
        ref = system.spawn(FutureReplies)
        assert [await ref.ask(i) for i in range(3)] == [0, 2, 4]


async def test_a_busy_actor_yields_to_others_between_batches() -> None:
    class Spinner(Actor[int, None]):
        def __init__(self, order: list[str]) -> None:
            self.order = order

        async def receive(self, msg: int) -> None:
            self.order.append("spin")
            if msg:
                self.ref.tell(msg - 1)  # a new batch of one, every time

    class Other(Actor[str, None]):
        def __init__(self, order: list[str]) -> None:
            self.order = order

        async def receive(self, msg: str) -> None:
            self.order.append(msg)

    order: list[str] = []
    async with ActorSystem() as system:
        spinner = system.spawn(Spinner, order)
        other = system.spawn(Other, order)
        await asyncio.sleep(0)  # both parked
        spinner.tell(3 * hotpath.FAIRNESS_BATCH)
        other.tell("other")
        while len(order) < 3 * hotpath.FAIRNESS_BATCH + 2:
            await asyncio.sleep(0.001)
    assert order.index("other") < hotpath.FAIRNESS_BATCH + 2


async def test_an_actor_killed_while_a_handler_is_suspended_fails_only_that_message() -> None:
    log: list[Any] = []
    lost: list[Any] = []
    async with ActorSystem() as system:
        system.dead_letters.subscribe(lambda letter: lost.append(letter.message))
        ref = system.spawn(Mixed, log)
        ref.tell(1)
        stuck = ref.ask(("wait", 0))
        ref.tell(2)
        await asyncio.sleep(0)  # 1 handled, the ask's handler suspended, 2 behind it
        cell = ref._cell
        await cell.kill()  # what a supervisor does to a sibling under one_for_all
        with pytest.raises(hyphal.BrokenResourceError):
            await stuck
        assert log == [1] and lost == []
        cell.start(None)  # the supervisor's restart: the kept message is handled
        assert await ref.ask(3) == 3
        assert log == [1, 2, 3]
        assert ref.statistics().processed == 3


@pytest.mark.slow
@pytest.mark.skipif(not hotpath.SPEEDUPS, reason="already running pure Python")
def test_actor_suite_passes_on_the_pure_python_twins() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "HYPHAL_PURE_PYTHON": "1"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "tests/actors",
                           "-k", "not pure_python_twins"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
