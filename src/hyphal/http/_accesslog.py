"""Access logs on the ``hyphal.http.access`` logger: one line per response, plain or JSON."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import orjson

from hyphal.http._request import Request

__all__ = ["access_logger"]

logger = logging.getLogger("hyphal.http.access")


def access_logger(fmt: str = "plain") -> Callable[[str, Request | None, int, int], None]:
    """A function ``log(remote, request, status, size)``; ``fmt`` is ``plain`` or ``json``.

    Raises ``ValueError`` for another format."""
    if fmt not in ("plain", "json"):
        raise ValueError(f"log format must be 'plain' or 'json', got {fmt!r}")
    info = logger.info

    def plain(remote: str, request: Request | None, status: int, size: int) -> None:
        if request is None:
            info('%s - "-" %d %d', remote or "-", status, size)
        else:
            info('%s - "%s %s HTTP/%s" %d %d', remote or "-", request.method, request.url,
                 request.http_version, status, size)

    def as_json(remote: str, request: Request | None, status: int, size: int) -> None:
        record = {"time": time.time(), "remote": remote, "status": status, "size": size}
        if request is not None:
            record.update(method=request.method, url=request.url,
                          http_version=request.http_version)
        info("%s", orjson.dumps(record).decode())

    return plain if fmt == "plain" else as_json
