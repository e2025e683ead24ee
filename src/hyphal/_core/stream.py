"""Streams: composable async pipelines with backpressure from sink to source.

Theory of operation
-------------------
A :class:`Stream` is a lazy recipe. Nothing runs until it is consumed (``async for``,
:meth:`Stream.collect`, :meth:`Stream.to`); each consumption opens a fresh chain of stages.

Items travel in *chunks* (lists of up to ``chunk_size`` items) so that a stage pays one
``await`` per chunk rather than per item: ``map`` and ``filter`` with plain functions are list
comprehensions over a chunk, and a run of such stages costs about one function call per item
per stage. Stages are pulled by the consumer, in the consumer's task: the source produces only
when the sink asks for more, which *is* the backpressure under ``Overflow.BLOCK``.

Some stages need their upstream to keep running while downstream is busy or waiting; they put a
:class:`~hyphal.Channel` in between and drive the upstream from a *pump* task:

- ``buffer(n, overflow)``: a channel of ``n`` items with that overflow policy (drops are
  counted in :meth:`Stream.statistics`; ``SPILL`` loses nothing and bounds memory);
- ``merge(*streams)``: one pump per input, all into one bounded channel;
- ``batch(n, timeout=t)``: the pump lets a partial batch go out when ``t`` expires;
- ``map(fn, concurrency=n)``: up to ``n`` calls of ``fn`` run as tasks, results in input order
  (or as they finish, ``ordered=False``).

Errors: an exception in any stage or pump ends the pipeline -- pumps and in-flight calls are
cancelled -- and is raised to the consumer. Leaving the consumer early (``break``, an error,
cancellation) closes the chain the same way; ``from_channel`` sources then close their channel
handle, so producers upstream see :class:`~hyphal.ClosedResourceError`. :meth:`Stream.to` stops
quietly when its destination channel is closed: closing the sink closes upstream.

Byte streams: items are passed by reference and never copied; ``from_bytes`` slices one
``memoryview`` into chunks without copying the data.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
)
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from hyphal._core.cancel import move_on_at
from hyphal._core.channel import Channel, ChannelClone, Overflow
from hyphal._core.errors import ClosedResourceError, EndOfChannel
from hyphal._core.timing import current_time

__all__ = ["Stream", "StreamStatistics"]

T = TypeVar("T")
U = TypeVar("U")
Chunks = AsyncGenerator[list[Any], None]

CHUNK_SIZE = 256
"""Items per chunk taken from a source (the unit of work of every stage)."""
_YIELD_EVERY = 64
"""A synchronous source lets the loop run once per this many chunks (cancellation, fairness)."""


@dataclass(frozen=True, slots=True)
class StreamStatistics:
    emitted: int
    """Items handed to the consumer (or sent by :meth:`Stream.to`)."""
    dropped: int
    """Items discarded by ``buffer`` stages with a drop policy."""
    spilled: int
    """Items currently waiting in ``buffer`` spill files."""


class _Meter:
    """Counters shared by a pipeline's stages (a merge adds its inputs' meters)."""

    __slots__ = ("channels", "dropped", "emitted", "parents")

    def __init__(self, parents: tuple[_Meter, ...] = ()) -> None:
        self.emitted = 0
        self.dropped = 0
        self.channels: list[Channel[Any]] = []  # live buffers
        self.parents = parents

    def walk(self) -> Iterable[_Meter]:
        yield self
        for parent in self.parents:
            yield from parent.walk()


def _is_async(fn: Callable[..., Any]) -> bool:
    """True for async functions (also partials of them, and objects with an async
    ``__call__``)."""
    call = type(fn).__call__ if not inspect.isroutine(fn) else None
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


class _Pumps:
    """Background tasks that drive upstream chains into a channel; their first error is kept
    and re-raised to the consumer by :meth:`drain`, which also cancels whatever still runs."""

    __slots__ = ("error", "tasks")

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []
        self.error: BaseException | None = None

    def start(self, chunks: Chunks, put: Callable[[list[Any]], Awaitable[None]],
              handle: Channel[Any] | ChannelClone[Any]) -> None:
        async def pump() -> None:
            try:
                async with aclosing(chunks):
                    async for chunk in chunks:
                        await put(chunk)
            except Exception as exc:
                if self.error is None:
                    self.error = exc
                for task in self.tasks:
                    if task is not asyncio.current_task():
                        task.cancel()
            finally:
                handle.close()

        self.tasks.append(asyncio.get_running_loop().create_task(pump()))

    @staticmethod
    async def drain(setup: Callable[[_Pumps], Callable[[], Awaitable[list[Any]]]],
                    on_exit: Callable[[], object] = lambda: None) -> Chunks:
        """``setup(pumps)`` starts the pumps and returns the receive function; then yield what
        it returns until the channel ends, and raise the first pump error if any. On the way
        out (also early) stop the pumps and call ``on_exit``. Everything happens inside the
        generator, so nothing starts unless the consumer iterates, and cleanup always runs."""
        pumps = _Pumps()
        try:
            receive = setup(pumps)
            while True:
                try:
                    chunk = await receive()
                except EndOfChannel:
                    break
                yield chunk
            if pumps.error is not None:
                raise pumps.error
        finally:
            for task in pumps.tasks:
                task.cancel()
            if pumps.tasks:
                await asyncio.wait(pumps.tasks)
            on_exit()


class Stream(Generic[T]):
    """A lazy async pipeline. Build it from a source, chain stages, then consume it::

        total = 0
        async for batch in (hyphal.Stream.from_iterable(range(1000))
                            .map(lambda x: x * x)
                            .filter(lambda x: x % 3 == 0)
                            .batch(100)):
            total += sum(batch)

    Functions given to ``map``/``filter``/``flat_map`` may be plain or ``async``. Every stage
    returns a new ``Stream``; a stream may be consumed more than once if its source can be
    (an iterable such as a list or range can, an iterator or a channel cannot).

    See the module docs for backpressure, errors and cancellation.
    """

    __slots__ = ("_meter", "_open")

    def __init__(self, open_chunks: Callable[[], Chunks], meter: _Meter | None = None) -> None:
        self._open = open_chunks
        self._meter = meter if meter is not None else _Meter()

    def __repr__(self) -> str:
        return f"<Stream emitted={self._meter.emitted}>"

    # -- sources -----------------------------------------------------------------------------

    @staticmethod
    def from_iterable(items: Iterable[U] | AsyncIterable[U], *,
                      chunk_size: int = CHUNK_SIZE) -> Stream[U]:
        """A stream of the items of a (sync or async) iterable.

        A sync iterable is read ``chunk_size`` items at a time; an async one item by item (an
        item is passed on as soon as it arrives). Raises ``ValueError`` for ``chunk_size < 1``.
        """
        _check_positive("chunk_size", chunk_size)
        if isinstance(items, AsyncIterable):
            aitems = items

            async def from_async() -> Chunks:
                async for item in aitems:
                    yield [item]

            return Stream(from_async)
        sitems = items

        async def from_sync() -> Chunks:
            it = iter(sitems)
            for n in itertools.count(1):
                chunk = list(itertools.islice(it, chunk_size))
                if not chunk:
                    return
                yield chunk
                if n % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)

        return Stream(from_sync)

    @staticmethod
    def from_channel(channel: Channel[U] | ChannelClone[U], *,
                     chunk_size: int = CHUNK_SIZE) -> Stream[U]:
        """A stream of what ``channel`` receives, until it is closed and drained. Takes what is
        ready, up to ``chunk_size`` items at once. When the pipeline ends early, this handle
        of the channel is closed (producers then see ``ClosedResourceError``)."""
        _check_positive("chunk_size", chunk_size)

        async def from_ch() -> Chunks:
            recv_many = channel.recv_many
            try:
                while True:
                    try:
                        chunk = await recv_many(chunk_size)
                    except EndOfChannel:
                        return
                    yield chunk
            finally:
                channel.close()

        return Stream(from_ch)

    @staticmethod
    def from_bytes(data: bytes | bytearray | memoryview, *,
                   chunk_size: int = 64 * 1024) -> Stream[memoryview]:
        """``data`` as ``memoryview`` chunks of ``chunk_size`` bytes (the last may be shorter),
        without copying it. Raises ``ValueError`` for ``chunk_size < 1``."""
        _check_positive("chunk_size", chunk_size)
        view = memoryview(data).cast("B")
        return Stream.from_iterable(
            (view[i:i + chunk_size] for i in range(0, len(view), chunk_size)), chunk_size=64)

    # -- stages --------------------------------------------------------------------------------

    def _then(self, stage: Callable[[Chunks], Chunks]) -> Stream[Any]:
        upstream = self._open

        def open_chunks() -> Chunks:
            return stage(upstream())

        return Stream(open_chunks, self._meter)

    @overload
    def map(self, fn: Callable[[T], Awaitable[U]], *, concurrency: int = 1,
            ordered: bool = True) -> Stream[U]: ...

    @overload
    def map(self, fn: Callable[[T], U], *, concurrency: int = 1,
            ordered: bool = True) -> Stream[U]: ...

    def map(self, fn: Callable[[T], Any], *, concurrency: int = 1,
            ordered: bool = True) -> Stream[Any]:
        """Apply ``fn`` to every item. With ``concurrency=n`` (``fn`` must be async), up to
        ``n`` calls run at once as tasks; results keep the input order unless
        ``ordered=False`` (then they come as they finish). Raises ``ValueError`` for
        ``concurrency < 1`` and ``TypeError`` for concurrency with a plain function."""
        _check_positive("concurrency", concurrency)
        if concurrency > 1:
            if not _is_async(fn):
                raise TypeError("map(fn, concurrency=n) runs fn as tasks: fn must be an async "
                                "function")
            return self._then(lambda up: _map_concurrent(up, fn, concurrency, ordered))
        if _is_async(fn):
            afn: Any = fn

            async def amap(up: Chunks) -> Chunks:
                async with aclosing(up):
                    async for chunk in up:
                        yield [await afn(x) for x in chunk]

            return self._then(amap)

        async def smap(up: Chunks) -> Chunks:
            async with aclosing(up):
                async for chunk in up:
                    yield [fn(x) for x in chunk]

        return self._then(smap)

    def filter(self, predicate: Callable[[T], object]) -> Stream[T]:
        """Keep the items for which ``predicate`` is true."""
        if _is_async(predicate):
            apred: Any = predicate

            async def afilter(up: Chunks) -> Chunks:
                async with aclosing(up):
                    async for chunk in up:
                        kept = [x for x in chunk if await apred(x)]
                        if kept:
                            yield kept

            return self._then(afilter)

        async def sfilter(up: Chunks) -> Chunks:
            async with aclosing(up):
                async for chunk in up:
                    kept = [x for x in chunk if predicate(x)]
                    if kept:
                        yield kept

        return self._then(sfilter)

    @overload
    def flat_map(self, fn: Callable[[T], Awaitable[Iterable[U]]]) -> Stream[U]: ...

    @overload
    def flat_map(self, fn: Callable[[T], Iterable[U]]) -> Stream[U]: ...

    def flat_map(self, fn: Callable[[T], Any]) -> Stream[Any]:
        """Replace every item with the items of the iterable ``fn(item)`` returns."""
        is_async = _is_async(fn)
        call: Any = fn

        async def flat(up: Chunks) -> Chunks:
            async with aclosing(up):
                async for chunk in up:
                    out: list[Any] = []
                    for x in chunk:
                        out.extend(await call(x) if is_async else call(x))
                    if out:
                        yield out

        return self._then(flat)

    def batch(self, size: int, *, timeout: float | None = None) -> Stream[list[T]]:
        """Group items into lists of ``size``; the last may be shorter. With ``timeout``, a
        partial batch also goes out once its first item has waited ``timeout`` seconds.
        Raises ``ValueError`` for ``size < 1`` or a negative timeout."""
        _check_positive("size", size)
        if timeout is not None:
            if not timeout >= 0:
                raise ValueError(f"timeout must be >= 0 seconds or None, not {timeout!r}")
            return self._then(lambda up: _batch_timed(up, size, timeout))

        async def batcher(up: Chunks) -> Chunks:
            pending: list[Any] = []
            async with aclosing(up):
                async for chunk in up:
                    pending.extend(chunk)
                    if len(pending) >= size:
                        full = len(pending) - len(pending) % size
                        yield [pending[i:i + size] for i in range(0, full, size)]
                        del pending[:full]
            if pending:
                yield [pending]

        return self._then(batcher)

    def buffer(self, size: int, overflow: Overflow = Overflow.BLOCK, *,
               spill_dir: str | None = None) -> Stream[T]:
        """Decouple upstream from downstream with a channel of ``size`` items: upstream runs
        ahead while downstream is busy. When full, ``overflow`` decides: ``BLOCK`` slows
        upstream (nothing lost), ``DROP_OLDEST``/``DROP_NEWEST`` discard items (counted in
        :meth:`statistics`), ``SPILL`` writes the excess to disk (nothing lost)."""
        _check_positive("size", size)
        meter = self._meter

        def buffered(up: Chunks) -> Chunks:
            ch: Channel[Any] = Channel(size, overflow, spill_dir=spill_dir)

            def setup(pumps: _Pumps) -> Callable[[], Awaitable[list[Any]]]:
                meter.channels.append(ch)
                pumps.start(up, ch.send_batch, ch)
                return lambda: ch.recv_many(CHUNK_SIZE)

            def done() -> None:
                if ch in meter.channels:
                    meter.channels.remove(ch)
                    meter.dropped += ch.statistics().dropped
                ch.close()

            return _Pumps.drain(setup, done)

        return self._then(buffered)

    def merge(self, *others: Stream[T]) -> Stream[T]:
        """Interleave this stream with ``others``, taking chunks as each input produces them.
        Ends when all inputs end; an error in any input ends all of them."""
        streams = (self, *others)
        meter = _Meter(tuple(s._meter for s in streams))

        def setup(pumps: _Pumps) -> Callable[[], Awaitable[list[Any]]]:
            ch: Channel[list[Any]] = Channel(len(streams))
            for s in streams:
                handle = ch.clone()  # the channel closes once every input is done
                pumps.start(s._open(), handle.send, handle)
            ch.close()
            return ch.recv

        return Stream(lambda: _Pumps.drain(setup), meter)

    # -- sinks ---------------------------------------------------------------------------------

    async def chunks(self) -> AsyncGenerator[list[T], None]:
        """The items in chunks (lists) as the pipeline produces them -- the cheapest way to
        consume a fast stream."""
        meter = self._meter
        async with aclosing(self._open()) as chunks:
            async for chunk in chunks:
                meter.emitted += len(chunk)
                yield chunk

    def __aiter__(self) -> AsyncGenerator[T, None]:
        return self._items()

    async def _items(self) -> AsyncGenerator[T, None]:
        async with aclosing(self.chunks()) as chunks:
            async for chunk in chunks:
                for item in chunk:
                    yield item

    async def collect(self) -> list[T]:
        """Run the pipeline to its end and return every item."""
        out: list[T] = []
        async with aclosing(self.chunks()) as chunks:
            async for chunk in chunks:
                out.extend(chunk)
        return out

    async def to(self, channel: Channel[T] | ChannelClone[T], *, close: bool = True) -> int:
        """Send every item into ``channel`` (waiting for room: backpressure) and return how many
        were sent. Stops early, quietly, if the channel gets closed -- the pipeline upstream is
        then closed too. ``close``: close this handle of the channel at the end."""
        sent = 0
        send = channel.send
        try:
            async with aclosing(self.chunks()) as chunks:
                async for chunk in chunks:
                    for item in chunk:  # item by item, so the count stays exact on a close
                        await send(item)
                        sent += 1
        except ClosedResourceError:
            pass
        finally:
            if close:
                channel.close()
        return sent

    def statistics(self) -> StreamStatistics:
        emitted = self._meter.emitted
        dropped = spilled = 0
        for m in self._meter.walk():
            dropped += m.dropped
            for ch in m.channels:
                stats = ch.statistics()
                dropped += stats.dropped
                spilled += stats.spilled
        return StreamStatistics(emitted, dropped, spilled)


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, not {value!r}")


async def _map_concurrent(up: Chunks, fn: Callable[[Any], Any], limit: int,
                          ordered: bool) -> Chunks:
    loop = asyncio.get_running_loop()
    window: deque[asyncio.Task[Any]] = deque()
    running: set[asyncio.Task[Any]] = set()
    try:
        async with aclosing(up):
            async for chunk in up:
                out: list[Any] = []
                for x in chunk:
                    task = loop.create_task(fn(x))
                    if ordered:
                        window.append(task)
                        if len(window) >= limit:
                            out.append(await window.popleft())
                    else:
                        running.add(task)
                        if len(running) >= limit:
                            done, running = await asyncio.wait(
                                running, return_when=asyncio.FIRST_COMPLETED)
                            out.extend(t.result() for t in done)
                if out:
                    yield out
        while window:
            yield [await window.popleft()]
        while running:
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            yield [t.result() for t in done]
    finally:
        leftovers = [*window, *running]
        for task in leftovers:
            task.cancel()
        if leftovers:
            await asyncio.wait(leftovers)


def _batch_timed(up: Chunks, size: int, timeout: float) -> Chunks:
    ch: Channel[Any] = Channel(size)

    def setup(pumps: _Pumps) -> Callable[[], Awaitable[list[Any]]]:
        pumps.start(up, ch.send_batch, ch)
        return next_batch

    async def next_batch() -> list[Any]:
        batch = await ch.recv_many(size)  # the first item starts the clock
        if len(batch) < size:
            with move_on_at(current_time() + timeout):
                while len(batch) < size:
                    try:
                        batch.extend(await ch.recv_many(size - len(batch)))
                    except EndOfChannel:
                        break
        return [batch]

    return _Pumps.drain(setup)

