"""The handler pool: N warm contexts, O(1) acquire, bounded waits and a circuit breaker.

Theory of operation
-------------------
Free contexts sit on a stack; its top is the free-slot hint -- the most recently released,
cache-warm context -- so :meth:`HandlerPool.try_acquire` is one ``list.pop``. When the stack
is empty a request waits in a FIFO queue and a release hands its context straight to the
oldest waiter (no polling). A wait longer than ``wait_timeout`` is *exhaustion*: the request is
answered ``503`` with ``Retry-After``.

The circuit breaker stops the server queueing work it cannot do: after ``trip_after``
consecutive exhaustions it *opens* and requests that find no free context fail fast (503)
instead of waiting. After a cool-down it *half-opens* and lets one request wait as a probe:
success closes the breaker, another exhaustion re-opens it with the cool-down doubled
(adaptive backoff, capped at ``max_cooldown``). Requests that find a free context are served
whatever the breaker's state.

A context that raised :class:`~hyphal.http._handlers.ContextBroken` is closed and replaced
(:meth:`HandlerPool.discard`).

Metrics: every release adds the execution time to a window; every ``metrics_every`` requests
the window is logged as ``Pool metrics: in_use=2/8 exhausted=0 avg_wait_us=3 max_wait_us=20
avg_exec_us=120 max_exec_us=500`` and folded into the running totals that
:meth:`HandlerPool.statistics` (and the Prometheus endpoint) report.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from hyphal._core.errors import HyphalError
from hyphal.http._handlers import HandlerContext

__all__ = ["HandlerPool", "HandlerPoolStatistics", "PoolExhausted"]

logger = logging.getLogger("hyphal.http")
_CLOSED, _OPEN, _HALF_OPEN = "closed", "open", "half-open"


class PoolExhausted(HyphalError):
    """No handler context became free in time (or the breaker is open): answer 503 and tell
    the client to retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"handler pool exhausted; retry after {retry_after}s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class HandlerPoolStatistics:
    size: int
    in_use: int
    waiting: int
    requests: int
    exhausted: int
    discarded: int
    wait_seconds_total: float
    wait_seconds_max: float
    exec_seconds_total: float
    exec_seconds_max: float
    breaker: str


