"""The NATS transport: one application's kernels on many processes and machines.

``hyphal.Kernel(transport="nats://127.0.0.1:4222", node="worker-1")`` (or
``HYPHAL_TRANSPORT=nats://...``) connects the kernel to a NATS server. The application's code
does not change: routes still belong to whichever kernel registered them, and a path with no
local route is carried over NATS to a kernel that serves it.

Theory of operation
-------------------
- Subjects: a path travels on the subject :mod:`hyphal.kernel.subjects` makes of it
  (``users://profile/42`` -> ``users.profile.42``); a route pattern subscribes to its wildcard
  subject (``users://profile/{id}`` -> ``users.profile.*``, a trailing ``**`` -> ``>``).
- ``serve(pattern)`` subscribes in the *queue group* named after the pattern, so every node
  serving the same pattern shares the work and each ``send``/``request`` reaches exactly one of
  them. ``subscribe(pattern)`` subscribes without a group under the ``_hpub.<origin>`` prefix,
  so every node gets every ``publish``; a node skips its own publishes (``origin`` is random
  per transport), which its kernel has already delivered locally.
- A message crosses as the MessagePack envelope of :mod:`hyphal.kernel.envelope`; a request's
  reply carries the result or the handler's error (type name and message) back. Requests are
  answered in a task of their own (spawned eagerly: one that finishes without suspending costs
  no task), so a slow handler does not hold up the route's other requests.
- ``send`` coalesces: messages to one path sent within one event-loop iteration travel as one
  NATS message (a batch of envelopes, at most ``batch`` messages or 64 KiB), published by a
  flusher task at the next iteration -- or at once when the batch is full, which is where a
  fast sender waits. Per-message client and server work is what limits NATS throughput from
  Python, so this multiplies it; each message is still handled exactly once, by one node
  (a batch goes to one member of the queue group). A ``request``, ``publish`` or durable send
  first publishes the pending batches, so one sender's messages keep their order.
- When one node serves overlapping patterns (``a/{x}`` and ``a/b``), a message reaches both of
  its subscriptions; only the one whose pattern the kernel would pick handles it.
- ``send(..., durable=True)`` publishes to the JetStream stream ``HYPHAL`` (subjects
  ``_hdur.>``) and waits for its acknowledgement. Every served pattern has a durable pull
  consumer shared by all nodes serving it; a node acknowledges a message only after its
  handler has run, so a message whose node crashes is redelivered to another after
  ``ack_wait`` seconds (at-least-once delivery).
- The client reconnects forever after losing the server and re-subscribes everything; while
  disconnected, sends are buffered (up to 2 MiB) and requests fail with ``TimeoutError`` after
  their timeout. Leaving ``async with kernel:`` drains: queue subscriptions stop taking new
  messages, what they accepted is handled, replies and buffered sends are flushed, then the
  connection closes.

Limits: NATS cannot tell a publisher whether anybody received a message, so a remote ``send``
to a path no node serves is lost silently (``request`` raises :class:`NoRoute`; use
``durable=True`` to keep messages until a node serves them). Nodes serving *different*
overlapping patterns may both handle a message matching both. A freshly started nats-server
now and then answers a request with "no responders" although a responder is subscribed (raw
nats-py sees it too), so that answer is retried three times within 160 ms before it becomes
:class:`NoRoute`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hyphal._core.cancel import move_on_after
from hyphal._core.channel import _DONE
from hyphal._core.tasks import TaskGroup, TaskHandle
from hyphal.kernel.abc import Inbound, Transport
from hyphal.kernel.envelope import (
    decode_message,
    decode_messages,
    decode_reply,
    encode_batch,
    encode_error,
    encode_message,
    encode_result,
)
from hyphal.kernel.errors import NoRoute
from hyphal.kernel.message import Message
from hyphal.kernel.paths import parse_pattern
from hyphal.kernel.routing import RouteTable
from hyphal.kernel.subjects import (
    DURABLE_PREFIX,
    PUBLISH_PREFIX,
    escape,
    path_to_subject,
    pattern_to_subject,
    subject_to_path,
)

__all__ = ["NatsStatistics", "NatsTransport"]

logger = logging.getLogger("hyphal.kernel.nats")
_FOREVER = 365 * 24 * 3600.0
_CACHE = 65536


@dataclass(frozen=True, slots=True)
class NatsStatistics:
    node: str
    connected: bool
    reconnects: int
    sent: int
    requests: int
    published: int
    received: int
    answered: int
    durable_sent: int
    durable_handled: int


_BATCH_BYTES = 64 * 1024


def _memo(cache: dict[str, str], key: str, make: Callable[[str], str]) -> str:
    """``make(key)``, remembered in ``cache`` (cleared whenever it holds ``_CACHE`` entries)."""
    value = cache.get(key)
    if value is None:
        if len(cache) >= _CACHE:
            cache.clear()
        value = cache[key] = make(key)
    return value

_NO_RESPONDER_RETRIES = (0.01, 0.05, 0.1)


class _Batch:
    """Encoded envelopes waiting to travel to one subject together."""

    __slots__ = ("items", "size")

    def __init__(self) -> None:
        self.items: list[bytes] = []
        self.size = 0


class _DurableWorker:
    """Pulls one served pattern's durable messages, handles them, then acknowledges them."""

    def __init__(self, transport: NatsTransport, pattern: str) -> None:
        self.transport = transport
        self.pattern = pattern
        self.stopping = False
        self.handling = False  # between taking a batch and acknowledging it: not cancelled
        self.task: TaskHandle[None] | None = None

    async def run(self) -> None:
        t = self.transport
        psub = None
        while psub is None:
            try:
                psub = await t._pull_subscription(self.pattern)
            except RuntimeError as exc:  # no JetStream: nothing to consume
                logger.info("durable delivery for %r is off on this node: %s", self.pattern, exc)
                return
            except Exception as exc:  # the server is away: try again
                logger.debug("durable consumer for %r: %r", self.pattern, exc)
                if self._stopped():
                    return
                await asyncio.sleep(0.5)
        try:
            while not self.stopping:
                try:
                    batch = await psub.fetch(t.durable_batch, timeout=1.0)
                except Exception as exc:  # a fetch timeout, or the server is away
                    if type(exc).__name__ != "TimeoutError":
                        logger.debug("durable fetch for %r failed: %r", self.pattern, exc)
                        await asyncio.sleep(0.2)
                    continue
                self.handling = True
                try:
                    for i, m in enumerate(batch):
                        if self._stopped():  # hand the rest back at once
                            for rest in batch[i:]:
                                with contextlib.suppress(Exception):
                                    await rest.nak()
                            break
                        await self._handle(m)
                finally:
                    self.handling = False
        finally:
            with contextlib.suppress(Exception):
                await psub.unsubscribe()

    def _stopped(self) -> bool:
        return self.stopping

    async def _handle(self, m: Any) -> None:
        t = self.transport
        try:
            msg = decode_message(subject_to_path(m.subject, DURABLE_PREFIX), m.data)
        except ValueError as exc:
            logger.error("dropped a malformed durable message on %r: %s", m.subject, exc)
            await m.term()
            return
        try:
            await t._inbound_or_raise().request_remote(msg)
        except Exception as exc:  # counted by the kernel; a redelivery would fail the same way
            logger.debug("durable handler for %r failed: %r", msg.path, exc)
        t._durable_handled += 1
        with contextlib.suppress(Exception):
            await m.ack()

    async def stop(self) -> None:
        self.stopping = True
        if self.task is not None:
            if not self.handling:  # waiting for messages or for the server: stop at once
                self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


