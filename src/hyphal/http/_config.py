"""Server configuration: every limit and timeout, each configurable (``hyphal serve --help``)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Limits", "ServerConfig", "parse_size"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Protocol limits and timeouts (seconds). Each breach gets its status code:
    request line -> 414, header bytes or count -> 431, body -> 413, header or body read
    timeout -> 408 (connection closed), idle keep-alive -> closed silently, handler -> 504,
    pool wait -> 503 with ``Retry-After``.

    ``handler_timeout`` bounds every handler: async Python handlers and ASGI apps are cancelled
    where they await, JS handlers are stopped by their engine, and Python code that never
    yields -- a synchronous handler, the steps of an async one before its first ``await`` --
    is interrupted by a watchdog thread and a signal (``hyphal.http._watchdog``: the server
    must run on the main thread, and ``SIGUSR2`` must be free)."""

    max_request_line: int = 8192
    max_header_bytes: int = 16384
    max_headers: int = 100
    max_body: int = 1 << 20
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_timeout: float = 5.0
    handler_timeout: float = 30.0
    pool_wait_timeout: float = 1.0
    shutdown_timeout: float = 10.0
    max_pipelined: int = 64


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """What ``hyphal serve`` runs: one field per command-line flag."""

    handler: str = ""
    host: str = "127.0.0.1"
    port: int = 3000
    pool_size: int = 8
    memory_limit: int | None = None
    interface: str = "auto"
    engine: str = "quickjs"
    static_dir: str | None = None
    static_cache_bytes: int = 2 << 20
    static_file_bytes: int = 128 << 10
    cors: bool = False
    cors_origins: tuple[str, ...] = ()
    quiet: bool = False
    log_format: str = "plain"
    metrics_path: str | None = None
    pool_metrics_every: int = 0
    workers: int = 1
    reuse_port: bool = False
    limits: Limits = field(default_factory=Limits)


_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
          "g": 1 << 30, "gb": 1 << 30}


def parse_size(text: str) -> int:
    """``"256k"`` -> 262144; accepts b, k, kb, m, mb, g, gb (powers of 1024).

    Raises ``ValueError`` with the accepted forms."""
    t = text.strip().lower()
    digits = t.rstrip("kmgb")
    unit = t[len(digits):]
    try:
        value = float(digits)
    except ValueError:
        value = -1
    if value < 0 or unit not in _UNITS:
        raise ValueError(f"invalid size {text!r}: use a number with an optional unit, "
                         "e.g. 256k, 1m, 2mb")
    return int(value * _UNITS[unit])
