"""The QuickJS rejection tracker through :mod:`ctypes`: the pure-Python fallback of
:mod:`hyphal.js._speedups` (about 10 us an event instead of 0.2; see
:mod:`hyphal.js.quickjs_engine`)."""

from __future__ import annotations

import ctypes
from typing import Any

import _quickjs

__all__ = ["track_rejections"]


class _JSValue(ctypes.Structure):
    """QuickJS's ``JSValue`` on 64-bit platforms (no NaN boxing): a union and a tag."""

    _fields_ = [("u", ctypes.c_int64), ("tag", ctypes.c_int64)]


_TAG_INT, _TAG_OBJECT, _TAG_EXCEPTION = 0, -1, 6
_TRACKER_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, _JSValue, _JSValue, ctypes.c_bool,
                                 ctypes.c_void_p)
_api: dict[str, Any] = {}


def _load_api() -> dict[str, Any]:
    """For the pure-Python fallback: the C API functions the tracker uses, through ctypes, and
    the address of :func:`_on_rejection` (key ``tracker``)."""
    if not _api:
        lib = ctypes.CDLL(_quickjs.__file__)
        ptr, value = ctypes.c_void_p, _JSValue
        for name, args, res in (
            ("JS_SetHostPromiseRejectionTracker", [ptr, ptr, ptr], None),
            ("JS_GetGlobalObject", [ptr], value),
            ("JS_GetPropertyStr", [ptr, value, ctypes.c_char_p], value),
            ("JS_Call", [ptr, value, value, ctypes.c_int, ctypes.POINTER(value)], value),
            ("JS_GetException", [ptr], value),
            ("JS_FreeValue", [ptr, value], None),
        ):
            function = getattr(lib, name)
            function.argtypes, function.restype = args, res
            _api[name] = function
        _api["tracker"] = ctypes.cast(_tracker, ctypes.c_void_p).value
    return _api


def _on_rejection(ctx: int, promise: _JSValue, reason: _JSValue, handled: bool,
                  _opaque: int) -> None:
    """The tracker in Python, where :mod:`hyphal.js._speedups` is not built (about 10 us an
    event instead of 0.2): call ``__hyphal_rejection``, if the prelude defined it."""
    try:
        api = _api
        free = api["JS_FreeValue"]
        this = api["JS_GetGlobalObject"](ctx)
        tracker = api["JS_GetPropertyStr"](ctx, this, b"__hyphal_rejection")
        if tracker.tag == _TAG_OBJECT:
            args = (_JSValue * 3)(promise, _JSValue(1 if handled else 0, _TAG_INT), reason)
            result = api["JS_Call"](ctx, tracker, this, 3, args)
            if result.tag == _TAG_EXCEPTION:
                free(ctx, api["JS_GetException"](ctx))
            free(ctx, result)
        free(ctx, tracker)
        free(ctx, this)
    except BaseException:  # never let a Python error unwind through QuickJS
        pass


_tracker = _TRACKER_TYPE(_on_rejection)


def track_rejections(ctx: Any) -> None:
    """Report the promise rejections of ``ctx`` (a ``_quickjs.Context`` of the expected layout)
    to its prelude. Best effort: without the C API rejections are not tracked."""
    try:
        api = _load_api()
    except (OSError, AttributeError):
        return
    runtime = ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value
    if runtime:
        api["JS_SetHostPromiseRejectionTracker"](runtime, api["tracker"], None)
