"""select(): exactly one operation happens; the others leave their channels untouched."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hyphal
from hyphal import Channel


async def test_first_ready_in_argument_order_wins() -> None:
    a: Channel[str] = Channel(1)
    b: Channel[str] = Channel(1)
    a.send_nowait("a")
    b.send_nowait("b")
    assert await hyphal.select(a.recv_op(), b.recv_op()) == (0, "a")
    assert b.recv_nowait() == "b"  # untouched


async def test_waits_for_whichever_comes_first() -> None:
    a: Channel[int] = Channel(0)
    b: Channel[int] = Channel(0)

    async def later() -> None:
        await hyphal.sleep(0.01)
        await b.send(7)

    async with hyphal.TaskGroup() as tg:
        tg.spawn(later)
        assert await hyphal.select(a.recv_op(), b.recv_op()) == (1, 7)
    stats = a.statistics()
    assert stats.waiting_receivers == 0  # the losing registration was removed


async def test_send_and_receive_ops_mix() -> None:
    full: Channel[int] = Channel(1)
    full.send_nowait(0)
    out: Channel[int] = Channel(1)
    index, value = await hyphal.select(full.send_op(1), out.send_op(2))
    assert (index, value) == (1, None)
    assert out.recv_nowait() == 2
    assert full.recv_nowait() == 0
    with pytest.raises(hyphal.WouldBlock):
        full.recv_nowait()  # the losing send did not happen


async def test_blocked_send_op_completes_when_a_receiver_comes() -> None:
    ch: Channel[str] = Channel(0)
    other: Channel[str] = Channel(0)

    async def receiver() -> str:
        await hyphal.sleep(0.01)
        return await ch.recv()

    async with hyphal.TaskGroup() as tg:
        got = tg.spawn(receiver)
        assert await hyphal.select(other.recv_op(), ch.send_op("hi")) == (1, None)
    assert got.result() == "hi"


async def test_timeout() -> None:
    ch: Channel[int] = Channel(0)
    with pytest.raises(TimeoutError, match="select"):
        await hyphal.select(ch.recv_op(), timeout=0.01)
    with pytest.raises(TimeoutError):
        await hyphal.select(ch.recv_op(), timeout=0)
    assert ch.statistics().waiting_receivers == 0


async def test_closed_channel_raises_end_of_channel() -> None:
    a: Channel[int] = Channel(0)
    b: Channel[int] = Channel(1)
    a.close()
    with pytest.raises(hyphal.EndOfChannel):
        await hyphal.select(a.recv_op(), b.recv_op())
    with pytest.raises(ValueError, match="at least one"):
        await hyphal.select()


async def test_close_while_waiting_wakes_select() -> None:
    a: Channel[int] = Channel(0)

    async def closer() -> None:
        await hyphal.sleep(0.01)
        a.close()

    async with hyphal.TaskGroup() as tg:
        tg.spawn(closer)
        with pytest.raises(hyphal.EndOfChannel):
            await hyphal.select(a.recv_op())


async def test_cancelled_select_gives_a_received_item_back() -> None:
    a: Channel[int] = Channel(0)
    b: Channel[int] = Channel(0)
    sel = asyncio.ensure_future(hyphal.select(a.recv_op(), b.recv_op()))
    await hyphal.sleep(0)
    a.send_nowait(5)  # handed to the select ...
    sel.cancel()  # ... which is cancelled before it resumes
    with pytest.raises(asyncio.CancelledError):
        await sel
    assert a.recv_nowait() == 5  # nothing lost (it went back to the buffer)
    assert b.statistics().waiting_receivers == 0


@settings(max_examples=100)
@given(ready=st.lists(st.booleans(), min_size=1, max_size=6))
def test_exactly_one_happens_when_several_are_ready(ready: list[bool]) -> None:
    async def main() -> None:
        chans = [Channel[int](1) for _ in ready]
        for i, r in enumerate(ready):
            if r:
                chans[i].send_nowait(i)
        try:
            index, value = await hyphal.select(*(c.recv_op() for c in chans), timeout=0)
        except TimeoutError:
            assert not any(ready)
            return
        assert index == ready.index(True) == value
        remaining = [len(c) for c in chans]
        assert sum(remaining) == sum(ready) - 1
        assert all(c.statistics().waiting_receivers == 0 for c in chans)

    hyphal.run(main)
