"""``hyphal serve``: run a handler file as an HTTP server."""

from __future__ import annotations

import functools
import gc
import logging
import os
import sys
import time
from dataclasses import replace

import click

from hyphal.http._config import Limits, ServerConfig, parse_size

__all__ = ["serve"]

_START = time.perf_counter()


def _size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command(context_settings={"help_option_names": ["--help"]})
@click.argument("handler")
@click.option("-p", "--port", default=3000, show_default=True, envvar="HYPHAL_PORT")
@click.option("-h", "--host", default="127.0.0.1", show_default=True, envvar="HYPHAL_HOST")
@click.option("-n", "--pool", "pool_size", default=8, show_default=True,
              help="Warm handler contexts.")
@click.option("-m", "--memory", "memory_limit", callback=_size, default=None,
              help="Memory limit per JS context (256k, 1m, ...).")
@click.option("--interface", type=click.Choice(["auto", "asgi"]), default="auto",
              show_default=True, help="asgi hosts module:app as an ASGI application.")
@click.option("--engine", default="quickjs", show_default=True, help="JS engine for .js.")
@click.option("--static", "static_dir", default=None, metavar="DIR",
              help="Serve files under DIR before calling the handler.")
@click.option("--static-cache", default="2m", show_default=True, callback=_size)
@click.option("--static-file-max", default="128k", show_default=True, callback=_size,
              help="Larger files are streamed from disk instead of cached.")
@click.option("--cors", is_flag=True, help="Answer CORS preflights and add CORS headers.")
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN",
              help="Allowed origin (repeatable); all origins when none is given.")
@click.option("-q", "--quiet", is_flag=True, help="No access log.")
@click.option("--log-format", type=click.Choice(["plain", "json"]), default="plain",
              show_default=True)
@click.option("--metrics", "metrics_path", default=None, metavar="PATH",
              help="Serve Prometheus metrics at PATH (e.g. /metrics).")
@click.option("--pool-metrics-every", default=0, metavar="N",
              help="Log a 'Pool metrics:' line every N requests (0: never).")
@click.option("--workers", default=1, show_default=True, help="Processes sharing the port.")
@click.option("--max-request-line", default=8192, show_default=True)
@click.option("--max-header-bytes", default=16384, show_default=True)
@click.option("--max-headers", default=100, show_default=True)
@click.option("--max-body", default="1m", show_default=True, callback=_size)
@click.option("--header-timeout", default=10.0, show_default=True)
@click.option("--body-timeout", default=30.0, show_default=True)
@click.option("--keepalive-timeout", default=5.0, show_default=True)
@click.option("--handler-timeout", default=30.0, show_default=True)
@click.option("--pool-wait-timeout", default=1.0, show_default=True)
@click.option("--shutdown-timeout", default=10.0, show_default=True)
def serve(handler: str, port: int, host: str, pool_size: int, memory_limit: int | None,
          interface: str, engine: str, static_dir: str | None, static_cache: int,
          static_file_max: int, cors: bool, cors_origins: tuple[str, ...], quiet: bool,
          log_format: str, metrics_path: str | None, pool_metrics_every: int, workers: int,
          max_request_line: int, max_header_bytes: int, max_headers: int, max_body: int,
          header_timeout: float, body_timeout: float, keepalive_timeout: float,
          handler_timeout: float, pool_wait_timeout: float, shutdown_timeout: float) -> None:
    """Serve HANDLER (handler.py, handler.js, or module:app with --interface asgi)."""
    limits = Limits(
        max_request_line=max_request_line, max_header_bytes=max_header_bytes,
        max_headers=max_headers, max_body=max_body, header_timeout=header_timeout,
        body_timeout=body_timeout, keepalive_timeout=keepalive_timeout,
        handler_timeout=handler_timeout, pool_wait_timeout=pool_wait_timeout,
        shutdown_timeout=shutdown_timeout)
    config = ServerConfig(
        handler=handler, host=host, port=port, pool_size=pool_size, memory_limit=memory_limit,
        interface=interface, engine=engine, static_dir=static_dir,
        static_cache_bytes=static_cache, static_file_bytes=static_file_max, cors=cors,
        cors_origins=cors_origins, quiet=quiet, log_format=log_format,
        metrics_path=metrics_path, pool_metrics_every=pool_metrics_every, workers=workers,
        limits=limits)
    _configure_logging(quiet)
    if os.environ.get("HYPHAL_WORKER"):  # started by the --workers supervisor
        config = replace(config, workers=1, reuse_port=True,
                         port=int(os.environ.get("HYPHAL_WORKER_PORT", port)))
    elif workers > 1:
        from hyphal.http._workers import supervise

        sys.exit(supervise(config, sys.argv[1:]))
    sys.exit(run_server(config))


def _configure_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger("hyphal")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    if quiet:
        logging.getLogger("hyphal.http.access").setLevel(logging.WARNING)


def process_age() -> float:
    """Seconds since this process started (from /proc on Linux, else since this import)."""
    try:
        with open("/proc/self/stat") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return time.perf_counter() - _START


def run_server(config: ServerConfig) -> int:
    """Run one server process until SIGTERM/SIGINT; the exit status."""
    import hyphal
    from hyphal.http._handlers import HandlerError
    from hyphal.http._server import Server

    log = logging.getLogger("hyphal.http")
    try:
        server = Server(config)
    except (HandlerError, ValueError, OSError) as exc:
        log.error("%s", exc)
        return 2

    def ready(srv: Server) -> None:
        from hyphal.http._workers import mark_ready

        mark_ready()
        gc.freeze()  # start-up objects never need collecting: keep them out of GC passes
        log.info("hyphal serve %s on http://%s:%d (pool %d, %s handler, ready %.0f ms after "
                 "process start)", config.handler, config.host, srv.port, config.pool_size,
                 srv.handler.kind, process_age() * 1000)

    try:
        hyphal.run(functools.partial(server.serve, signals=True, ready=ready))
    except HandlerError as exc:  # e.g. the ASGI app failed its lifespan startup
        log.error("%s", exc)
        return 2
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", config.host, config.port, exc)
        return 2
    return 0
