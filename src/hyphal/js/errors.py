"""Errors raised by the JavaScript layer.

:class:`JSError` is a script's own failure (an uncaught exception, a rejected promise, a syntax
error): it carries the JavaScript stack text in ``js_stack``. :class:`JSLimitError` means a
context hit its memory or time limit; the context that raised it must be discarded.
"""

from __future__ import annotations

from hyphal._core.errors import HyphalError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from typing import Literal

__all__ = ["JSError", "JSLimitError", "JSSyntaxError"]


class JSError(HyphalError):
    """A JavaScript exception escaped to the host.

    ``str(error)`` is the first line (``TypeError: x is not a function``); ``js_stack`` is the
    whole stack as the engine printed it, with file names and lines.
    """

    def __init__(self, message: str, js_stack: str = "") -> None:
        super().__init__(message)
        self.js_stack = js_stack or message


class JSSyntaxError(JSError):
    """The source did not parse. The message names the file, line and column."""


class JSLimitError(JSError):
    """The script exceeded its ``memory`` or ``time`` limit and was stopped.

    The context is unusable afterwards; make a new one (raise the limit with ``--max-memory``
    or ``--timeout`` if the script legitimately needs more).
    """

    def __init__(self, limit: Literal["memory", "time"], message: str) -> None:
        super().__init__(message)
        self.limit: Literal["memory", "time"] = limit
