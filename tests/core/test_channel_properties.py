"""Property tests: Channel against a model, and no loss / no duplication / per-producer order
under random cancellation, for every capacity kind and overflow policy."""

from __future__ import annotations

import asyncio
import random
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import hyphal
from hyphal import Channel, Overflow

CAPACITIES = st.sampled_from([0, 1, 2, 5, None])
POLICIES = st.sampled_from(list(Overflow))


def _valid(capacity: int | None, policy: Overflow) -> bool:
    return policy is Overflow.BLOCK or bool(capacity)


class ChannelModel(RuleBasedStateMachine):
    """The non-blocking API against a plain deque that applies the policy by hand."""

    @initialize(capacity=CAPACITIES, policy=POLICIES)
    def setup(self, capacity: int | None, policy: Overflow) -> None:
        if not _valid(capacity, policy):
            policy = Overflow.BLOCK
        self.ch: Channel[int] = Channel(capacity, policy)
        self.capacity = capacity
        self.policy = policy
        self.model: deque[int] = deque()
        self.sent = self.received = self.dropped = 0
        self.clones: list[hyphal.ChannelClone[int]] = []
        self.closed_handles = 0
        self.primary_open = True
        self.next_value = 0

    def _full(self) -> bool:
        return self.capacity is not None and len(self.model) >= self.capacity

    @rule()
    def send_nowait(self) -> None:
        value = self.next_value
        self.next_value += 1
        if not self.primary_open:
            with pytest.raises(hyphal.ClosedResourceError):
                self.ch.send_nowait(value)
            return
        if self.policy is Overflow.BLOCK and self._full():
            with pytest.raises(hyphal.WouldBlock):
                self.ch.send_nowait(value)
            return
        self.ch.send_nowait(value)
        self.sent += 1
        if self.policy is Overflow.DROP_OLDEST and self._full():
            self.model.popleft()
            self.dropped += 1
        elif self.policy is Overflow.DROP_NEWEST and self._full():
            self.dropped += 1
            return
        self.model.append(value)

    @rule()
    def recv_nowait(self) -> None:
        if self.model:
            assert self.ch.recv_nowait() == self.model.popleft()
            self.received += 1
        elif self.ch.closed:
            with pytest.raises(hyphal.EndOfChannel):
                self.ch.recv_nowait()
        else:
            with pytest.raises(hyphal.WouldBlock):
                self.ch.recv_nowait()

    @rule(k=st.integers(1, 7))
    def recv_many_nowait(self, k: int) -> None:
        if not self.model and self.ch.closed:
            with pytest.raises(hyphal.EndOfChannel):
                self.ch.recv_many_nowait(k)
            return
        got = self.ch.recv_many_nowait(k)
        expected = [self.model.popleft() for _ in range(min(k, len(self.model)))]
        assert got == expected
        self.received += len(got)

    @rule()
    def clone(self) -> None:
        if not self.ch.closed:
            self.clones.append(self.ch.clone())

    @rule()
    def close_something(self) -> None:
        if self.clones:
            self.clones.pop().close()
        elif self.primary_open:
            self.ch.close()
            self.primary_open = False

    @invariant()
    def statistics_match(self) -> None:
        if not hasattr(self, "ch"):
            return
        stats = self.ch.statistics()
        assert stats.buffered + stats.spilled == len(self.model) == len(self.ch)
        assert (stats.sent, stats.received, stats.dropped) == (
            self.sent, self.received, self.dropped)
        assert stats.closed == (not self.primary_open and not self.clones)
        if self.policy is not Overflow.SPILL and self.capacity is not None:
            assert stats.buffered <= self.capacity


ChannelModel.TestCase.settings = settings(max_examples=300, stateful_step_count=60)
TestChannelModel = ChannelModel.TestCase


async def _chaos_run(capacity: int | None, policy: Overflow, producers: int, consumers: int,
                     per_producer: int, seed: int, cancel_rate: float) -> None:
    """Producers send (p, i) pairs, consumers receive, and a chaos task keeps cancelling
    random in-flight operations. Afterwards: nothing lost (BLOCK/SPILL), exactly the counted
    drops missing (DROP_*), nothing duplicated, order kept per producer."""
    rng = random.Random(seed)
    ch: Channel[tuple[int, int]] = Channel(capacity, policy)
    in_flight: list[hyphal.CancelScope] = []
    delivered: list[tuple[int, int]] = []
    received: list[tuple[int, int]] = []
    per_consumer: list[list[tuple[int, int]]] = [[] for _ in range(consumers)]
    done = asyncio.Event()

    async def produce(p: int) -> None:
        for i in range(per_producer):
            while True:
                outcome = "delivered"
                with hyphal.CancelScope() as scope:
                    in_flight.append(scope)
                    try:
                        await ch.send((p, i))
                    except asyncio.CancelledError as exc:
                        outcome = "delivered" if hyphal.send_was_delivered(exc) else "lost"
                        raise
                    finally:
                        in_flight.remove(scope)
                if outcome == "delivered":
                    delivered.append((p, i))
                    break
                await hyphal.sleep(0)

    async def consume(c: int) -> None:
        while True:
            with hyphal.CancelScope() as scope:
                in_flight.append(scope)
                try:
                    if rng.random() < 0.3:
                        got = await ch.recv_many(rng.randint(1, 4))
                    else:
                        got = [await ch.recv()]
                    received.extend(got)
                    per_consumer[c].extend(got)
                except hyphal.EndOfChannel:
                    return
                finally:
                    in_flight.remove(scope)

    async def chaos() -> None:
        while not done.is_set():
            if in_flight and rng.random() < cancel_rate:
                rng.choice(in_flight).cancel()
            await hyphal.sleep(0)

    async with hyphal.TaskGroup() as tg:
        tg.spawn(chaos)
        async with hyphal.TaskGroup() as workers:
            consumer_handles = [workers.spawn(consume, c) for c in range(consumers)]
            async with hyphal.TaskGroup() as prods:
                for p in range(producers):
                    prods.spawn(produce, p)
            ch.close()
            del consumer_handles
        done.set()

    assert len(received) == len(set(received)), "an item was received twice"
    # Order per producer holds for what each consumer sees. (With several consumers, a receiver
    # cancelled after being handed an item puts it back in front, so another consumer may see
    # it after a later one: the documented exception.)
    if consumers == 1 or cancel_rate == 0:
        for seen in per_consumer:
            for p in range(producers):
                mine = [i for (q, i) in seen if q == p]
                assert mine == sorted(mine), f"producer {p}'s items arrived out of order"
    stats = ch.statistics()
    if policy in (Overflow.BLOCK, Overflow.SPILL):
        assert sorted(received) == sorted(delivered), "an item was lost"
    else:
        assert set(received) <= set(delivered)
        assert len(delivered) - len(received) == stats.dropped
    assert stats.received == len(received)


@settings(max_examples=300)
@given(capacity=CAPACITIES, policy=POLICIES, producers=st.integers(1, 4),
       consumers=st.integers(1, 3), per_producer=st.integers(1, 40),
       seed=st.integers(0, 2**32), cancel_rate=st.sampled_from([0.0, 0.2, 0.6]))
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_no_loss_no_duplication_order_per_producer_under_cancellation(
        loop: str, capacity: int | None, policy: Overflow, producers: int, consumers: int,
        per_producer: int, seed: int, cancel_rate: float) -> None:
    if not _valid(capacity, policy):
        policy = Overflow.BLOCK
    hyphal.run(_chaos_run, capacity, policy, producers, consumers, per_producer, seed,
               cancel_rate, loop=loop)  # type: ignore[arg-type]
