"""hyphal http: a function-as-a-service HTTP/1.1 server (``hyphal serve handler.py``).

A Python handler is ``def handler(request)`` or ``async def handler(request)`` returning a
:class:`Response`; a JavaScript handler is ``function handler(request)`` returning
``Response.json(...)``. See :class:`Server` to embed the server in a program.
"""

from hyphal.http._config import Limits, ServerConfig
from hyphal.http._handlers import (
    ContextBroken,
    HandlerContext,
    HandlerError,
    LoadedHandler,
    load_handler,
    python_handler,
)
from hyphal.http._parser import ProtocolError, RequestParser
from hyphal.http._pool import HandlerPool, HandlerPoolStatistics, PoolExhausted
from hyphal.http._request import Request
from hyphal.http._response import Response
from hyphal.http._server import Server

__all__ = [
    "ContextBroken",
    "HandlerContext",
    "HandlerError",
    "HandlerPool",
    "HandlerPoolStatistics",
    "Limits",
    "LoadedHandler",
    "PoolExhausted",
    "ProtocolError",
    "Request",
    "RequestParser",
    "Response",
    "Server",
    "ServerConfig",
    "load_handler",
    "python_handler",
]
