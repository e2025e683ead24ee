"""The handler contract: Python functions and JS contexts behind one small interface.

A *handler context* is one warm instance of the user's handler: for JavaScript an engine context
whose module code already ran, for Python the loaded function (Python has no isolation, so every
context shares the module). The pool holds N contexts and hands one to each request::

    class HandlerContext(Protocol):
        def call(self, request: Request) -> Response | ResponseData | Awaitable[...]
        def close(self) -> None

A context whose engine stopped a call (time or memory limit, or an engine crash) raises
:class:`ContextBroken`; the pool discards it, builds a replacement, and the request is answered
with the error's status (504 for time, 500 otherwise).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from hyphal._core.errors import HyphalError
from hyphal.http._request import Request
from hyphal.http._response import Response, ResponseData

__all__ = ["ContextBroken", "HandlerContext", "HandlerError", "HandlerTimeout", "LoadedHandler",
           "load_handler", "python_handler"]

HandlerResult = Response | ResponseData


class HandlerError(HyphalError):
    """The handler could not be loaded (missing file, no ``handler`` function, syntax error)."""


class ContextBroken(HyphalError):
    """The context can no longer be used; the pool replaces it. ``status`` is what the request
    gets: 504 when a time limit stopped the call, 500 otherwise."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


class HandlerTimeout(BaseException):
    """Raised into a handler call that overran the handler timeout without yielding to the
    event loop (see ``_watchdog.py``); the request gets 504. A ``BaseException``, like
    ``KeyboardInterrupt``, so that a handler's ``except Exception`` does not swallow it."""


class HandlerContext(Protocol):
    def call(self, request: Request) -> HandlerResult | Awaitable[HandlerResult]: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class LoadedHandler:
    """A handler compiled once per process: ``factory()`` makes a warm context."""

    kind: str  # "python" | "js" | "asgi"
    source: str
    factory: Callable[[], HandlerContext]
    lifespan: Any = None
    """An object with ``async startup()`` and ``async shutdown(timeout)`` that the server runs
    around serving (an ASGI app's lifespan), or None."""


class PythonContext:
    """A Python handler function as a context (``call`` is the function itself: no wrapper
    frame on the hot path)."""

    __slots__ = ("call",)

    def __init__(self, fn: Callable[[Request], Any]) -> None:
        self.call = fn

    def close(self) -> None:
        return None


def load_python_handler(spec: str, attr: str = "handler") -> Callable[[Request], Any]:
    """Import ``path/to/file.py`` or ``package.module[:function]`` and return the handler.

    Raises :class:`HandlerError` when the file, module or function is missing."""
    if ":" in spec and not os.path.exists(spec):
        spec, attr = spec.rsplit(":", 1)
    if spec.endswith(".py") or os.sep in spec:
        path = os.path.abspath(spec)
        if not os.path.isfile(path):
            raise HandlerError(f"handler file not found: {spec}")
        name = f"hyphal_handler_{abs(hash(path))}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:  # pragma: no cover
            raise HandlerError(f"cannot load {spec} as a Python module")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        sys.path.insert(0, os.path.dirname(path))
        try:
            module_spec.loader.exec_module(module)
        finally:
            sys.path.remove(os.path.dirname(path))
    else:
        try:
            module = importlib.import_module(spec)
        except ImportError as exc:
            raise HandlerError(f"cannot import handler module {spec!r}: {exc}") from exc
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise HandlerError(f"{spec} has no function {attr!r}: define "
                           f"`def {attr}(request)` or `async def {attr}(request)`")
    return fn  # type: ignore[no-any-return]


def python_handler(fn: Callable[[Request], Any], name: str = "") -> LoadedHandler:
    """Wrap a Python function as a handler for :class:`~hyphal.http.Server` (embedding, tests)."""
    return LoadedHandler("python", name or getattr(fn, "__name__", "handler"),
                         lambda: PythonContext(fn))


def load_handler(spec: str, *, engine: str = "quickjs", memory_limit: int | None = None,
                 time_limit: float | None = None, interface: str = "auto") -> LoadedHandler:
    """Load a ``.js`` handler through :mod:`hyphal.js`, a Python handler, or (``interface=
    "asgi"``) an ASGI application.

    Raises :class:`HandlerError` when it cannot be loaded."""
    if interface == "asgi":
        from hyphal.http._asgi import load_asgi_app

        return load_asgi_app(spec)
    if spec.endswith((".js", ".mjs")):
        from hyphal.http._jshandler import load_js_handler

        return load_js_handler(spec, engine=engine, memory_limit=memory_limit,
                               time_limit=time_limit)
    fn = load_python_handler(spec)
    if inspect.isasyncgenfunction(fn):
        raise HandlerError("the handler is an async generator; return "
                           "Response.stream(chunks) from a regular (async) function instead")
    return python_handler(fn, spec)
