"""A small application the NATS cluster tests run as node processes (`hyphal node`).

Environment: HYPHAL_TRANSPORT (the server), HYPHAL_NODE (this node's name), APP_RESULTS (a
directory: every handled work item is appended to <dir>/<node>.txt), APP_DELAY (seconds each
durable job takes).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import hyphal

NODE = os.environ.get("HYPHAL_NODE", "node")
RESULTS = os.environ.get("APP_RESULTS", ".")
DELAY = float(os.environ.get("APP_DELAY", "0"))

kernel = hyphal.Kernel(hyphal.NatsTransport(os.environ["HYPHAL_TRANSPORT"], node=NODE,
                                            ack_wait=1.0))
handled: list[int] = []
system = hyphal.ActorSystem()
placement = hyphal.ActorPlacement(kernel, system, ttl=3.0)


class Counter(hyphal.Actor[Any, Any]):
    """A placed actor: answers (its node, how many increments it has seen)."""

    def __init__(self) -> None:
        self.count = 0

    async def receive(self, msg: Any) -> Any:
        self.count += msg == "incr"
        return [NODE, self.count]


placement.actor("counter://{name}", Counter)


@contextlib.asynccontextmanager
async def lifespan() -> AsyncIterator[None]:
    async with system, kernel, placement:
        yield


def _record(n: int) -> None:
    with open(os.path.join(RESULTS, f"{NODE}.txt"), "a") as fh:
        fh.write(f"{n}\n")


@kernel.route("work://item/{n:int}")
async def item(msg: hyphal.Message) -> None:
    handled.append(msg.params["n"])


@kernel.route(f"count://{NODE}")
def count(msg: hyphal.Message) -> list[int]:
    return handled


@kernel.route("who://am-i")
def who(msg: hyphal.Message) -> str:
    return NODE


@kernel.route("calc://div")
def div(msg: hyphal.Message) -> float:
    return msg.body["a"] / msg.body["b"]


@kernel.route("jobs://run")
async def job(msg: hyphal.Message) -> None:
    await hyphal.sleep(DELAY)
    _record(msg.body)
