"""Errors the kernel raises; all are :class:`hyphal.HyphalError` subclasses."""

from __future__ import annotations

import builtins
import sys

from hyphal._core.errors import HyphalError

__all__ = ["NoRoute", "RemoteError", "error_message", "error_type_name", "rebuild_error"]


class NoRoute(HyphalError, LookupError):
    """No registered route matches a path. ``closest`` names the nearest registered pattern
    (``None`` when nothing at all is registered) -- usually the typo to fix."""

    def __init__(self, path: str, closest: str | None) -> None:
        hint = (f"; the closest registered pattern is {closest!r}" if closest
                else "; no routes are registered")
        super().__init__(f"no route matches {path!r}{hint}")
        self.path = path
        self.closest = closest


class RemoteError(HyphalError):
    """A handler in another kernel failed with an exception type this process cannot rebuild.
    ``type_name`` is its qualified name there, ``message`` its ``str()``."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message


def error_message(exc: BaseException) -> str:
    """The message that travels with a failure: the single string argument when there is one
    (so ``KeyError("k")`` travels as ``k``, not ``'k'``), else ``str(exc)``."""
    args = exc.args
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return str(exc)


def error_type_name(exc: BaseException) -> str:
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def rebuild_error(type_name: str, message: str) -> Exception:
    """The exception a remote handler raised, rebuilt from its type name and message.

    Builtins and classes from modules this process has already imported are rebuilt as that
    type (``cls(message)``); nothing is imported on a remote's say-so. Anything else becomes a
    :class:`RemoteError` carrying both parts."""
    module, _, qualname = type_name.rpartition(".")
    owner = builtins if not module else sys.modules.get(module)
    cls = getattr(owner, qualname, None) if owner is not None and "." not in qualname else None
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            exc = cls(message)
        except Exception:
            pass
        else:
            if error_message(exc) == message:
                return exc
    return RemoteError(type_name, message)
