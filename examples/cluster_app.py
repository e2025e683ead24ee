"""A kernel application run as a cluster of nodes over NATS.

    hyphal nats &                                            # a local NATS server
    hyphal node examples/cluster_app.py --name a &           # two nodes serving the app
    hyphal node examples/cluster_app.py --name b &
    python examples/cluster_app.py                           # a client using them

The same module is the nodes' application (``kernel``, ``lifespan``) and, run as a script, a
client kernel that has none of the routes: everything it sends crosses NATS.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import hyphal

NODE = os.environ.get("HYPHAL_NODE", "node")
kernel = hyphal.Kernel()  # the transport comes from HYPHAL_TRANSPORT (`hyphal node` sets it)
system = hyphal.ActorSystem()


@kernel.route("shop://price/{item}")
def price(msg: hyphal.Message) -> dict[str, Any]:
    """A request/reply route: any node may answer."""
    prices = {"apple": 0.5, "pear": 0.75}
    if msg.params["item"] not in prices:
        raise KeyError(f"no price for {msg.params['item']}")
    return {"item": msg.params["item"], "price": prices[msg.params["item"]], "node": NODE}


class Cart(hyphal.Actor[Any, Any]):
    """One live cart per name in the whole cluster, wherever it is used from."""

    def __init__(self) -> None:
        self.items: list[str] = []

    async def receive(self, msg: Any) -> Any:
        if msg != "show":
            self.items.append(msg)
        return {"items": self.items, "node": NODE}


if kernel.transport.name == "nats":  # placement needs the cluster
    placement = hyphal.ActorPlacement(kernel, system)
    placement.actor("cart://{name}", Cart)

    @contextlib.asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        async with system, kernel, placement:
            yield


async def client() -> None:
    url = os.environ.get("HYPHAL_TRANSPORT", "nats://127.0.0.1:4222")
    me = hyphal.Kernel(url, node="client", request_timeout=5)
    async with me:
        print(await me.request("shop://price/apple"))
        try:
            await me.request("shop://price/kiwi")
        except KeyError as exc:
            print("remote error:", exc)
        for item in ("apple", "pear"):
            await me.request("cart://alice", item)
        print(await me.request("cart://alice", "show"))


if __name__ == "__main__":
    hyphal.run(client)
