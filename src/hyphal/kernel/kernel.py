"""``hyphal.Kernel``: routes messages sent to paths to the handlers registered for them.

Theory of operation
-------------------
Routes live in a :class:`~hyphal.kernel.routing.RouteTable` (static paths in one dict, the rest
in a segment trie); subscriptions for ``publish`` in a second table that returns every match.
Each route belongs to a :class:`~hyphal.kernel.subsystem.Subsystem` (the path's
``subsystem://`` part), which owns an inbox and worker tasks while the kernel runs.

Delivery never creates a task on its own:

- a *sync* handler without middleware is called inline by every operation;
- ``await send``/``publish`` queue an *async* handler's message to its subsystem's inbox (the
  await only waits for room when the inbox is full) and the subsystem's worker awaits it;
- ``request``, ``send_batch`` and ``send_sequence`` await async handlers inline, in the
  caller's task (``send_batch`` spawns eager children, which cost a task only if they suspend).
  So a request can overtake sends still queued for the same async handler; actors mounted
  with :meth:`Kernel.mount_actor` keep the order (sends tell the mailbox at once).

While a handler runs, the message it handles is the *current message* (a context variable):
messages created inside it inherit its ``trace_id``. A path with no local route goes to the
transport when it can reach other kernels, else it becomes a dead letter: counted, kept in a
short history, and delivered to the route registered at :data:`DEAD_LETTER_PATH` if any.

The fast path of ``send`` (a path seen before, a sync handler) is a dict lookup, a message, a
context-variable set/reset, the call and a counter update (and, one call in 16, two clock
reads) -- no coroutine, no suspension. It is written twice: in C (``KernelCore.send`` in
``_speedups.c``, with the message constructor and the route's hot fields) and in Python
(:class:`_PyKernelCore`, used when the extension is not built or ``HYPHAL_PURE_PYTHON=1``);
both hand every other case to :meth:`Kernel._send_slow`, and the test suite runs both.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from time import perf_counter_ns
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

from hyphal._core.cancel import move_on_after
from hyphal._core.channel import _DONE
from hyphal._core.tasks import TaskGroup
from hyphal.kernel.abc import Transport
from hyphal.kernel.errors import NoRoute
from hyphal.kernel.message import Message, _current, _speedups
from hyphal.kernel.middleware import Middleware
from hyphal.kernel.paths import split_path
from hyphal.kernel.routing import RouteTable
from hyphal.kernel.stats import KernelStatistics
from hyphal.kernel.subsystem import _UNTIMED, Route, Subsystem

if TYPE_CHECKING:
    from hyphal.actors import ActorRef

__all__ = ["DEAD_LETTER_PATH", "DeadLetter", "Kernel"]

logger = logging.getLogger("hyphal.kernel")
F = TypeVar("F", bound=Callable[..., Any])
DEAD_LETTER_PATH = "kernel://dead-letter"
"""Register a route here to receive dead letters: its message's body is a :class:`DeadLetter`."""
REPLY_INLINE = "kernel://reply/inline"
"""``reply_to`` of a request answered in-process (the reply is the handler's return value)."""
_DEFAULT: Any = object()
_DELIVERED: Awaitable[None] = _DONE
"""What a send that needs no waiting returns (a C singleton that awaits in no time, if built)."""
_set = _current.set
_reset = _current.reset
_now = perf_counter_ns
_TRANSPORTS = {"local": "hyphal.kernel.local:LocalTransport",
               "nats": "hyphal.kernel.nats:NatsTransport"}
MessageLike = Message | tuple[str, Any] | str
_Job = tuple[int, "Route | None", Message]  # (index in the batch, local route or None, message)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message no route took, and why."""

    message: Message
    reason: str


def _make_transport(spec: str | Transport | None, node: str | None = None) -> Transport:
    if spec is None:
        spec = os.environ.get("HYPHAL_TRANSPORT") or "local"
    if isinstance(spec, Transport):
        return spec
    if not isinstance(spec, str):
        raise TypeError(
            f"transport must be 'local', a 'nats://...' URL or a Transport, not {spec!r}")
    scheme = spec.partition("://")[0] if "://" in spec else spec
    target = _TRANSPORTS.get(scheme)
    if target is None:
        raise ValueError(
            f"unknown transport {spec!r}: use 'local', 'nats://host:port' or a Transport object")
    module, _, name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise ValueError(
            f"transport {spec!r} needs {module}, which this hyphal version does not have") from exc
    node = node or os.environ.get("HYPHAL_NODE") or None
    transport: Transport = cls() if scheme == "local" else cls(spec, node=node)
    return transport


