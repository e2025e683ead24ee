"""ThreadChannel: threads and tasks on either end."""

from __future__ import annotations

import threading

import pytest

import hyphal


async def test_thread_to_task() -> None:
    ch: hyphal.ThreadChannel[int] = hyphal.ThreadChannel(16)

    def produce() -> None:
        for i in range(5000):
            ch.send_sync(i)
        ch.close()

    t = threading.Thread(target=produce)
    t.start()
    got = [x async for x in ch]
    t.join()
    assert got == list(range(5000))
    stats = ch.statistics()
    assert (stats.sent, stats.received, stats.closed) == (5000, 5000, True)


async def test_task_to_thread() -> None:
    ch: hyphal.ThreadChannel[int] = hyphal.ThreadChannel(4)
    got: list[int] = []
    t = threading.Thread(target=lambda: got.extend(ch))
    t.start()
    for i in range(1000):
        await ch.send(i)
    ch.close()
    await hyphal.to_thread(t.join)
    assert got == list(range(1000))


async def test_recv_many_and_unbounded() -> None:
    ch: hyphal.ThreadChannel[int] = hyphal.ThreadChannel(None)
    for i in range(10):
        ch.send_nowait(i)
    assert await ch.recv_many(4) == [0, 1, 2, 3]
    assert await ch.recv_many(100) == list(range(4, 10))
    assert ch.statistics().received == 10


def test_blocking_calls_time_out_and_close_wakes_threads() -> None:
    ch: hyphal.ThreadChannel[int] = hyphal.ThreadChannel(1)
    with pytest.raises(TimeoutError):
        ch.recv_sync(timeout=0.01)
    ch.send_sync(1)
    with pytest.raises(TimeoutError):
        ch.send_sync(2, timeout=0.01)
    with pytest.raises(hyphal.WouldBlock):
        ch.send_nowait(2)
    errors: list[BaseException] = []

    def blocked_sender() -> None:
        try:
            ch.send_sync(3)
        except hyphal.ClosedResourceError as exc:
            errors.append(exc)

    t = threading.Thread(target=blocked_sender)
    t.start()
    ch.close()
    t.join(5)
    assert len(errors) == 1
    assert ch.recv_sync() == 1  # drains
    with pytest.raises(hyphal.EndOfChannel):
        ch.recv_sync()


async def test_cancelled_async_recv_leaves_items() -> None:
    ch: hyphal.ThreadChannel[int] = hyphal.ThreadChannel(2)
    with hyphal.move_on_after(0.01):
        await ch.recv()
    ch.send_nowait(1)
    assert await ch.recv() == 1


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        hyphal.ThreadChannel(0)