class HandlerPool:
    """``size`` contexts made by ``factory`` (see the module docstring)."""

    def __init__(self, factory: Callable[[], HandlerContext], size: int, *,
                 wait_timeout: float = 1.0, metrics_every: int = 0, trip_after: int = 5,
                 cooldown: float = 0.5, max_cooldown: float = 10.0) -> None:
        if size < 1:
            raise ValueError(f"the pool needs at least one context, got size={size}")
        self._factory = factory
        self.size = size
        self._free: list[HandlerContext] = [factory() for _ in range(size)]
        self._waiters: deque[asyncio.Future[HandlerContext]] = deque()
        self.wait_timeout = wait_timeout
        self.metrics_every = metrics_every
        self._flush_at = metrics_every if metrics_every > 0 else 4096
        self._trip_after = trip_after
        self._base_cooldown = cooldown
        self._cooldown = cooldown
        self._max_cooldown = max_cooldown
        self._breaker = _CLOSED
        self._open_until = 0.0
        self._consecutive = 0
        self._probing = False
        self._closed = False
        # window (since the last flush) and totals
        self._w_calls = self._w_exec = self._w_exec_max = self._w_wait = self._w_wait_max = 0
        self._w_exhausted = 0
        self._requests = self._exhausted = self._discarded = 0
        self._exec_total = self._exec_max = self._wait_total = self._wait_max = 0

    # -- acquire / release ---------------------------------------------------------------------

    def try_acquire(self) -> HandlerContext | None:
        """A free context at once, or ``None`` (then :meth:`acquire` waits)."""
        free = self._free
        return free.pop() if free else None

    async def acquire(self) -> HandlerContext:
        """Wait for a context (FIFO). Raises :class:`PoolExhausted` after ``wait_timeout`` or
        at once while the breaker is open."""
        ctx = self.try_acquire()
        if ctx is not None:
            return ctx
        now = time.monotonic()
        probe = False
        if self._breaker != _CLOSED:
            if now < self._open_until or self._probing:
                self._w_exhausted += 1
                raise PoolExhausted(self.retry_after())
            self._breaker = _HALF_OPEN
            self._probing = probe = True
        start = time.perf_counter_ns()
        waiter: asyncio.Future[HandlerContext] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.wait_timeout):
                ctx = await waiter
        except TimeoutError:
            self._on_exhausted(probe)
            raise PoolExhausted(self.retry_after()) from None
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release(waiter.result(), 0)
            raise
        finally:
            if probe:
                self._probing = False
        waited = time.perf_counter_ns() - start
        self._w_wait += waited
        if waited > self._w_wait_max:
            self._w_wait_max = waited
        self._consecutive = 0
        if self._breaker != _CLOSED:
            self._breaker = _CLOSED
            self._cooldown = self._base_cooldown
        return ctx

    def _on_exhausted(self, probe: bool) -> None:
        self._w_exhausted += 1
        self._consecutive += 1
        if probe or self._consecutive >= self._trip_after:
            if probe:
                self._cooldown = min(self._cooldown * 2, self._max_cooldown)
            self._breaker = _OPEN
            self._open_until = time.monotonic() + self._cooldown
            logger.warning("handler pool exhausted %d times in a row: failing fast for %.1fs "
                           "(raise -n or the handler's speed)", self._consecutive, self._cooldown)

    def retry_after(self) -> int:
        """Seconds a rejected client should wait: the breaker's remaining cool-down, at least 1."""
        if self._breaker == _OPEN:
            return max(1, math.ceil(self._open_until - time.monotonic()))
        return 1

    def release(self, ctx: HandlerContext, exec_ns: int) -> None:
        """Return ``ctx`` after a call that took ``exec_ns`` nanoseconds."""
        self._w_calls += 1
        self._w_exec += exec_ns
        if exec_ns > self._w_exec_max:
            self._w_exec_max = exec_ns
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(ctx)
                break
        else:
            self._free.append(ctx)
        if self._w_calls >= self._flush_at:
            self.flush(log=self.metrics_every > 0)

    def discard(self, ctx: HandlerContext, exec_ns: int = 0) -> None:
        """Close a broken ``ctx`` and put a fresh context in its place."""
        self._discarded += 1
        try:
            ctx.close()
        except Exception:  # pragma: no cover - a broken engine may fail to close
            logger.exception("closing a broken handler context failed")
        self.release(self._factory(), exec_ns)

    # -- metrics -------------------------------------------------------------------------------

    def metrics_line(self) -> str:
        calls = max(self._w_calls, 1)
        return (f"Pool metrics: in_use={self.in_use}/{self.size} "
                f"exhausted={self._w_exhausted} "
                f"avg_wait_us={self._w_wait // calls // 1000} "
                f"max_wait_us={self._w_wait_max // 1000} "
                f"avg_exec_us={self._w_exec // calls // 1000} "
                f"max_exec_us={self._w_exec_max // 1000}")

    def flush(self, *, log: bool = False) -> None:
        """Fold the current window into the totals (logging it first when ``log``)."""
        if log:
            logger.info(self.metrics_line())
        self._requests += self._w_calls
        self._exhausted += self._w_exhausted
        self._exec_total += self._w_exec
        self._wait_total += self._w_wait
        self._exec_max = max(self._exec_max, self._w_exec_max)
        self._wait_max = max(self._wait_max, self._w_wait_max)
        self._w_calls = self._w_exec = self._w_exec_max = self._w_wait = self._w_wait_max = 0
        self._w_exhausted = 0

    @property
    def in_use(self) -> int:
        return self.size - len(self._free)

    def statistics(self) -> HandlerPoolStatistics:
        """Running totals including the current window (which keeps counting toward the next
        log line)."""
        return HandlerPoolStatistics(
            self.size, self.in_use, len(self._waiters), self._requests + self._w_calls,
            self._exhausted + self._w_exhausted, self._discarded,
            (self._wait_total + self._w_wait) / 1e9,
            max(self._wait_max, self._w_wait_max) / 1e9,
            (self._exec_total + self._w_exec) / 1e9,
            max(self._exec_max, self._w_exec_max) / 1e9, self._breaker)

    def close(self) -> None:
        """Close every free context (busy ones are closed when the process exits)."""
        if self._closed:
            return
        self._closed = True
        for ctx in self._free:
            try:
                ctx.close()
            except Exception:  # pragma: no cover
                logger.exception("closing a handler context failed")
        self._free.clear()
