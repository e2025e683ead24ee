"""The QuickJS engine (``quickjs-ng``, import name ``quickjs``): small, fast to start, cheap calls.

Calls go straight into the C extension on the calling thread (about 0.4 µs per call), which is
what makes QuickJS the default for HTTP handlers. Limits: ``set_time_limit`` bounds the CPU time
of each entry; ``set_memory_limit`` bounds the runtime's heap. QuickJS reports every script as
``<input>``; the engine substitutes the file name it was given.

Unhandled rejections. The binding does not expose QuickJS's promise rejection tracker, but its
extension module exports the whole QuickJS C API, so :func:`_track_rejections` registers one
with :mod:`ctypes` on the context's runtime (the binding's ``Context`` object keeps its
``JSRuntime *`` right after the Python object header). The tracker forwards each event -- a
promise rejected with no handler, a handler added to such a promise later -- to the prelude's
``__hyphal_rejection(promise, event, reason)``; the tracker itself is C code from
:mod:`hyphal.js._speedups` where that is built.
"""

from __future__ import annotations

import ctypes
from typing import Any, ClassVar

import _quickjs

from hyphal.js.abc import Engine, EngineName, Primitive, c_speedups
from hyphal.js.errors import JSError, JSLimitError, JSSyntaxError

__all__ = ["QuickJSEngine"]

_STACK_SIZE = 4 * 1024 * 1024


class _JSValue(ctypes.Structure):
    """QuickJS's ``JSValue`` on 64-bit platforms (no NaN boxing): a union and a tag."""

    _fields_ = [("u", ctypes.c_int64), ("tag", ctypes.c_int64)]


_TAG_INT, _TAG_OBJECT, _TAG_EXCEPTION = 0, -1, 6
_TRACKER_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, _JSValue, _JSValue, ctypes.c_bool,
                                 ctypes.c_void_p)
# sizeof the binding's Context object (quickjs-ng 0.17): header, JSRuntime *, JSContext *, ...
_CONTEXT_SIZE = 80
_TRACKER_API = ("JS_GetGlobalObject", "JS_GetPropertyStr", "JS_Call", "JS_GetException",
                "JS_FreeValue")
_api: dict[str, Any] = {}


def _load_api() -> dict[str, Any]:
    """The C API functions the tracker uses, and the tracker's address (key ``tracker``):
    the C one from :mod:`hyphal.js._speedups`, else :func:`_on_rejection`."""
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
        speedups = c_speedups()
        if speedups is not None:
            _api["tracker"] = speedups.bind_quickjs(
                [ctypes.cast(_api[name], ctypes.c_void_p).value for name in _TRACKER_API])
        else:
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


def _track_rejections(ctx: Any) -> None:
    """Report the promise rejections of ``ctx`` (a ``_quickjs.Context``) to its prelude. Best
    effort: without the C API (another binding) rejections are not tracked."""
    if type(ctx).__basicsize__ != _CONTEXT_SIZE:  # not the layout this was written for
        return
    try:
        api = _load_api()
    except (OSError, AttributeError):
        return
    runtime = ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value
    if runtime:
        api["JS_SetHostPromiseRejectionTracker"](runtime, api["tracker"], None)


class QuickJSEngine(Engine):
    """A QuickJS context. See :class:`hyphal.js.abc.Engine`."""

    name: ClassVar[EngineName] = "quickjs"

    def __init__(self, *, memory_limit: int | None = None,
                 time_limit: float | None = None) -> None:
        super().__init__(memory_limit=memory_limit, time_limit=time_limit)
        ctx = _quickjs.Context()
        ctx.set_max_stack_size(_STACK_SIZE)
        if memory_limit:
            ctx.set_memory_limit(memory_limit)
        if time_limit:
            ctx.set_time_limit(time_limit)
        _track_rejections(ctx)
        self._ctx: Any = ctx
        self._functions: dict[str, Any] = {}
        self._filename = "<input>"

    def eval(self, code: str, filename: str = "<eval>") -> Primitive:
        self.evals += 1
        if filename != "<eval>":
            self._filename = filename
        try:
            value = self._ctx.eval(code)
        except _quickjs.JSException as exc:
            raise self._convert(exc, filename) from None
        return None if isinstance(value, _quickjs.Object) else value

    def call(self, function: str, *args: Primitive) -> Primitive:
        self.calls += 1
        fn = self._functions.get(function)
        if fn is None:
            fn = self._functions[function] = self._ctx.get(function)
        try:
            value = fn(*args)
        except _quickjs.JSException as exc:
            raise self._convert(exc, self._filename) from None
        return None if isinstance(value, _quickjs.Object) else value

    def function(self, name: str) -> Any:
        """The engine's own callable: no Python wrapper on the hot path."""
        fn = self._functions.get(name)
        if fn is None:
            fn = self._functions[name] = self._ctx.get(name)
        return fn

    def error(self, exc: Exception) -> JSError:
        if isinstance(exc, JSError):
            return exc
        return self._convert(exc, self._filename)

    def run_jobs(self) -> None:
        execute = self._ctx.execute_pending_job
        try:
            while execute():
                pass
        except _quickjs.JSException as exc:
            raise self._convert(exc, self._filename) from None

    def memory_used(self) -> int:
        if self._ctx is None:
            return 0
        return int(self._ctx.memory()["memory_used_size"])

    def close(self) -> None:
        self._functions.clear()
        self._ctx = None

    def _convert(self, exc: Exception, filename: str) -> JSError:
        text = str(exc).replace("<input>", filename)
        if isinstance(exc, _quickjs.StackOverflow) and "call stack" not in text:
            text = "RangeError: Maximum call stack size exceeded\n" + text
        first = text.split("\n", 1)[0]
        if first.startswith("InternalError: interrupted"):
            return JSLimitError("time", f"script exceeded its time limit of {self.time_limit} s "
                                        "(raise it with --timeout)")
        # Out of memory while building the exception leaves a null or uninitialized value.
        if self.memory_limit and ("out of memory" in first
                                  or first in ("[uninitialized]", "null")):
            return JSLimitError("memory", f"script exceeded its memory limit of "
                                          f"{self.memory_limit} bytes (raise it with --max-memory)")
        if first.startswith("SyntaxError"):
            location = text.split("\n")[1].strip() if "\n" in text else ""
            location = location.removeprefix("at ")
            return JSSyntaxError(f"{first} ({location})" if location else first, text)
        if text.endswith("\nundefined"):  # a thrown non-Error value has no stack
            text = "Uncaught " + text[: -len("\nundefined")]
            first = text
        return JSError(first, text.rstrip("\n"))
