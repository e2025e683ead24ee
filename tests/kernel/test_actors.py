"""Actors mounted at kernel paths: sends become tells (sends), requests become asks."""

from __future__ import annotations

from typing import Any

import pytest

import hyphal
from hyphal.kernel import Kernel, Message


class Counter(hyphal.Actor[int, int]):
    def __init__(self) -> None:
        self.total = 0

    async def receive(self, msg: int) -> int:
        if msg < 0:
            raise ValueError(f"cannot add {msg}")
        self.total += msg
        return self.total


async def test_mount_actor_routes_sends_and_requests_to_the_right_actor() -> None:
    kernel = Kernel()
    async with hyphal.ActorSystem() as system:
        refs: dict[int, hyphal.ActorRef[int, int]] = {}

        def counter_for(msg: Message) -> hyphal.ActorRef[int, int]:
            key = msg.params["id"]
            if key not in refs:
                refs[key] = system.spawn(Counter, name=f"counter-{key}")
            return refs[key]

        kernel.mount_actor("counter://{id:int}", counter_for)
        async with kernel:
            await kernel.send("counter://1", 5)
            await kernel.send("counter://1", 6)
            await kernel.send("counter://2", 100)
            assert await kernel.request("counter://1", 0) == 11  # after the two sends
            assert await kernel.request("counter://2", 1) == 101
            assert await kernel.send_batch([("counter://1", 1), ("counter://2", 1)]) == [12, 102]
            with pytest.raises(ValueError, match="cannot add -1"):
                await kernel.request("counter://1", -1)
        assert set(refs) == {1, 2}
        assert kernel.statistics().route("counter://{id:int}").errors == 1


class Echo(hyphal.Actor[Message, Any]):
    async def receive(self, msg: Message) -> Any:
        return msg.path, msg.body


async def test_mount_actor_can_pass_the_whole_message_and_time_out() -> None:
    kernel = Kernel()
    async with hyphal.ActorSystem() as system:
        echo = system.spawn(Echo, name="echo")
        slow = system.spawn(Sleeper, name="sleeper")
        kernel.mount_actor("echo://**", lambda msg: echo, pass_message=True)
        kernel.mount_actor("slow://x", lambda msg: slow)
        async with kernel:
            assert await kernel.request("echo://a/b", 1) == ("echo://a/b", 1)
            with pytest.raises(TimeoutError):
                await kernel.request("slow://x", 0.3, timeout=0.05)
        slow.stop()


class Sleeper(hyphal.Actor[float, None]):
    async def receive(self, msg: float) -> None:
        await hyphal.sleep(msg)
