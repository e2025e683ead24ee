"""plain_twin: an ``async def`` that never awaits, run as a plain call, gives what awaiting it
gives; anything that may suspend is left alone."""

from __future__ import annotations

import asyncio
import sys
import traceback
from typing import Any

import pytest

from hyphal.actors.inline import plain_twin

pytestmark = pytest.mark.skipif(
    sys.implementation.name != "cpython" or not (3, 11) <= sys.version_info < (3, 14),
    reason="the twin is only made on CPython 3.11-3.13")


def run(coro: Any) -> Any:
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the coroutine suspended")


class Base:
    def __init__(self) -> None:
        self.count = 0

    async def receive(self, msg: int) -> int:
        self.count += msg
        return self.count


class Child(Base):
    async def receive(self, msg: int, scale: int = 2, *, offset: int = 0) -> int:
        value = await_free_helper(msg) * scale + offset
        return await super().receive(value) if msg < 0 else value + self.count


def await_free_helper(x: int) -> int:
    return x + 1


async def awaiting(x: int) -> int:
    await asyncio.sleep(0)
    return x


async def with_async_for(xs: Any) -> list[Any]:
    return [x async for x in xs]


async def with_async_with(cm: Any) -> None:
    async with cm:
        pass


async def plain_closure_user(x: int) -> int:
    total = 0
    for i in range(x):
        total += (lambda v: v * 2)(i)
    try:
        if x == 3:
            raise KeyError(x)
    except KeyError:
        total = -total
    finally:
        total += 1
    return total


def test_a_body_without_await_gets_a_twin_with_the_same_results() -> None:
    a, b = Base(), Base()
    twin = plain_twin(a.receive)
    assert twin is not None
    for msg in (1, 2, 3):
        assert twin(msg) == run(b.receive(msg))
    assert a.count == b.count == 6
    fn = plain_twin(plain_closure_user)
    assert fn is not None
    assert [fn(x) for x in range(5)] == [run(plain_closure_user(x)) for x in range(5)]


def test_defaults_keywords_and_reassigned_defaults_follow_the_original() -> None:
    async def scaled(x: int, factor: int = 3, *, plus: int = 1) -> int:
        return x * factor + plus

    twin = plain_twin(scaled)
    assert twin is not None
    assert twin(2) == 7 and twin(2, 4, plus=0) == 8
    scaled.__defaults__ = (10,)
    scaled.__kwdefaults__ = {"plus": 5}
    again = plain_twin(scaled)
    assert again is not None and again(2) == run(scaled(2)) == 25


def test_a_body_that_may_suspend_gets_none() -> None:
    assert plain_twin(awaiting) is None
    assert plain_twin(with_async_for) is None
    assert plain_twin(with_async_with) is None
    assert plain_twin(Child().receive) is None  # 'await super().receive(...)' in one branch


def test_things_that_are_not_async_functions_get_none() -> None:
    def sync(x: int) -> int:
        return x

    class CallableObject:
        async def __call__(self, x: int) -> int:
            return x

    assert plain_twin(sync) is None
    assert plain_twin(CallableObject()) is None
    assert plain_twin(print) is None


def test_an_exception_keeps_its_traceback_lines() -> None:
    async def boom(x: int) -> int:
        raise ValueError(f"bad {x}")

    twin = plain_twin(boom)
    assert twin is not None
    with pytest.raises(ValueError, match="bad 7") as info:
        twin(7)
    frames = traceback.extract_tb(info.tb)
    assert frames[-1].name == "boom" and frames[-1].filename == __file__
    assert frames[-1].line == 'raise ValueError(f"bad {x}")'
