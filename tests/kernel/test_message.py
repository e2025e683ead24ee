"""Messages: unique time-sortable ids, lazy fields, trace inheritance."""

from __future__ import annotations

import pytest

import hyphal
from hyphal.kernel import Message, current_message


def test_ids_are_unique_and_sort_in_creation_order() -> None:
    msgs = [Message("a://b", i) for i in range(2000)]
    ids = [m.id for m in msgs]
    assert len(set(ids)) == len(ids)
    assert sorted(ids) == ids
    assert all(len(i) == len(ids[0]) for i in ids)


def test_a_message_outside_handlers_starts_its_own_trace() -> None:
    m = Message("a://b")
    assert m.trace_id == m.id
    assert current_message() is None


def test_fields() -> None:
    m = Message("users://profile/42", {"x": 1}, {"auth": "t"})
    assert (m.subsystem, m.route, m.body) == ("users", "profile/42", {"x": 1})
    assert m.meta == {"auth": "t"}
    assert m.reply_to is None
    assert dict(m.params) == {}
    assert m.ts > 1_600_000_000
    fresh = Message("a://b")
    fresh.meta["k"] = "v"
    assert fresh.meta == {"k": "v"}
    assert "a://b" in repr(fresh)


def test_malformed_path_raises_when_its_parts_are_read() -> None:
    m = Message("no-separator")
    with pytest.raises(ValueError, match="'://'"):
        _ = m.subsystem


def test_restore_keeps_id_trace_and_time() -> None:
    m = Message("a://b", 1)
    copy = Message.restore("a://b", 1, None, id=m.id, trace_id="t-1", ts=m.ts, reply_to="r")
    assert (copy.id, copy.trace_id, copy.ts, copy.reply_to) == (m.id, "t-1", m.ts, "r")


async def test_trace_id_is_inherited_inside_handlers_through_nested_sends() -> None:
    kernel = hyphal.Kernel()
    traces: dict[str, str] = {}

    @kernel.route("t://sync")
    def sync_handler(msg: Message) -> None:
        traces["sync"] = msg.trace_id

    @kernel.route("t://async")
    async def async_handler(msg: Message) -> None:
        await hyphal.sleep(0)
        traces["async"] = msg.trace_id
        await kernel.send("t://sync")  # sync, inline
        assert current_message() is msg

    @kernel.route("t://root")
    async def root(msg: Message) -> str:
        traces["root"] = msg.trace_id
        await kernel.send("t://async")  # queued to the worker
        await hyphal.sleep(0)
        return await kernel.request("t://leaf")

    @kernel.route("t://leaf")
    async def leaf(msg: Message) -> str:
        async with hyphal.TaskGroup() as tg:  # a task spawned in a handler inherits too
            child = tg.spawn(_trace_in_task)
        assert child.result() == msg.trace_id
        return msg.trace_id

    async with kernel:
        first = Message("t://root")
        assert await kernel.request(first) == first.id
        await kernel.drain()
        assert traces == {"root": first.id, "async": first.id, "sync": first.id}
        # a new top-level message starts a new trace
        await kernel.send("t://sync")
        assert traces["sync"] != first.id


async def _trace_in_task() -> str:
    await hyphal.sleep(0)
    return Message("x://y").trace_id
