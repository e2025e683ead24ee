"""Optional features around the handler, composed once at start-up so that a server without
them pays nothing per request: the Prometheus endpoint, CORS, static files, access logs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hyphal.http._request import Request
from hyphal.http._response import Response

if TYPE_CHECKING:
    from hyphal.http._server import Server

__all__ = ["install_features"]


def install_features(server: Server) -> None:
    """Set ``server.state.routes``, ``extra_headers`` and ``access_log`` from its config."""
    config = server.config
    state = server.state
    metrics_path = config.metrics_path
    metrics: Any = None
    cors: Any = None
    static: Any = None
    if metrics_path:
        from hyphal.http._metrics import MetricsEndpoint

        metrics = MetricsEndpoint(server)
        if metrics.directory:
            state.every_second.append(metrics.write_snapshot)
    if config.cors:
        from hyphal.http._cors import Cors

        cors = Cors(config.cors_origins)
        state.extra_headers = cors.headers_for
    if config.static_dir:
        from hyphal.http._static import StaticFiles

        static = StaticFiles(config.static_dir, cache_bytes=config.static_cache_bytes,
                             file_bytes=config.static_file_bytes)
    if not config.quiet:
        from hyphal.http._accesslog import access_logger

        state.access_log = access_logger(config.log_format)
    if metrics is None and cors is None and static is None:
        return

    def routes(request: Request) -> Response | None:
        if metrics is not None and request.path == metrics_path:
            return metrics.response()  # type: ignore[no-any-return]
        if cors is not None and request.method == "OPTIONS":
            preflight: Response | None = cors.preflight(request)
            if preflight is not None:
                return preflight
        if static is not None and (request.method == "GET" or request.method == "HEAD"):
            return static.lookup(request)  # type: ignore[no-any-return]
        return None

    state.routes = routes
