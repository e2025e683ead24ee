"""The in-process transport: kernels in one process reaching each other's routes.

``Kernel()`` uses a private :class:`LocalTransport` that reaches nobody (``remote`` is False, so
the kernel never consults it). Kernels built with ``LocalTransport(hub)`` over one shared
:class:`LocalHub` form a small in-process network with the semantics a distributed transport
has: each served route is reachable from every other kernel (one server per message, round
robin between kernels serving the same pattern), publishes fan out to every subscribed kernel,
messages arrive as copies with the same id and trace, and a remote handler's error comes back
rebuilt from its type name and message. Bodies are passed by reference, not serialised.
"""

from __future__ import annotations

import itertools
from typing import Any

from hyphal._core.cancel import move_on_after
from hyphal.kernel.abc import Inbound, Transport
from hyphal.kernel.errors import NoRoute, error_message, error_type_name, rebuild_error
from hyphal.kernel.message import Message
from hyphal.kernel.paths import parse_pattern
from hyphal.kernel.routing import RouteTable

__all__ = ["LocalHub", "LocalTransport"]


class LocalHub:
    """Where kernels in one process meet (what a NATS server is for kernels on many hosts)."""

    def __init__(self) -> None:
        self.served: RouteTable[LocalTransport] = RouteTable(unique=False)
        self.subscribed: RouteTable[LocalTransport] = RouteTable(unique=False)
        self._turn = itertools.count()

    def server_for(self, path: str, exclude: LocalTransport) -> LocalTransport | None:
        """One transport serving the best-matching pattern for ``path`` (round robin)."""
        matches = self.served.match_all(path)
        if not matches:
            return None
        best = matches[0][0]
        candidates = [t for pattern, t, _ in matches if pattern == best and t is not exclude]
        if not candidates:
            return None
        return candidates[next(self._turn) % len(candidates)]


def _copy(msg: Message) -> Message:
    return Message.restore(msg.path, msg.body, dict(msg._meta) if msg._meta else None,
                           id=msg.id, trace_id=msg.trace_id, ts=msg.ts, reply_to=msg.reply_to)


class LocalTransport(Transport):
    """A transport within this process. Without a ``hub`` it reaches no other kernel."""

    name = "local"

    def __init__(self, hub: LocalHub | None = None) -> None:
        self._hub = hub
        self.remote = hub is not None
        self._inbound: Inbound | None = None
        self._served: list[str] = []
        self._subscribed: list[str] = []

    def _peer(self, t: LocalTransport) -> Inbound:
        if t._inbound is None:  # pragma: no cover - closed transports leave the hub first
            raise ConnectionError("the kernel serving this path has disconnected")
        return t._inbound

    async def connect(self, inbound: Inbound) -> None:
        self._inbound = inbound

    async def close(self) -> None:
        for pattern in list(self._served):
            await self.unserve(pattern)
        for pattern in list(self._subscribed):
            await self.unsubscribe(pattern)
        self._inbound = None

    async def serve(self, pattern: str) -> None:
        if self._hub is not None:
            self._hub.served.add(parse_pattern(pattern), self)
            self._served.append(pattern)

    async def unserve(self, pattern: str) -> None:
        if self._hub is not None and pattern in self._served:
            self._hub.served.remove(parse_pattern(pattern), self)
            self._served.remove(pattern)

    async def subscribe(self, pattern: str) -> None:
        if self._hub is not None:
            self._hub.subscribed.add(parse_pattern(pattern), self)
            self._subscribed.append(pattern)

    async def unsubscribe(self, pattern: str) -> None:
        if self._hub is not None and pattern in self._subscribed:
            self._hub.subscribed.remove(parse_pattern(pattern), self)
            self._subscribed.remove(pattern)

    async def send(self, msg: Message) -> bool:
        if self._hub is None:
            return False
        target = self._hub.server_for(msg.path, self)
        if target is None:
            return False
        return await self._peer(target).deliver_remote(_copy(msg))

    async def request(self, msg: Message, timeout: float | None) -> Any:
        target = self._hub.server_for(msg.path, self) if self._hub is not None else None
        if target is None:
            closest = self._hub.served.closest(msg.path) if self._hub is not None else None
            raise NoRoute(msg.path, closest)
        copy = _copy(msg)
        copy.reply_to = f"local://reply/{msg.id}"
        with move_on_after(timeout if timeout is not None else float("inf")):
            try:
                return await self._peer(target).request_remote(copy)
            except NoRoute:
                raise
            except Exception as exc:  # crosses the boundary as type name + message
                raise rebuild_error(error_type_name(exc), error_message(exc)) from None
        raise TimeoutError(f"request to {msg.path!r} got no reply within {timeout} s")

    async def publish(self, msg: Message) -> int:
        if self._hub is None:
            return 0
        reached = 0
        seen: set[int] = set()
        for _, t, _ in self._hub.subscribed.match_all(msg.path):
            if t is self or id(t) in seen or t._inbound is None:
                continue
            seen.add(id(t))
            reached += await t._inbound.publish_remote(_copy(msg))
        return reached
