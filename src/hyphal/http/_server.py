"""The server: listening socket, per-second clock and timeout sweep, graceful shutdown.

:class:`Server` wires a :class:`~hyphal.http._config.ServerConfig` and a loaded handler into the
shared :class:`ServerState` every connection reads (limits, pool, pre-handler routes, the cached
``date`` header block). ``await server.serve()`` runs until SIGTERM/SIGINT (or
:meth:`Server.request_shutdown`), then stops accepting, closes idle connections, lets in-flight
requests finish for up to ``limits.shutdown_timeout`` seconds, and aborts what is left.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

from hyphal.http._config import ServerConfig
from hyphal.http._handlers import LoadedHandler, load_handler
from hyphal.http._pool import HandlerPool, HandlerPoolStatistics
from hyphal.http._protocol import HttpProtocol, _answerer
from hyphal.http._request import Request
from hyphal.http._response import Response
from hyphal.http._watchdog import SyncWatchdog

__all__ = ["Server", "ServerState"]

logger = logging.getLogger("hyphal.http")


_watchdog = SyncWatchdog(_answerer)
"""The process's watchdog for handler calls that never yield (see _watchdog.py)."""


def _date_block() -> bytes:
    return b"date: %s\r\nserver: hyphal\r\n" % formatdate(usegmt=True).encode("ascii")


class ServerState:
    """What every connection of one server shares."""

    def __init__(self, config: ServerConfig, pool: HandlerPool) -> None:
        self.config = config
        self.limits = config.limits
        self.pool = pool
        self.connections: set[HttpProtocol] = set()
        self.date_block = _date_block()
        self.now = time.monotonic()
        self.routes: Callable[[Request], Response | Any | None] | None = None
        self.extra_headers: Callable[[Request], bytes] | None = None
        self.access_log: Callable[[str, Request | None, int, int], None] | None = None
        self.every_second: list[Callable[[], None]] = []
        self._last_second = self.now

    def tick(self) -> None:
        self.now = now = time.monotonic()
        self.date_block = _date_block()
        for conn in list(self.connections):
            conn.check_timeouts(now)
        if self.every_second and now - self._last_second >= 1.0:
            self._last_second = now
            for fn in self.every_second:
                fn()


class Server:
    """An HTTP server for one handler (see the module docstring).

    Raises :class:`~hyphal.http._handlers.HandlerError` when the handler cannot be loaded and
    ``OSError`` when the address cannot be bound."""

    def __init__(self, config: ServerConfig, handler: LoadedHandler | None = None) -> None:
        self.config = config
        if handler is None:
            handler = load_handler(config.handler, engine=config.engine,
                                   memory_limit=config.memory_limit,
                                   time_limit=config.limits.handler_timeout,
                                   interface=config.interface)
        self.handler = handler
        self.pool = HandlerPool(handler.factory, config.pool_size,
                                wait_timeout=config.limits.pool_wait_timeout,
                                metrics_every=config.pool_metrics_every)
        self.state = ServerState(config, self.pool)
        self._server: asyncio.AbstractServer | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._watched = False  # the watchdog bounds this server's synchronous handler calls
        self.port = config.port
        from hyphal.http._features import install_features

        install_features(self)

    def _socket(self) -> socket.socket:
        host = self.config.host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.config.reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, self.config.port))
        sock.setblocking(False)
        return sock

    async def start(self, sock: socket.socket | None = None) -> None:
        """Bind and start accepting connections (``port`` tells the bound port)."""
        loop = asyncio.get_running_loop()
        sock = sock if sock is not None else self._socket()
        self.port = sock.getsockname()[1]
        if self.handler.lifespan is not None:  # the app is ready before the first request
            try:
                await self.handler.lifespan.startup()
            except BaseException:
                sock.close()
                raise
        state = self.state
        self._server = await loop.create_server(lambda: HttpProtocol(state), sock=sock,
                                                backlog=2048)
        self._ticker = loop.create_task(self._tick_forever())
        self._stop = asyncio.Event()
        if self.handler.kind in ("python", "asgi") and not self._watched:
            self._watched = _watchdog.acquire(self.config.limits.handler_timeout)

    async def _tick_forever(self) -> None:
        limits = self.config.limits
        interval = min(1.0, max(0.01, min(limits.header_timeout, limits.body_timeout,
                                          limits.keepalive_timeout) / 4))
        while True:
            await asyncio.sleep(interval)
            self.state.tick()

    def request_shutdown(self) -> None:
        """Ask :meth:`serve` to shut down gracefully (what SIGTERM/SIGINT do)."""
        if self._stop is not None:
            self._stop.set()

    async def serve(self, *, signals: bool = True,
                    ready: Callable[[Server], None] | None = None) -> None:
        """Start (unless started), run until shutdown is requested, then shut down."""
        if self._server is None:
            await self.start()
        assert self._stop is not None
        loop = asyncio.get_running_loop()
        installed = []
        if signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                try:
                    loop.add_signal_handler(sig, self.request_shutdown)
                    installed.append(sig)
                except (NotImplementedError, RuntimeError):  # pragma: no cover
                    pass
        if ready is not None:
            ready(self)
        try:
            await self._stop.wait()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            await self.shutdown()

    async def shutdown(self, timeout: float | None = None) -> None:
        """Stop accepting, close idle connections, wait up to ``timeout`` (default
        ``limits.shutdown_timeout``) for in-flight requests, then abort the rest."""
        timeout = self.config.limits.shutdown_timeout if timeout is None else timeout
        if self._server is not None:
            self._server.close()
        for conn in list(self.state.connections):
            conn.shutdown()
        deadline = time.monotonic() + timeout
        while self.state.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for conn in list(self.state.connections):
            conn.abort()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self._watched:
            self._watched = False
            _watchdog.release(self.config.limits.handler_timeout)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        if self.handler.lifespan is not None:
            await self.handler.lifespan.shutdown(max(timeout, 1.0))
        self.pool.close()

    def statistics(self) -> HandlerPoolStatistics:
        return self.pool.statistics()
