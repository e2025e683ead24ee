"""The handler timeout for code that never yields to the event loop: a synchronous Python
handler, or the first step of an async one or of an ASGI app (up to its first ``await`` that
suspends).

Theory of operation
-------------------
Those calls run on the event loop's thread, so no timer of the loop can fire while they run.
The calls go through the process's answerer (``hyphal.http._protocol._answerer``, C or Python),
which counts the calls it starts (``calls``) and sets ``busy`` while one runs -- two stores per
request, the only cost on the hot path. A daemon thread wakes a few times per timeout period
and reads both: when the same call has been running for longer than the limit, it sends
``SIGUSR2`` to the process, and Python runs the handler installed here on the main thread,
between two bytecodes of whatever runs there. That handler decides on the main thread's own
state, so there is no race with the call ending: if the overdue call is still the one running,
it raises :class:`~hyphal.http._handlers.HandlerTimeout` into it, else it does nothing. The
server answers 504, logs the timeout and keeps serving.

``HandlerTimeout`` derives from ``BaseException``, so a handler's ``except Exception`` does not
swallow it; a handler that catches even that is signalled again at every wake-up. A blocking
system call that the signal interrupts (``time.sleep``, a socket read) raises at once
(PEP 475); one that restarts itself in C is stopped when it returns to Python.

Limits: Python runs signal handlers only on the main thread, so the watchdog runs only when
the server does (``hyphal serve`` always; an embedded server elsewhere keeps the old
behaviour, logged once). It needs ``SIGUSR2`` free: a program that installed its own handler
keeps it and gets no watchdog (logged). One process has one watchdog; when several servers
with different limits run in it, the smallest limit applies. Later steps of an async handler
(after an ``await``) are bounded by the loop's timeout instead.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType
from typing import Any

from hyphal.http._handlers import HandlerTimeout

__all__ = ["SyncWatchdog"]

logger = logging.getLogger("hyphal.http")
_SIGNAL = signal.SIGUSR2


class SyncWatchdog:
    """One per process, shared by the servers running in it: :meth:`acquire` with a server's
    limit when it starts, :meth:`release` when it stops (the last one stops the thread and
    gives the signal back)."""

    def __init__(self, answerer: Any) -> None:
        self._answerer = answerer
        self._limits: list[float] = []
        self._overdue = -1  # the call number the thread found overdue
        self._stop: threading.Event | None = None
        self._previous: Any = None

    @property
    def limit(self) -> float | None:
        return min(self._limits) if self._limits else None

    def acquire(self, limit: float) -> bool:
        """Watch calls with ``limit`` seconds; False when this thread or process cannot (see
        the module docstring; the reason is logged)."""
        if limit <= 0:
            return False
        if threading.current_thread() is not threading.main_thread():
            logger.warning("the server runs outside the main thread: a synchronous handler "
                           "cannot be stopped by the handler timeout there")
            return False
        if not self._limits:
            current = signal.getsignal(_SIGNAL)
            if current not in (signal.SIG_DFL, None):
                logger.warning("SIGUSR2 has a handler already: a synchronous handler cannot "
                               "be stopped by the handler timeout")
                return False
            self._previous = current
            signal.signal(_SIGNAL, self._on_signal)
            self._limits.append(limit)
            self._stop = threading.Event()
            threading.Thread(target=self._watch, args=(self._stop,), daemon=True,
                             name="hyphal-http-watchdog").start()
        else:
            self._limits.append(limit)
        return True

    def release(self, limit: float) -> None:
        self._limits.remove(limit)
        if not self._limits and self._stop is not None:
            self._stop.set()
            self._stop = None
            signal.signal(_SIGNAL, self._previous or signal.SIG_DFL)

    def _watch(self, stop: threading.Event) -> None:
        answerer = self._answerer
        seen, since = -1, 0.0
        while True:
            limit = self.limit
            if limit is None or stop.wait(min(0.25, max(0.01, limit / 4))):
                return
            calls, busy, now = answerer.calls, answerer.busy, time.monotonic()
            if not busy or calls != seen:
                seen, since = (calls if busy else -1), now
            elif now - since >= limit:
                self._overdue = calls
                signal.pthread_kill(threading.main_thread().ident or 0, _SIGNAL)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        answerer = self._answerer
        if answerer.busy and answerer.calls == self._overdue:
            raise HandlerTimeout(f"the handler ran longer than {self.limit} s")
