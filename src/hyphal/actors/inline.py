"""Run an ``async def`` that never awaits as a plain function call.

An actor's ``receive`` is ``async def`` so that it *may* await; most never do (they update
state and return). Calling such a coroutine function still makes a coroutine object and
drives it, which costs about as much as the handler's own work. :func:`plain_twin` gives the
same function compiled as a plain one: its body, globals, closure and defaults, its code object
with the two instructions that make the coroutine (``RETURN_GENERATOR``, ``POP_TOP``) replaced
by no-ops. Calling it runs the body directly and returns its value (or raises its exception),
which is exactly what awaiting the coroutine would have given: a body without ``await``,
``async for``, ``async with`` or ``yield`` cannot suspend. One difference is patched by the
caller: a coroutine turns an escaping ``StopIteration`` into ``RuntimeError``.

Only CPython 3.11 to 3.13 with the expected prologue qualify; anything else (a wrapper, a
callable object, a body that awaits) gets None and the caller uses the coroutine.
"""

from __future__ import annotations

import dis
import inspect
import sys
import types
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["plain_twin"]

_SUSPENDING = frozenset(
    dis.opmap[name] for name in (
        "YIELD_VALUE", "SEND", "GET_AWAITABLE", "GET_AITER", "GET_ANEXT", "BEFORE_ASYNC_WITH",
        "END_ASYNC_FOR", "RETURN_GENERATOR", "ASYNC_GEN_WRAP", "END_SEND", "CLEANUP_THROW")
    if name in dis.opmap)
_SUPPORTED = sys.implementation.name == "cpython" and (3, 11) <= sys.version_info < (3, 14)
_twins: weakref.WeakKeyDictionary[
    types.FunctionType, tuple[types.CodeType, types.FunctionType | None]] = (
    weakref.WeakKeyDictionary())


def plain_twin(method: Callable[..., Any]) -> Callable[..., Any] | None:
    """For a bound method (or function) defined with ``async def`` whose body never awaits,
    the same body as a plain callable, bound the same way; else None."""
    func: Any = getattr(method, "__func__", method)
    if not _SUPPORTED or type(func) is not types.FunctionType:
        return None
    code, twin = _twins.get(func, (None, None))
    if code is not func.__code__:
        code = func.__code__
        twin = _compile_twin(func)
        _twins[func] = (code, twin)
    if twin is None:
        return None
    twin.__defaults__ = func.__defaults__  # they may have been reassigned since
    twin.__kwdefaults__ = func.__kwdefaults__
    if func is method:
        return twin
    return types.MethodType(twin, method.__self__)  # type: ignore[attr-defined]


def _compile_twin(func: types.FunctionType) -> types.FunctionType | None:
    code = func.__code__
    if not code.co_flags & inspect.CO_COROUTINE:
        return None
    raw = bytearray(code.co_code)
    start = _prologue(raw)
    if start < 0:
        return None
    nop = dis.opmap["NOP"]
    raw[start] = raw[start + 2] = nop
    raw[start + 1] = raw[start + 3] = 0
    if any(raw[i] in _SUSPENDING for i in range(0, len(raw), 2)):
        return None
    plain = code.replace(co_code=bytes(raw), co_flags=code.co_flags & ~inspect.CO_COROUTINE)
    twin = types.FunctionType(plain, func.__globals__, func.__name__, None, func.__closure__)
    twin.__qualname__ = func.__qualname__
    twin.__module__ = func.__module__
    twin.__doc__ = func.__doc__
    return twin


def _prologue(raw: bytearray) -> int:
    """The offset of the ``RETURN_GENERATOR; POP_TOP`` pair opening a coroutine's code (after
    the cell set-up instructions), or -1."""
    allowed_before = {dis.opmap.get("MAKE_CELL"), dis.opmap.get("COPY_FREE_VARS"),
                      dis.opmap.get("NOP")}
    for i in range(0, len(raw), 2):
        op = raw[i]
        if op == dis.opmap["RETURN_GENERATOR"]:
            return i if i + 2 < len(raw) and raw[i + 2] == dis.opmap["POP_TOP"] else -1
        if op not in allowed_before:
            return -1
    return -1
