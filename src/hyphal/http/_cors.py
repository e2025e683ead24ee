"""CORS: answer preflight ``OPTIONS`` requests and add ``Access-Control-Allow-Origin``.

With no configured origins every origin is allowed (``*``); otherwise only the listed ones are
echoed back (with ``Vary: Origin``), and requests from other origins get no CORS headers, so the
browser blocks them.
"""

from __future__ import annotations

from hyphal.http._request import Request
from hyphal.http._response import Response

__all__ = ["Cors"]

_METHODS = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"


class Cors:
    def __init__(self, origins: tuple[str, ...] = (), *, max_age: int = 600) -> None:
        self.origins = frozenset(o.rstrip("/") for o in origins if o != "*")
        self.any = not self.origins
        self.max_age = max_age
        self._any_block = b"access-control-allow-origin: *\r\n"

    def allowed(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for ``origin``, or ``None``."""
        if origin is None:
            return None
        if self.any:
            return "*"
        return origin if origin in self.origins else None

    def headers_for(self, request: Request) -> bytes:
        """Header lines to add to a normal response."""
        if self.any:
            return self._any_block
        allow = self.allowed(request.headers.get("origin"))
        if allow is None:
            return b"vary: origin\r\n"
        return b"access-control-allow-origin: %s\r\nvary: origin\r\n" % allow.encode("latin-1")

    def preflight(self, request: Request) -> Response | None:
        """A ``204`` answer to a CORS preflight, or ``None`` when ``request`` is not one."""
        headers = request.headers
        if "access-control-request-method" not in headers or "origin" not in headers:
            return None
        if self.allowed(headers["origin"]) is None:
            return Response(b"", 403)
        reply = [("access-control-allow-methods", _METHODS),
                 ("access-control-max-age", str(self.max_age))]
        wanted = headers.get("access-control-request-headers")
        if wanted:
            reply.append(("access-control-allow-headers", wanted))
        return Response(b"", 204, reply)
