"""TaskGroup: results, eager start, failure propagation, cancellation, nesting."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

import hyphal


async def _value(x: int) -> int:
    return x


async def _sleep_then(x: int, delay: float = 0.01) -> int:
    await hyphal.sleep(delay)
    return x


async def _fail(delay: float = 0.0) -> None:
    if delay:
        await hyphal.sleep(delay)
    raise ValueError("boom")


async def test_results_of_eager_and_suspending_children() -> None:
    async with hyphal.TaskGroup() as tg:
        quick = tg.spawn(_value, 1)
        slow = tg.spawn(_sleep_then, 2)
        assert quick.done() and quick.result() == 1  # eager: finished before spawn returned
        assert not slow.done()
    assert await quick == 1
    assert await slow == 2
    assert slow.result() == 2


async def test_child_error_cancels_siblings_and_body() -> None:
    cancelled = []

    async def sibling() -> None:
        try:
            await hyphal.sleep(10)
        except asyncio.CancelledError:
            cancelled.append("sibling")
            raise

    with pytest.raises(ExceptionGroup) as info:
        async with hyphal.TaskGroup() as tg:
            tg.spawn(sibling)
            tg.spawn(_fail, 0.01)
            try:
                await hyphal.sleep(10)
            except asyncio.CancelledError:
                cancelled.append("body")
                raise
    assert info.group_contains(ValueError, match="boom")
    assert sorted(cancelled) == ["body", "sibling"]


async def test_error_in_first_step_is_reported() -> None:
    with pytest.raises(ExceptionGroup) as info:
        async with hyphal.TaskGroup() as tg:
            tg.spawn(_fail)
            await hyphal.sleep(1)  # cancelled by the failing child
    assert len(info.value.exceptions) == 1


async def test_body_error_cancels_children() -> None:
    child_cancelled = asyncio.Event()

    async def child() -> None:
        try:
            await hyphal.sleep(10)
        finally:
            child_cancelled.set()

    with pytest.raises(ExceptionGroup) as info:
        async with hyphal.TaskGroup() as tg:
            tg.spawn(child)
            raise KeyError("body")
    assert info.group_contains(KeyError)
    assert child_cancelled.is_set()


async def test_cancel_exits_quietly() -> None:
    async with hyphal.TaskGroup() as tg:
        h = tg.spawn(_sleep_then, 1, 10)
        tg.cancel()
        await hyphal.sleep(5)  # the body is cancelled too
        raise AssertionError("not reached")
    assert h.cancelled()
    with pytest.raises(asyncio.CancelledError):
        await h


async def test_cancel_without_await_does_not_leak_cancellation() -> None:
    async with hyphal.TaskGroup() as tg:
        tg.cancel()
    await hyphal.sleep(0.001)  # would raise CancelledError if the request leaked


async def test_external_cancellation_propagates() -> None:
    seen = []

    async def runner() -> None:
        async with hyphal.TaskGroup() as tg:
            tg.spawn(_sleep_then, 1, 10)
            seen.append("entered")
            await hyphal.sleep(10)

    task = asyncio.get_running_loop().create_task(runner())
    await hyphal.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["entered"]


async def test_spawn_a_coroutine_object_says_what_to_do() -> None:
    async with hyphal.TaskGroup() as tg:
        with pytest.raises(TypeError, match=r"spawn\(fn, \*args\)"):
            tg.spawn(_value(1))  # type: ignore[arg-type]


async def test_spawn_outside_the_group_is_refused() -> None:
    tg = hyphal.TaskGroup()
    with pytest.raises(RuntimeError, match="not active"):
        tg.spawn(_value, 1)
    async with tg:
        pass
    with pytest.raises(RuntimeError, match="not active"):
        tg.spawn(_value, 1)


async def test_scope_inside_child_binds_to_the_child() -> None:
    """A timeout entered in the child's eager first step must cancel the child, not the
    parent that called spawn."""

    async def child() -> str:
        with hyphal.move_on_after(0.01) as scope:
            await hyphal.sleep(5)
        return "timed out" if scope.cancelled_caught else "finished"

    async with hyphal.TaskGroup() as tg:
        h = tg.spawn(child)
        await hyphal.sleep(0.05)  # the parent keeps running
    assert h.result() == "timed out"


async def test_context_changes_in_child_do_not_leak() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="parent")

    async def child() -> str:
        var.set("child")
        await hyphal.sleep(0)
        return var.get()

    async with hyphal.TaskGroup() as tg:
        h = tg.spawn(child)
        assert var.get() == "parent"
    assert h.result() == "child"


async def test_current_task_inside_child_is_the_child() -> None:
    async def child() -> object:
        return asyncio.current_task()

    async with hyphal.TaskGroup() as tg:
        h = tg.spawn(child)
    assert h.result() is h


async def test_awaiting_a_handle_does_not_cancel_the_child_when_awaiter_is_cancelled() -> None:
    async with hyphal.TaskGroup() as tg:
        h = tg.spawn(_sleep_then, 7, 0.05)
        with hyphal.move_on_after(0.01):
            await h
        assert not h.done()
    assert h.result() == 7


async def test_nested_groups_seven_deep_ten_wide() -> None:
    leaves = 0

    async def node(depth: int) -> int:
        nonlocal leaves
        if depth == 7:
            leaves += 1
            await hyphal.sleep(0)
            return 1
        async with hyphal.TaskGroup() as tg:
            # ten children at every level; the first one goes deeper
            handles = [tg.spawn(node, depth + 1 if i == 0 else 7) for i in range(10)]
        return sum(h.result() for h in handles)

    assert await node(0) == leaves == 7 * 9 + 1  # nine leaves per level, one at the bottom


async def test_nested_failure_surfaces_through_every_level() -> None:
    async def level(depth: int) -> None:
        async with hyphal.TaskGroup() as tg:
            tg.spawn(level, depth + 1) if depth < 5 else tg.spawn(_fail, 0.001)
            tg.spawn(_sleep_then, 0, 10)

    with pytest.raises(ExceptionGroup) as info:
        await level(0)
    assert info.group_contains(ValueError, match="boom")


async def test_statistics_count_tasks() -> None:
    before = hyphal.statistics()
    with pytest.raises(ExceptionGroup):
        async with hyphal.TaskGroup() as tg:
            tg.spawn(_value, 1)
            tg.spawn(_sleep_then, 1, 10)
            tg.spawn(_fail, 0.001)
    after = hyphal.statistics()
    assert after.tasks_spawned - before.tasks_spawned == 3
    assert after.tasks_finished - before.tasks_finished == 1
    assert after.tasks_failed - before.tasks_failed == 1
    assert after.tasks_cancelled - before.tasks_cancelled == 1


def test_run_returns_result_and_rejects_coroutine_objects() -> None:
    assert hyphal.run(_value, 5) == 5
    coro = _value(1)
    with pytest.raises(TypeError, match="async function"):
        hyphal.run(coro)  # type: ignore[arg-type]


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_run_picks_the_loop(loop: str) -> None:
    async def loop_type() -> str:
        return type(asyncio.get_running_loop()).__module__

    module = hyphal.run(loop_type, loop=loop)  # type: ignore[arg-type]
    assert ("uvloop" in module) == (loop == "uvloop")


def test_runtime_config_from_env() -> None:
    cfg = hyphal.RuntimeConfig.from_env({"HYPHAL_LOOP": "asyncio", "HYPHAL_DEBUG": "yes",
                                         "HYPHAL_WORKER_THREADS": "3"})
    assert (cfg.loop, cfg.debug, cfg.worker_threads) == ("asyncio", True, 3)
    with pytest.raises(ValueError, match="HYPHAL_DEBUG"):
        hyphal.RuntimeConfig.from_env({"HYPHAL_DEBUG": "maybe"})
    with pytest.raises(ValueError, match="loop must be one of"):
        hyphal.RuntimeConfig.from_env({"HYPHAL_LOOP": "trio"})


async def test_to_thread_runs_blocking_work() -> None:
    import threading

    name = await hyphal.to_thread(lambda: threading.current_thread().name)
    assert name != threading.current_thread().name


async def test_anyio_scopes_inside_children_see_one_task() -> None:
    """anyio (and so httpx) remembers the task a cancel scope was entered in; a child that
    enters one in its eager first step and leaves it after suspending must look like one
    task throughout -- and anyio's own timeouts must still cancel it."""
    import anyio

    async def calm() -> str:
        with anyio.fail_after(5):
            await hyphal.sleep(0.01)
        return "finished"

    async def timed_out() -> str:
        with anyio.move_on_after(0.01) as scope:
            await hyphal.sleep(5)
        return "moved on" if scope.cancelled_caught else "slept"

    async def nested() -> str:
        async with anyio.create_task_group() as inner:
            inner.start_soon(anyio.sleep, 0.01)
        return "nested"

    async with hyphal.TaskGroup() as tg:
        a = tg.spawn(calm)
        b = tg.spawn(timed_out)
        c = tg.spawn(nested)
    assert (a.result(), b.result(), c.result()) == ("finished", "moved on", "nested")