class NatsTransport(Transport):
    """Kernels on a NATS server (see the module docs).

    ``url``: the server (``nats://host:port``; several comma-separated for a cluster).
    ``node``: this kernel's name in the cluster (default ``host-pid``), sent as the connection
    name. ``connect_timeout``: seconds to reach the server at start. ``drain_timeout``: the
    longest leaving ``async with kernel:`` waits for accepted messages. ``durable``: run the
    durable consumers for served routes (needs JetStream; skipped with a warning without it).
    ``ack_wait``: seconds before an unacknowledged durable message is redelivered;
    ``durable_timeout``: how long a durable ``send`` waits for JetStream to store the message
    (then ``TimeoutError``). ``batch``:
    the most sends coalesced into one NATS message (1 turns coalescing off).

    Raises ``ConnectionError`` from ``connect`` when no server answers.
    """

    name = "nats"
    confirms_send = False  # NATS cannot tell a publisher whether anybody received a message

    def __init__(self, url: str = "nats://127.0.0.1:4222", *, node: str | None = None,
                 connect_timeout: float = 5.0, reconnect_wait: float = 0.25,
                 drain_timeout: float = 10.0, durable: bool = True, stream: str = "HYPHAL",
                 ack_wait: float = 30.0, durable_batch: int = 64, batch: int = 64,
                 durable_timeout: float = 5.0) -> None:
        self.url = url
        self.node = node or f"{socket.gethostname()}-{os.getpid()}"
        self.connect_timeout = connect_timeout
        self.reconnect_wait = reconnect_wait
        self.drain_timeout = drain_timeout
        self.durable = durable
        self.stream = stream
        self.ack_wait = ack_wait
        self.durable_batch = durable_batch
        self.durable_timeout = durable_timeout
        self.batch = batch
        self._batches: dict[str, _Batch] = {}
        self._wake: asyncio.Event | None = None
        self._batch_lock: asyncio.Lock | None = None
        self._flusher: TaskHandle[None] | None = None
        self._max_payload = 1 << 20
        self._nc: Any = None
        self._errors: Any = None  # the nats.errors module, once connected
        self._js: Any = None
        self._stream_ready = False
        self._inbound: Inbound | None = None
        self._tg: TaskGroup | None = None
        self._origin = os.urandom(6).hex()
        self._subjects: dict[str, str] = {}
        self._paths: dict[str, str] = {}
        self._served: dict[str, tuple[Any, int]] = {}
        self._subscribed: dict[str, tuple[Any, int]] = {}
        self._served_table: RouteTable[str] = RouteTable(unique=False)
        self._sub_table: RouteTable[str] = RouteTable(unique=False)
        self._workers: dict[str, _DurableWorker] = {}
        self._publish: Callable[..., Awaitable[None]] = self._not_connected
        self._sent = self._requests = self._published = self._received = self._answered = 0
        self._durable_sent = self._durable_handled = self._reconnects = 0

    def __repr__(self) -> str:
        return f"<NatsTransport {self.url} node={self.node!r}>"

    async def _not_connected(self, *args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the NATS transport is not connected: use the kernel inside "
                              "'async with kernel:'")

    def _inbound_or_raise(self) -> Inbound:
        if self._inbound is None:
            raise ConnectionError("the NATS transport is closed")
        return self._inbound

    # -- connection --------------------------------------------------------------------------

    async def connect(self, inbound: Inbound) -> None:
        import nats

        async def on_error(exc: Exception) -> None:
            if self._nc is not None and not self._nc.is_connected:  # a reconnect attempt
                logger.debug("NATS %s: %r", self.url, exc)
            else:
                logger.warning("NATS %s: %r", self.url, exc)

        async def on_disconnect() -> None:
            if self._nc is not None:  # not while closing
                logger.warning("node %r lost NATS %s; reconnecting", self.node, self.url)

        async def on_reconnect() -> None:
            self._reconnects += 1
            logger.warning("node %r reconnected to NATS %s", self.node, self.url)

        servers = [s.strip() for s in self.url.split(",") if s.strip()]
        attempts = max(1, int(self.connect_timeout / max(self.reconnect_wait, 0.05)))
        try:
            nc = await nats.connect(
                servers=servers, name=f"hyphal:{self.node}",
                allow_reconnect=True, max_reconnect_attempts=attempts,
                reconnect_time_wait=self.reconnect_wait, connect_timeout=self.connect_timeout,
                drain_timeout=int(max(1, self.drain_timeout)), error_cb=on_error,
                disconnected_cb=on_disconnect, reconnected_cb=on_reconnect)
        except Exception as exc:
            raise ConnectionError(
                f"cannot reach NATS at {self.url} ({exc!r}): start a server (`hyphal nats` runs "
                "one locally) or pass the right URL") from exc
        nc.options["max_reconnect_attempts"] = -1  # once up, never give up on the server
        self._nc = nc
        self._errors = nats.errors
        self._publish = nc.publish
        self._inbound = inbound
        self._max_payload = nc.max_payload
        tg = TaskGroup(name="hyphal.kernel.nats")
        await tg.__aenter__()
        self._tg = tg
        self._wake, self._batch_lock = asyncio.Event(), asyncio.Lock()
        self._flusher = tg.spawn(self._flush_loop, name="hyphal.nats.flusher")

    async def close(self) -> None:
        nc, tg = self._nc, self._tg
        if nc is None:
            return
        for worker in list(self._workers.values()):
            await worker.stop()
        self._workers.clear()
        for pattern in list(self._served):
            await self._drop(self._served, pattern, force=True)
        for pattern in list(self._subscribed):
            await self._drop(self._subscribed, pattern, force=True)
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        try:
            if tg is not None:  # requests being answered finish (bounded by drain_timeout)
                with move_on_after(self.drain_timeout):
                    await tg.__aexit__(None, None, None)
                    tg = None
                if tg is not None:
                    tg.cancel()
                    await tg.__aexit__(None, None, None)
        finally:
            self._tg = None
            self._inbound = None
            try:
                await self._flush_batches()
            except Exception as exc:
                logger.warning("NATS %s: dropped pending sends at close: %r", self.url, exc)
            self._publish = self._not_connected
            self._nc = self._js = None
            self._wake = self._batch_lock = None
            self._stream_ready = False
            try:
                if nc.is_connected:
                    await nc.drain()  # flushes buffered sends and replies
                elif getattr(nc, "_pending_data_size", 0):
                    # nats-py would write these to the dead socket and fail half-closed
                    logger.warning("node %r closed while disconnected from NATS %s: %d bytes of "
                                   "unsent messages dropped", self.node, self.url,
                                   nc._pending_data_size)
                    nc._pending_data_size = 0
            except Exception as exc:
                logger.debug("NATS drain at close failed: %r", exc)
            finally:
                await nc.close()

    # -- serving -----------------------------------------------------------------------------

    async def serve(self, pattern: str) -> None:
        if self._add(self._served, pattern):
            return
        self._served_table.add(parse_pattern(pattern), pattern)
        sub = await self._nc.subscribe(pattern_to_subject(pattern), queue=escape(pattern),
                                       cb=functools.partial(self._on_route, pattern))
        self._served[pattern] = (sub, 1)
        await self._nc.flush()  # reachable from other nodes once this returns
        if self.durable and self._tg is not None:
            worker = _DurableWorker(self, pattern)
            self._workers[pattern] = worker
            worker.task = self._tg.spawn(worker.run, name=f"hyphal.nats.durable:{pattern}")

    async def unserve(self, pattern: str) -> None:
        worker = self._workers.pop(pattern, None)
        if worker is not None:
            await worker.stop()
        await self._drop(self._served, pattern)

    async def subscribe(self, pattern: str) -> None:
        if self._add(self._subscribed, pattern):
            return
        self._sub_table.add(parse_pattern(pattern), pattern)
        subject = f"{PUBLISH_PREFIX}.*.{pattern_to_subject(pattern)}"
        sub = await self._nc.subscribe(subject, cb=functools.partial(self._on_publish, pattern))
        self._subscribed[pattern] = (sub, 1)
        await self._nc.flush()

    async def unsubscribe(self, pattern: str) -> None:
        await self._drop(self._subscribed, pattern)

    @staticmethod
    def _add(subs: dict[str, tuple[Any, int]], pattern: str) -> bool:
        """Count one more user of an existing subscription; False when there is none yet."""
        held = subs.get(pattern)
        if held is None:
            return False
        subs[pattern] = (held[0], held[1] + 1)
        return True

    async def _drop(self, subs: dict[str, tuple[Any, int]], pattern: str,
                    force: bool = False) -> None:
        held = subs.get(pattern)
        if held is None:
            return
        sub, users = held
        if users > 1 and not force:
            subs[pattern] = (sub, users - 1)
            return
        del subs[pattern]
        table = self._served_table if subs is self._served else self._sub_table
        table.remove(parse_pattern(pattern), pattern)
        try:  # stop taking messages, and handle those already accepted
            if self._nc is not None and self._nc.is_connected:
                await sub.drain()
            else:
                await sub.unsubscribe()
        except Exception as exc:
            logger.debug("unsubscribing %r: %r", pattern, exc)

    def _path_of(self, subject: str) -> str:
        return _memo(self._paths, subject, subject_to_path)

    def _subject_of(self, path: str) -> str:
        return _memo(self._subjects, path, path_to_subject)

    @staticmethod
    def _best(table: RouteTable[str], path: str) -> str | None:
        if len(table) < 2:
            return None
        hit = table.match(path)
        return None if hit is None else hit[0]

    async def _on_route(self, pattern: str, m: Any) -> None:
        self._received += 1
        if m.reply:
            assert self._tg is not None
            self._tg.spawn(self._answer, pattern, m)
            return
        try:
            path = self._path_of(m.subject)
            best = self._best(self._served_table, path)
            if best is not None and best != pattern:
                return  # another of this node's subscriptions handles it
            msgs = decode_messages(path, m.data)
        except ValueError as exc:
            logger.error("dropped a malformed message on %r: %s", m.subject, exc)
            return
        deliver = self._inbound_or_raise().deliver_remote
        for msg in msgs:
            await deliver(msg)

    async def _answer(self, pattern: str, m: Any) -> None:
        try:
            path = self._path_of(m.subject)
            best = self._best(self._served_table, path)
            if best is not None and best != pattern:
                return
            msg = decode_message(path, m.data, m.reply)
            data = encode_result(await self._inbound_or_raise().request_remote(msg))
        except Exception as exc:
            data = encode_error(exc)
        try:
            await self._publish(m.reply, data)
            self._answered += 1
        except Exception as exc:
            logger.warning("could not reply to a request to %r: %r", m.subject, exc)

    async def _on_publish(self, pattern: str, m: Any) -> None:
        _, origin, subject = m.subject.split(".", 2)
        if origin == self._origin:
            return  # our own publish: delivered locally already
        self._received += 1
        try:
            path = self._path_of(subject)
            subscribed = self._sub_table.match_all(path) if len(self._sub_table) > 1 else ()
            if subscribed and subscribed[0][1] != pattern:
                return  # this node's first matching subscription delivers it (once)
            msg = decode_message(path, m.data)
        except ValueError as exc:
            logger.error("dropped a malformed publish on %r: %s", m.subject, exc)
            return
        await self._inbound_or_raise().publish_remote(msg)

    # -- delivering --------------------------------------------------------------------------

    def send(self, msg: Message) -> Awaitable[Any]:  # type: ignore[override]
        # not a coroutine itself: the kernel awaits what this returns (confirms_send is False)
        subject = self._subjects.get(msg.path) or self._subject_of(msg.path)
        data = encode_message(msg)
        if len(data) > self._max_payload:
            raise ValueError(f"the message to {msg.path!r} is {len(data)} bytes; the NATS "
                             f"server takes at most {self._max_payload} per message")
        self._sent += 1
        if self.batch <= 1:
            return self._publish(subject, data)
        batch = self._batches.get(subject)
        if batch is None:
            batch = self._batches[subject] = _Batch()
            wake = self._wake
            if wake is None:
                return self._not_connected()
            wake.set()
        batch.items.append(data)
        batch.size += len(data)
        if len(batch.items) >= self.batch or batch.size >= _BATCH_BYTES:
            return self._flush_batches()
        return _DONE

    async def _flush_batches(self) -> None:
        """Publish every pending batch, oldest first (one flush at a time keeps the order)."""
        lock = self._batch_lock
        if not self._batches or lock is None:
            return
        async with lock:
            batches, self._batches = self._batches, {}
            for subject, batch in batches.items():
                items = batch.items
                await self._publish(subject, items[0] if len(items) == 1 else encode_batch(items))

    async def _flush_loop(self) -> None:
        wake = self._wake
        assert wake is not None
        while True:
            await wake.wait()
            wake.clear()
            try:
                await self._flush_batches()
            except Exception as exc:  # the connection is closed: nothing more can go out
                logger.warning("NATS %s: dropped pending sends: %r", self.url, exc)

    async def request(self, msg: Message, timeout: float | None) -> Any:
        nc = self._nc
        if nc is None:
            await self._not_connected()
        subject = self._subjects.get(msg.path) or self._subject_of(msg.path)
        payload = encode_message(msg)
        if self._batches:  # what this sender sent before goes first
            await self._flush_batches()
        self._requests += 1
        errors = self._errors
        try:
            reply = await nc.request(subject, payload,
                                     timeout=_FOREVER if timeout is None else timeout)
        except errors.NoRespondersError:
            reply = await self._request_again(msg, subject, payload, timeout)
        except errors.TimeoutError:
            raise self._timed_out(msg, timeout) from None
        except errors.ConnectionClosedError:
            raise ConnectionError(f"the NATS connection to {self.url} is closed") from None
        return decode_reply(reply.data)

    async def _request_again(self, msg: Message, subject: str, payload: bytes,
                             timeout: float | None) -> Any:
        """After "no responders": a fresh server now and then says so of a served subject, so
        ask again a few times (briefly) before calling it a missing route."""
        errors = self._errors
        deadline = None if timeout is None else time.monotonic() + timeout
        for pause in _NO_RESPONDER_RETRIES:
            if deadline is not None and deadline - time.monotonic() <= pause:
                break
            await asyncio.sleep(pause)
            left = _FOREVER if deadline is None else max(deadline - time.monotonic(), 0.001)
            try:
                return await self._nc.request(subject, payload, timeout=left)
            except errors.NoRespondersError:
                continue
            except errors.TimeoutError:
                raise self._timed_out(msg, timeout) from None
        exc = NoRoute(msg.path, None)
        exc.args = (f"no route matches {msg.path!r} here, and no node on NATS {self.url} "
                    "serves it",)
        raise exc

    def _timed_out(self, msg: Message, timeout: float | None) -> TimeoutError:
        down = self._nc is not None and not self._nc.is_connected
        state = " (the NATS connection is down; reconnecting)" if down else ""
        return TimeoutError(f"request to {msg.path!r} got no reply within {timeout} s{state}")

    async def publish(self, msg: Message) -> int:
        subject = self._subjects.get(msg.path) or self._subject_of(msg.path)
        payload = encode_message(msg)
        if self._batches:
            await self._flush_batches()
        await self._publish(f"{PUBLISH_PREFIX}.{self._origin}.{subject}", payload)
        self._published += 1
        return -1

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until the server has received everything sent so far (one round trip).
        Raises ``TimeoutError`` after ``timeout`` seconds, ``ConnectionError`` when closed."""
        if self._nc is None:
            await self._not_connected()
        await self._flush_batches()
        await self._nc.flush(timeout)

    # -- durable delivery (JetStream) --------------------------------------------------------

    async def send_durable(self, msg: Message) -> None:
        if self._nc is None:
            await self._not_connected()
        subject = f"{DURABLE_PREFIX}.{self._subject_of(msg.path)}"
        payload = encode_message(msg)
        if self._batches:
            await self._flush_batches()
        await self._ensure_stream()
        try:
            await self._js.publish(subject, payload, stream=self.stream,
                                   timeout=self.durable_timeout,
                                   headers={"Nats-Msg-Id": msg.id})
        except self._errors.TimeoutError:
            raise TimeoutError(f"JetStream on {self.url} did not acknowledge the durable "
                               f"message to {msg.path!r} (is the connection down?)") from None
        self._durable_sent += 1

    async def _ensure_stream(self) -> None:
        if self._stream_ready:
            return
        import nats.js.errors
        from nats.js.api import RetentionPolicy, StorageType, StreamConfig

        if self._js is None:
            self._js = self._nc.jetstream(timeout=self.durable_timeout)
        config = StreamConfig(name=self.stream, subjects=[f"{DURABLE_PREFIX}.>"],
                              retention=RetentionPolicy.LIMITS, storage=StorageType.FILE,
                              max_age=7 * 24 * 3600.0)
        try:
            try:
                await self._js.stream_info(self.stream)
            except nats.js.errors.NotFoundError:
                try:
                    await self._js.add_stream(config)
                except nats.js.errors.BadRequestError:  # another node created it meanwhile
                    await self._js.stream_info(self.stream)
        except (nats.js.errors.ServiceUnavailableError, nats.errors.NoRespondersError) as exc:
            raise RuntimeError(
                f"durable delivery needs JetStream on the NATS server at {self.url} ({exc!r}): "
                "start it with `nats-server -js` (`hyphal nats` does)") from exc
        except nats.errors.TimeoutError:
            raise TimeoutError(f"JetStream on {self.url} did not answer (is the connection "
                               "down?)") from None
        self._stream_ready = True

    async def _pull_subscription(self, pattern: str) -> Any:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        await self._ensure_stream()
        digest = hashlib.sha1(pattern.encode(), usedforsecurity=False).hexdigest()[:20]
        config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=self.ack_wait,
                                deliver_policy=DeliverPolicy.ALL, max_ack_pending=10_000)
        return await self._js.pull_subscribe(
            f"{DURABLE_PREFIX}.{pattern_to_subject(pattern)}", durable=f"hyphal_{digest}",
            stream=self.stream, config=config)

    # -- observability -----------------------------------------------------------------------

    def statistics(self) -> NatsStatistics:
        nc = self._nc
        return NatsStatistics(
            node=self.node, connected=bool(nc is not None and nc.is_connected),
            reconnects=self._reconnects, sent=self._sent, requests=self._requests,
            published=self._published, received=self._received, answered=self._answered,
            durable_sent=self._durable_sent, durable_handled=self._durable_handled)