def _deliver(route: Route, msg: Message) -> None:
    """Call a sync handler for a fire-and-forget delivery: with ``msg`` as the current message,
    its error counted and logged (a ``BaseException`` propagates), one call in 16 timed."""
    token = _set(msg)
    t0 = 0 if route.calls & _UNTIMED else _now()
    try:
        route.handler(msg)
    except Exception as exc:
        route.failed(msg, exc)
    finally:
        _reset(token)
    route.calls += 1
    if t0:
        route.hist[(_now() - t0).bit_length()] += 1


class _PyKernelCore:
    """``Kernel.send``'s fast path in Python (``KernelCore`` in C when built)."""

    __slots__ = ("_fast",)

    _fast: dict[str, tuple[Route, Any]]

    def _send_slow(self, path: str | Message, body: Any, meta: dict[str, Any] | None
                   ) -> Awaitable[None]:
        raise NotImplementedError

    def _send_durable(self, path: str | Message, body: Any, meta: dict[str, Any] | None
                      ) -> Awaitable[None]:
        raise NotImplementedError

    def send(self, path: str | Message, body: Any = None, *,
             meta: dict[str, Any] | None = None, durable: bool = False) -> Awaitable[None]:
        """Deliver one message to the handler of its path, fire-and-forget.

        ``await kernel.send("users://profile/42", {...})``; ``path`` may also be a
        :class:`Message`. A sync handler runs before this returns; an async one is queued to
        its subsystem (waiting for room, or raising :class:`hyphal.WouldBlock`, when the inbox
        is full -- see :class:`Subsystem`). A handler's error is counted and logged, not
        raised. No route: a dead letter (or the transport's, when it reaches other kernels).

        ``durable=True`` (on a transport that persists messages, like NATS with JetStream):
        the message is stored before this returns and handled by a kernel serving its path --
        this one or another -- at least once, even if that kernel crashes while handling it.
        A kernel without a network transport delivers it as usual.
        Raises ``ValueError`` for a malformed path and ``RuntimeError`` when not running."""
        if durable:
            return self._send_durable(path, body, meta)
        hit = self._fast.get(path)  # type: ignore[arg-type]
        if hit is None:
            return self._send_slow(path, body, meta)
        route = hit[0]
        msg = Message(path, body, meta)  # type: ignore[arg-type]
        msg._params = hit[1]
        if route.inline:
            _deliver(route, msg)
            return _DELIVERED
        return route.subsystem._put((msg, route))


if TYPE_CHECKING or _speedups is None:
    _KernelCore = _PyKernelCore
else:
    _KernelCore = _speedups.KernelCore
    _speedups.set_message_type(Message)
    _DELIVERED = _speedups.DONE


