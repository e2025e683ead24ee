"""Named actors placed across the nodes of a NATS cluster: one live instance per name.

::

    system, kernel = hyphal.ActorSystem(), hyphal.Kernel("nats://...", node="n1")
    placement = ActorPlacement(kernel, system)
    placement.actor("counter://{name}", Counter)     # every node registers the same types

    async with system, kernel, placement:
        await kernel.request("counter://alice", "incr")   # from any node: one Counter "alice"

Theory of operation
-------------------
Each path matching a placed pattern names one actor (``counter://alice``). The pattern is an
ordinary kernel route on every node, so a message reaches whichever node NATS picks. That node
looks the path up in a JetStream key-value bucket (key: a hash of the path, value: the owning
node):

- no owner: it claims the key with an atomic ``create`` (only one node can win) and spawns the
  actor in its :class:`~hyphal.ActorSystem` under the path as its name;
- itself: it delivers to its local actor (spawning it again if it is gone);
- another node: it forwards the message to that node's private subject ``_hnode.<node>.…``.
  When nobody answers there (the owner died), it deletes the stale entry -- only if it still
  names the dead node -- and claims the actor itself: the actor is restarted on a live node
  (fresh state, as a supervisor restart would give it).

Owners refresh their entries every ``ttl / 3`` seconds; entries of a node that vanished without
saying goodbye expire after ``ttl``. A node leaving ``async with placement:`` deletes its
entries. ``send`` tells the actor, ``request`` asks it; errors come back like any remote error.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any

from hyphal._core.tasks import TaskGroup, TaskHandle
from hyphal.actors.actor import Actor
from hyphal.actors.ref import ActorRef
from hyphal.actors.system import ActorSystem
from hyphal.kernel.envelope import (
    decode_message,
    decode_reply,
    encode_error,
    encode_message,
    encode_result,
)
from hyphal.kernel.kernel import Kernel
from hyphal.kernel.message import Message
from hyphal.kernel.nats import NatsTransport
from hyphal.kernel.paths import parse_pattern
from hyphal.kernel.routing import RouteTable
from hyphal.kernel.subjects import path_to_subject, subject_to_path

__all__ = ["ActorPlacement"]

logger = logging.getLogger("hyphal.kernel.placement")
NODE_PREFIX = "_hnode"
_CLAIM_TRIES = 5


class _OwnerGone(Exception):
    pass


def _key(path: str) -> str:
    return hashlib.sha1(path.encode(), usedforsecurity=False).hexdigest()


class ActorPlacement:
    """Places named actors across the cluster ``kernel`` belongs to (see the module docs).

    ``kernel`` must use a :class:`~hyphal.kernel.nats.NatsTransport` (JetStream on the server);
    ``system`` runs the actors placed on this node. ``bucket`` names the key-value registry,
    ``ttl`` (seconds) how long a vanished node's actors stay registered to it. Raises
    ``TypeError`` for another transport, and from ``async with`` ``RuntimeError`` when the
    server has no JetStream.
    """

    def __init__(self, kernel: Kernel, system: ActorSystem, *, bucket: str = "hyphal_actors",
                 ttl: float = 10.0, forward_timeout: float | None = None) -> None:
        if not isinstance(kernel.transport, NatsTransport):
            raise TypeError("ActorPlacement needs a kernel on NATS: "
                            "hyphal.Kernel('nats://host:4222', node='name')")
        self.kernel = kernel
        self.system = system
        self.bucket = bucket
        self.ttl = ttl
        self.forward_timeout = forward_timeout or kernel.request_timeout or 30.0
        self._transport: NatsTransport = kernel.transport
        self._types: RouteTable[Callable[..., Actor[Any, Any]]] = RouteTable(unique=True)
        self._owned: dict[str, str] = {}  # path -> key, for the actors this node owns
        self._kv: Any = None
        self._sub: Any = None
        self._tg: TaskGroup | None = None
        self._refresher: TaskHandle[None] | None = None

    @property
    def node(self) -> str:
        return self._transport.node

    def actor(self, pattern: str, factory: Callable[..., Actor[Any, Any]]) -> None:
        """Place one actor per path matching ``pattern``, made by ``factory()`` (an
        :class:`~hyphal.Actor` subclass) on the node that claims it. Register the same
        patterns on every node. Raises ``ValueError`` for a malformed or ambiguous pattern."""
        self._types.add(parse_pattern(pattern), factory)

        async def handle(msg: Message) -> Any:
            return await self._route(msg)

        self.kernel.route(pattern, handle)

    def owned(self) -> list[str]:
        """The paths of the placed actors this node owns now."""
        return sorted(self._owned)

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> ActorPlacement:
        nc = self._transport._nc
        if nc is None:
            raise RuntimeError("enter the kernel first: async with system, kernel, placement:")
        import nats.errors
        import nats.js.errors
        from nats.js.api import KeyValueConfig

        js = nc.jetstream()
        try:
            try:
                self._kv = await js.key_value(self.bucket)
            except nats.js.errors.BucketNotFoundError:
                self._kv = await js.create_key_value(
                    KeyValueConfig(bucket=self.bucket, ttl=self.ttl, history=1))
        except (nats.js.errors.ServiceUnavailableError, nats.errors.NoRespondersError,
                nats.errors.TimeoutError) as exc:
            raise RuntimeError(f"actor placement needs JetStream on {self._transport.url} "
                               f"({exc!r}): start nats-server with -js") from exc
        self._sub = await nc.subscribe(f"{NODE_PREFIX}.{self.node}.>", cb=self._on_forward)
        await nc.flush()
        tg = TaskGroup(name="hyphal.kernel.placement")
        await tg.__aenter__()
        self._tg = tg
        self._refresher = tg.spawn(self._refresh_loop)
        return self

    async def __aexit__(self, et: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
        if self._tg is not None:
            await self._tg.__aexit__(None, None, None)
            self._tg = None
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
        for path, key in list(self._owned.items()):
            with contextlib.suppress(Exception):
                await self._kv.delete(key)
            ref = self.system.lookup(path)
            if ref is not None:
                ref.stop()
        self._owned.clear()

    async def _refresh_loop(self) -> None:
        node = self.node.encode()
        while True:
            await asyncio.sleep(self.ttl / 3)
            for key in list(self._owned.values()):
                try:
                    await self._kv.put(key, node)
                except Exception as exc:
                    logger.warning("could not refresh a placed actor's entry: %r", exc)

    # -- delivery ----------------------------------------------------------------------------

    async def _route(self, msg: Message) -> Any:
        import nats.js.errors

        if self._kv is None:
            raise RuntimeError("actor placement is not running: enter 'async with placement:'")
        path = msg.path
        if path in self._owned:
            return await self._deliver(msg)
        key = _key(path)
        for _ in range(_CLAIM_TRIES):
            try:
                entry = await self._kv.get(key)
                owner, revision = entry.value.decode(), entry.revision
            except nats.js.errors.KeyNotFoundError:
                try:
                    await self._kv.create(key, self.node.encode())
                except nats.js.errors.KeyWrongLastSequenceError:
                    continue  # another node claimed it just now
                owner, revision = self.node, 0
            if owner == self.node:
                self._owned[path] = key
                return await self._deliver(msg)
            try:
                return await self._forward(owner, msg)
            except _OwnerGone:
                logger.warning("node %r owning %r is gone; restarting it here", owner, path)
                with contextlib.suppress(nats.js.errors.KeyWrongLastSequenceError):
                    await self._kv.delete(key, last=revision)
        raise RuntimeError(f"could not place the actor {path!r}: the registry kept changing")

    def _local(self, path: str) -> ActorRef[Any, Any]:
        ref = self.system.lookup(path)
        if ref is None:
            hit = self._types.match(path)
            if hit is None:
                raise LookupError(f"no placed actor type matches {path!r} on node {self.node}")
            ref = self.system.spawn(hit[0], name=path)
        return ref

    async def _deliver(self, msg: Message) -> Any:
        ref = self._local(msg.path)
        if msg.reply_to is None:
            ref.tell(msg.body)
            return None
        return await ref.ask(msg.body, timeout=self.forward_timeout)

    async def _forward(self, owner: str, msg: Message) -> Any:
        import nats.errors

        nc = self._transport._nc
        subject = f"{NODE_PREFIX}.{owner}.{path_to_subject(msg.path)}"
        flag = b"\x01" if msg.reply_to is not None else b"\x00"
        try:
            reply = await nc.request(subject, flag + encode_message(msg),
                                     timeout=self.forward_timeout)
        except nats.errors.NoRespondersError:
            raise _OwnerGone(owner) from None
        except nats.errors.TimeoutError:
            raise TimeoutError(f"the node {owner!r} owning {msg.path!r} did not answer within "
                               f"{self.forward_timeout} s") from None
        return decode_reply(reply.data)

    async def _on_forward(self, m: Any) -> None:
        if self._tg is not None:  # an ask may take a while: never hold up the others
            self._tg.spawn(self._answer_forward, m)

    async def _answer_forward(self, m: Any) -> None:
        try:
            subject = m.subject.split(".", 2)[2]
            wants_reply = m.data[:1] == b"\x01"
            msg = decode_message(subject_to_path(subject), m.data[1:],
                                 m.reply if wants_reply else None)
            self._owned[msg.path] = _key(msg.path)
            data = encode_result(await self._deliver(msg))
        except Exception as exc:
            data = encode_error(exc)
        if m.reply:
            await m.respond(data)