class Kernel(_KernelCore):
    """An in-process message kernel (see the module docs).

    ::

        kernel = hyphal.Kernel()

        @kernel.route("users://profile/{id:int}")
        async def profile(msg):
            return {"id": msg.params["id"]}

        async with kernel:
            print(await kernel.request("users://profile/7"))

    ``transport``: ``"local"`` (this process only), ``"nats://host:port"`` (kernels on many
    processes and machines, see :mod:`hyphal.kernel.nats`), or a
    :class:`~hyphal.kernel.abc.Transport` (e.g. ``LocalTransport(hub)`` to join other kernels
    in this process); the default is ``$HYPHAL_TRANSPORT``, else ``"local"``. ``node`` names
    this kernel on a network transport (default ``host-pid``). ``request_timeout`` is the
    default ``timeout`` of :meth:`request`; ``dead_letter_history`` how many dead letters
    :meth:`dead_letters` keeps.
    """

    def __init__(self, transport: str | Transport | None = None, *, node: str | None = None,
                 request_timeout: float | None = 30.0, dead_letter_history: int = 100) -> None:
        self._transport = _make_transport(transport, node)
        self.request_timeout = request_timeout
        self._routes: RouteTable[Route] = RouteTable(unique=True)
        self._subs: RouteTable[Route] = RouteTable(unique=False)
        self._fast: dict[str, tuple[Route, Any]] = {}  # the static table once running
        self._subsystems: dict[str, Subsystem] = {}
        self._middleware: list[Middleware] = []
        self._running = False
        self._tg: TaskGroup | None = None
        self._requests = 0
        self._published = 0
        self._dead_count = 0
        self._remote_sent = 0
        self._remote_paths: set[str] = set()  # paths sent to the transport: no local route
        self._dead: deque[DeadLetter] = deque(maxlen=dead_letter_history)

    def __repr__(self) -> str:
        state = "running" if self._running else "stopped"
        return (f"<Kernel {self._transport.name} routes={len(self._routes)} "
                f"subsystems={len(self._subsystems)} {state}>")

    @property
    def running(self) -> bool:
        return self._running

    @property
    def transport(self) -> Transport:
        return self._transport

    # -- registration ------------------------------------------------------------------------

    def subsystem(self, name: str, **options: Any) -> Subsystem:
        """This kernel's subsystem ``name``, created (and mounted) on first use.

        ``options`` (``inbox``, ``when_full``, ``concurrency``; see :class:`Subsystem`) apply
        when it is created; passing them for an existing one raises ``ValueError``."""
        sub = self._subsystems.get(name)
        if sub is None:
            sub = Subsystem(name, **options)
            self._attach(sub)
            if self._running:
                assert self._tg is not None
                self._tg.spawn(self._start, sub)
        elif options:
            raise ValueError(f"subsystem {name!r} exists already; its options are fixed")
        return sub

    @overload
    def route(self, pattern: str) -> Callable[[F], F]: ...
    @overload
    def route(self, pattern: str, handler: F) -> F: ...

    def route(self, pattern: str, handler: F | None = None) -> Any:
        """Register ``handler`` for ``pattern``: ``@kernel.route("users://profile/{id}")``.

        Patterns: literal segments, ``{name}``/``{name:int}``/``{name:float}``, ``*`` (one
        segment) and a trailing ``**`` (the rest). Priority: static > param > ``*`` > ``**``.
        Raises ``ValueError`` for a malformed pattern and
        :class:`~hyphal.kernel.routing.AmbiguousRoute` (a ``ValueError``) when a registered
        route would match exactly the same paths."""
        return self.subsystem(split_path(pattern)[0])._register(pattern, handler, "route")

    @overload
    def subscribe(self, pattern: str) -> Callable[[F], F]: ...
    @overload
    def subscribe(self, pattern: str, handler: F) -> F: ...

    def subscribe(self, pattern: str, handler: F | None = None) -> Any:
        """Register ``handler`` to receive every :meth:`publish` to a path matching
        ``pattern`` (any number of subscribers)."""
        return self.subsystem(split_path(pattern)[0])._register(pattern, handler, "subscription")

    def mount_actor(self, pattern: str,
                    ref_factory: Callable[[Message], ActorRef[Any, Any]], *,
                    pass_message: bool = False) -> None:
        """Serve ``pattern`` with actors: ``ref_factory(msg)`` returns the actor for a message
        (typically chosen by ``msg.params``, spawned on first use).

        ``send`` tells the actor at once (so sends and requests reach its mailbox in the order
        they were made); ``request``, ``send_batch`` and ``send_sequence`` ask it and return
        its reply (or raise its error), under their timeout. The actor receives ``msg.body``,
        or the :class:`Message` itself with ``pass_message=True``. A tell that does not fit a
        full ``BLOCK`` mailbox is counted as an error of the route (and logged): give mounted
        actors an unbounded or dropping mailbox, or ask. Raises like :meth:`route`."""

        def deliver(msg: Message) -> Awaitable[Any] | None:
            ref = ref_factory(msg)
            payload = msg if pass_message else msg.body
            if msg.reply_to is None:
                ref.tell(payload)
                return None
            return ref.ask(payload)

        sub = self.subsystem(split_path(pattern)[0])
        sub._register(pattern, deliver, "route", awaits=True)

    def use(self, middleware: Middleware) -> Middleware:
        """Add middleware around every handler (outermost first; see
        :mod:`hyphal.kernel.middleware`). Usable as a decorator."""
        self._middleware.append(middleware)
        self._recompile()
        return middleware

    def _recompile(self) -> None:
        chain = tuple(self._middleware)
        for sub in self._subsystems.values():
            for route in sub.routes:
                route.compile(chain)

    def _add_route(self, route: Route) -> None:
        self._remote_paths.clear()
        table = self._routes if route.kind == "route" else self._subs
        table.add(route.pattern, route)
        route.compile(tuple(self._middleware))
        if self._running and self._transport.remote:
            assert self._tg is not None
            op = self._transport.serve if route.kind == "route" else self._transport.subscribe
            self._tg.spawn(op, route.pattern.text)

    def _attach(self, sub: Subsystem) -> None:
        if sub._kernel is not None:
            raise ValueError(f"subsystem {sub.name!r} is mounted on another kernel already")
        if sub.name in self._subsystems:
            raise ValueError(f"a subsystem named {sub.name!r} is mounted already")
        added: list[Route] = []
        try:
            for route in sub.routes:
                self._add_route(route)
                added.append(route)
        except BaseException:
            for route in added:
                self._remove_route(route)
            raise
        sub._kernel = self
        self._subsystems[sub.name] = sub

    def _remove_route(self, route: Route) -> None:
        table = self._routes if route.kind == "route" else self._subs
        table.remove(route.pattern, route)

    def _detach(self, sub: Subsystem) -> None:
        for route in sub.routes:
            self._remove_route(route)
        del self._subsystems[sub.name]
        sub._kernel = None
        for route in sub.routes:
            route.compile(())

    async def mount(self, sub: Subsystem) -> Subsystem:
        """Add ``sub`` and its routes; on a running kernel it starts at once (``on_start``
        runs before this returns). Raises ``ValueError`` if the name is taken and
        ``AmbiguousRoute`` if one of its routes clashes; if that or ``on_start`` fails,
        nothing stays mounted."""
        self._attach(sub)
        if self._running:
            try:
                await self._start(sub)
            except BaseException:
                self._detach(sub)
                await sub._stop(run_hooks=False)
                raise
        return sub

    async def unmount(self, name: str | Subsystem) -> None:
        """Stop a subsystem (its queued messages are handled first, then ``on_stop`` runs)
        and remove its routes. Raises ``KeyError`` for an unknown name."""
        sub = self._subsystems[name if isinstance(name, str) else name.name]
        self._detach(sub)
        await self._stop(sub)

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Kernel:
        if self._running or self._tg is not None:
            raise RuntimeError("this kernel is running already")
        await self._transport.connect(self)
        tg = TaskGroup(name="hyphal.kernel")
        await tg.__aenter__()
        self._tg = tg
        self._running = True
        self._fast = self._routes.hot
        try:
            for sub in list(self._subsystems.values()):
                await self._start(sub)
        except BaseException as exc:
            await self.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def __aexit__(self, et: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        tg = self._tg
        assert tg is not None
        try:
            if et is None:
                for sub in reversed(list(self._subsystems.values())):
                    await self._stop(sub)
        finally:
            self._running = False
            self._fast = {}
            try:
                if et is not None:
                    tg.cancel()
                await tg.__aexit__(None, None, None)
            finally:
                self._tg = None
                for sub in self._subsystems.values():
                    sub._abandon()
                await self._transport.close()

    async def _start(self, sub: Subsystem) -> None:
        assert self._tg is not None
        await sub._start(self._tg.spawn)
        if self._transport.remote:
            for route in sub.routes:
                if route.kind == "route":
                    await self._transport.serve(route.pattern.text)
                else:
                    await self._transport.subscribe(route.pattern.text)

    async def _stop(self, sub: Subsystem) -> None:
        if self._transport.remote and self._running:
            for route in sub.routes:
                if route.kind == "route":
                    await self._transport.unserve(route.pattern.text)
                else:
                    await self._transport.unsubscribe(route.pattern.text)
        await sub._stop()

    def _not_running(self) -> RuntimeError:
        return RuntimeError("the kernel is not running: use it inside 'async with kernel:'")

    async def drain(self) -> None:
        """Wait until every message queued to any subsystem has been handled."""
        for sub in list(self._subsystems.values()):
            await sub.drain()

    # -- routing -----------------------------------------------------------------------------

    def lookup(self, path: str) -> tuple[str, dict[str, Any]] | None:
        """``(pattern, params)`` of the route ``path`` would reach, or ``None``. Raises
        ``ValueError`` for a malformed path."""
        hit = self._routes.match(path)
        return None if hit is None else (hit[0].pattern.text, dict(hit[1]))

    def _message(self, item: MessageLike, body: Any = None, meta: dict[str, Any] | None = None
                 ) -> Message:
        if isinstance(item, Message):
            return item
        if isinstance(item, tuple):
            return Message(*item)
        return Message(item, body, meta)

    def _resolve(self, msg: Message) -> Route | None:
        if not self._running:
            raise self._not_running()
        hit = self._routes.match(msg.path)
        if hit is None:
            return None
        route, msg._params = hit
        return route

    def _dead_letter(self, msg: Message, reason: str) -> None:
        self._dead_count += 1
        letter = DeadLetter(msg, reason)
        self._dead.append(letter)
        if msg.path == DEAD_LETTER_PATH:
            return
        hit = self._routes._static.get(DEAD_LETTER_PATH)
        if hit is not None:
            route = hit[0]
            note = Message(DEAD_LETTER_PATH, letter)
            if route.inline:
                _deliver(route, note)
            else:
                try:
                    route.subsystem._put_nowait((note, route))
                except Exception:
                    logger.warning("dropped a dead letter for %r: the dead-letter inbox is full",
                                   msg.path)

    def dead_letters(self) -> list[DeadLetter]:
        """The most recent dead letters, oldest first."""
        return list(self._dead)

    # -- delivery ----------------------------------------------------------------------------

    def send_nowait(self, path: str | Message, body: Any = None, *,
                    meta: dict[str, Any] | None = None) -> None:
        """Like :meth:`send` but never waits: raises :class:`hyphal.WouldBlock` when the
        subsystem's inbox is full. Paths with no local route become dead letters."""
        msg = self._message(path, body, meta)
        route = self._resolve(msg)
        if route is None:
            self._dead_letter(msg, "no route")
        elif route.inline:
            _deliver(route, msg)
        else:
            route.subsystem._put_nowait((msg, route))

    def _send_slow(self, path: str | Message, body: Any, meta: dict[str, Any] | None
                   ) -> Awaitable[None]:
        if path in self._remote_paths and self._running:  # known to have no local route
            msg = Message(path, body, meta)
            if self._transport.confirms_send:
                return self._send_remote(msg)
            self._remote_sent += 1
            sent: Awaitable[Any] = self._transport.send(msg)
            return sent
        if type(path) is Message:  # a ready message to a recently seen path: still one lookup
            hit = self._fast.get(path.path)
            if hit is not None:
                found: Route = hit[0]
                path._params = hit[1]
                if found.inline:
                    _deliver(found, path)
                    return _DELIVERED
                return found.subsystem._put((path, found))
        msg = self._message(path, body, meta)
        route = self._resolve(msg)
        if route is None:
            if self._transport.remote:
                if isinstance(path, str) and len(self._remote_paths) < 4096:
                    self._remote_paths.add(path)
                return self._send_remote(msg)
            self._dead_letter(msg, "no route")
            return _DELIVERED
        if route.inline:
            _deliver(route, msg)
            return _DELIVERED
        return route.subsystem._put((msg, route))

    def _send_durable(self, path: str | Message, body: Any, meta: dict[str, Any] | None
                      ) -> Awaitable[None]:
        return self._durable(self._message(path, body, meta))

    async def _durable(self, msg: Message) -> None:
        if not self._running:
            raise self._not_running()
        if not self._transport.remote:
            await self._send_slow(msg, None, None)
            return
        self._remote_sent += 1
        await self._transport.send_durable(msg)

    async def _send_remote(self, msg: Message) -> None:
        self._remote_sent += 1
        if await self._transport.send(msg) is False:
            self._dead_letter(msg, "no route here or on the transport")

    def _invoke(self, route: Route, msg: Message) -> Any:
        """Call a sync handler and return its result; its error is counted and raised."""
        token = _set(msg)
        t0 = route.start()
        try:
            return route.handler(msg)
        except Exception:
            route.errors += 1
            raise
        finally:
            _reset(token)
            route.done(t0)

    async def _call(self, route: Route, msg: Message, timeout: float | None) -> Any:
        """Run ``route``'s handler for ``msg`` in this task and return its result; raises its
        error, or ``TimeoutError`` after ``timeout`` seconds."""
        if msg.reply_to is None:
            msg.reply_to = REPLY_INLINE  # the caller awaits the result
        if route.inline and not route.awaits:
            return self._invoke(route, msg)
        token = _set(msg)
        t0 = route.start()
        try:
            if timeout is None:
                return await route.call(msg)
            with move_on_after(timeout):
                return await route.call(msg)
            raise TimeoutError(f"the handler of {msg.path!r} gave no reply within {timeout} s")
        except Exception:
            route.errors += 1
            raise
        finally:
            _reset(token)
            route.done(t0)

    async def request(self, path: str | Message, body: Any = None, *, timeout: Any = _DEFAULT,
                      meta: dict[str, Any] | None = None) -> Any:
        """Deliver one message and return its handler's result.

        The handler runs in this task (sync or async; no task is created). ``timeout``
        (seconds; ``None`` waits forever; default ``request_timeout``) cancels the handler and
        raises ``TimeoutError``. The handler's own exception is re-raised as is (from another
        kernel: rebuilt with its type and message). Raises :class:`NoRoute` naming the closest
        registered pattern when nothing serves the path (the message is also a dead letter),
        ``ValueError`` for a malformed path and ``RuntimeError`` when not running."""
        if timeout is _DEFAULT:
            timeout = self.request_timeout
        msg = self._message(path, body, meta)
        if msg.path in self._remote_paths and self._running:  # known to have no local route
            self._requests += 1
            return await self._request_remote(msg, timeout)
        route = self._resolve(msg)
        self._requests += 1
        if route is None:
            if self._transport.remote and len(self._remote_paths) < 4096:
                self._remote_paths.add(msg.path)
            return await self._request_remote(msg, timeout)
        return await self._call(route, msg, timeout)

    async def _request_remote(self, msg: Message, timeout: float | None) -> Any:
        if self._transport.remote:
            self._remote_sent += 1
            try:
                return await self._transport.request(msg, timeout)
            except NoRoute:
                self._dead_letter(msg, "no route here or on the transport")
                raise
        self._dead_letter(msg, "no route")
        raise NoRoute(msg.path, self._routes.closest(msg.path))

    async def publish(self, path: str | Message, body: Any = None, *,
                      meta: dict[str, Any] | None = None) -> int:
        """Deliver a message to every subscriber whose pattern matches its path; returns how
        many were reached (0 is not an error). Sync subscribers run inline, async ones are
        queued to their subsystems; other kernels' subscribers are reached through the
        transport. Raises ``ValueError`` for a malformed path, ``RuntimeError`` when not
        running."""
        msg = self._message(path, body, meta)
        if not self._running:
            raise self._not_running()
        self._published += 1
        count = await self._publish_local(msg)
        if self._transport.remote:
            reached = await self._transport.publish(msg)
            count += max(reached, 0)
        return count

    async def _publish_local(self, msg: Message) -> int:
        matches = self._subs.match_all(msg.path)
        for i, (_, route, params) in enumerate(matches):
            copy = msg if i == 0 else msg._fork()
            copy.params = params
            if route.inline:
                _deliver(route, copy)
            else:
                await route.subsystem._put((copy, route))
        return len(matches)

    async def send_batch(self, msgs: Iterable[MessageLike], *, timeout: Any = _DEFAULT,
                         return_exceptions: bool = False) -> list[Any]:
        """Deliver every message concurrently and return the handlers' results in order.

        Items are :class:`Message` s, ``(path, body)`` tuples or paths. Like
        ``asyncio.gather``: with ``return_exceptions`` a failed (or unroutable:
        :class:`NoRoute`) message's exception takes its place in the list, otherwise the
        first one is raised once every message is done. ``timeout`` bounds the whole batch
        (``TimeoutError``)."""
        if timeout is _DEFAULT:
            timeout = self.request_timeout
        batch = [self._message(m) for m in msgs]
        results: list[Any] = [None] * len(batch)
        failed = [False] * len(batch)
        pending: list[_Job] = []
        for i, msg in enumerate(batch):
            route = self._resolve(msg)
            if route is not None and route.inline and not route.awaits:
                msg.reply_to = REPLY_INLINE
                try:
                    results[i] = self._invoke(route, msg)
                except Exception as exc:
                    results[i] = exc
                    failed[i] = True
            else:
                pending.append((i, route, msg))
        if pending:
            await self._run_jobs([[job] for job in pending], results, failed, timeout, "batch")
        return _outcome(results, failed, return_exceptions)

    async def _run_jobs(self, groups: Iterable[Sequence[_Job]], results: list[Any],
                        failed: list[bool], timeout: float | None, what: str) -> None:
        """Run each group of jobs in its own eager child, the jobs of a group in order."""
        async def in_order(jobs: Sequence[_Job]) -> None:
            for i, route, msg in jobs:
                try:
                    if route is None:
                        results[i] = await self._request_remote(msg, None)
                    else:
                        results[i] = await self._call(route, msg, None)
                except Exception as exc:
                    results[i] = exc
                    failed[i] = True

        async def run_all() -> None:
            async with TaskGroup() as tg:
                for jobs in groups:
                    tg.spawn(in_order, jobs)

        if timeout is None:
            await run_all()
            return
        with move_on_after(timeout) as scope:
            await run_all()
        if scope.cancelled_caught:
            raise TimeoutError(f"the {what} was not finished within {timeout} s")

    async def send_sequence(self, msgs: Iterable[MessageLike], *, timeout: Any = _DEFAULT,
                            return_exceptions: bool = False) -> list[Any]:
        """Deliver the messages one subsystem at a time in order, subsystems concurrently.

        Messages to one subsystem are handled strictly in the given order (each finishes
        before the next starts); different subsystems proceed side by side. Results, errors
        and ``timeout`` as in :meth:`send_batch`."""
        if timeout is _DEFAULT:
            timeout = self.request_timeout
        batch = [self._message(m) for m in msgs]
        groups: dict[str, list[_Job]] = {}
        for i, msg in enumerate(batch):
            route = self._resolve(msg)
            name = route.subsystem.name if route is not None else split_path(msg.path)[0]
            groups.setdefault(name, []).append((i, route, msg))
        results: list[Any] = [None] * len(batch)
        failed = [False] * len(batch)

        await self._run_jobs(groups.values(), results, failed, timeout, "sequence")
        return _outcome(results, failed, return_exceptions)

    # -- the transport's way in (hyphal.kernel.abc.Inbound) ----------------------------------

    async def deliver_remote(self, msg: Message) -> bool:
        route = self._resolve(msg)
        if route is None:
            self._dead_letter(msg, "no route (from the transport)")
            return False
        if route.inline:
            _deliver(route, msg)
        else:
            await route.subsystem._put((msg, route))
        return True

    async def request_remote(self, msg: Message) -> Any:
        route = self._resolve(msg)
        if route is None:
            self._dead_letter(msg, "no route (from the transport)")
            raise NoRoute(msg.path, self._routes.closest(msg.path))
        return await self._call(route, msg, None)

    async def publish_remote(self, msg: Message) -> int:
        if not self._running:
            return 0
        return await self._publish_local(msg)

    # -- observability -----------------------------------------------------------------------

    def statistics(self) -> KernelStatistics:
        """A snapshot: totals, per route (calls, errors, latency histogram) and per subsystem
        (inbox depth, handled)."""
        subs = list(self._subsystems.values())
        return KernelStatistics(
            requests=self._requests,
            published=self._published,
            dead_letters=self._dead_count,
            remote_sent=self._remote_sent,
            routes=tuple(r.statistics() for s in subs for r in s.routes),
            subsystems=tuple(s.statistics() for s in subs),
        )

    def patterns(self) -> list[str]:
        """Every registered route pattern."""
        return self._routes.patterns()


def _outcome(results: list[Any], failed: list[bool], return_exceptions: bool) -> list[Any]:
    if not return_exceptions:
        for i, bad in enumerate(failed):
            if bad:
                raise results[i]
    return results

