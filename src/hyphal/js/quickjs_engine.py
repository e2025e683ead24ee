"""The QuickJS engine (``quickjs-ng``, import name ``quickjs``): small, fast to start, cheap calls.

Calls go straight into C on the calling thread (a few hundred ns per call), which is what
makes QuickJS the default for HTTP handlers. Limits: ``set_time_limit`` bounds the CPU time of
each entry; ``set_memory_limit`` bounds the runtime's heap. QuickJS reports every script as
``<input>``; the engine substitutes the file name it was given.

Function calls (:meth:`QuickJSEngine.call`, :meth:`QuickJSEngine.function`) go through
:mod:`hyphal.js._speedups` where that is built: the same call as the binding's, with the time
limit checked against a monotonic deadline (wall time) instead of the binding's per-entry
``clock()`` system call. Evaluations and promise jobs go through the binding. Each context
also gets ``__hyphal_json``, the native serializer behind ``Response.json``.

Unhandled rejections. The binding does not expose QuickJS's promise rejection tracker, but its
extension module exports the whole QuickJS C API, so :func:`_track_rejections` registers one on
the context's runtime (the binding's ``Context`` object keeps its ``JSRuntime *`` right after
the Python object header): C code from :mod:`hyphal.js._speedups`, else a :mod:`ctypes`
callback (:mod:`hyphal.js.quickjs_ctypes`). The tracker forwards each event -- a promise
rejected with no handler, a handler added to such a promise later -- to the prelude's
``__hyphal_rejection(promise, event, reason)``.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import _quickjs

from hyphal.js.abc import Engine, EngineName, Primitive, c_speedups
from hyphal.js.errors import JSError, JSLimitError, JSSyntaxError

__all__ = ["QuickJSEngine"]

_STACK_SIZE = 4 * 1024 * 1024


# sizeof the binding's Context object (quickjs-ng 0.17): header, JSRuntime *, JSContext *, ...
_CONTEXT_SIZE = 80


def _fast_path() -> Any:
    """:mod:`hyphal.js._speedups` set up for this binding, or None (not built, or another
    binding's layout)."""
    if not _fast:
        speedups = c_speedups()
        if speedups is not None and _quickjs.Context.__basicsize__ == _CONTEXT_SIZE:
            try:
                speedups.quickjs_setup(_quickjs.__file__, _quickjs.JSException,
                                       _quickjs.StackOverflow)
            except (OSError, TypeError):
                speedups = None
        _fast.append(speedups)
    return _fast[0]


_fast: list[Any] = []


def _track_rejections(ctx: Any) -> None:
    """Report the promise rejections of ``ctx`` (a ``_quickjs.Context``) to its prelude. Best
    effort: without the C API (another binding) rejections are not tracked."""
    if type(ctx).__basicsize__ != _CONTEXT_SIZE:  # not the layout this was written for
        return
    fast = _fast_path()
    if fast is not None:
        fast.quickjs_track(ctx)
    else:
        from hyphal.js.quickjs_ctypes import track_rejections

        track_rejections(ctx)


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
        try:
            value = self.function(function)(*args)
        except _quickjs.JSException as exc:
            raise self._convert(exc, self._filename) from None
        return None if isinstance(value, _quickjs.Object) else value

    def function(self, name: str) -> Any:
        """A C callable: :mod:`hyphal.js._speedups`'s call with the time limit bound, or the
        binding's own function object."""
        fn = self._functions.get(name)
        if fn is None:
            if self._ctx is None:
                raise JSError("the QuickJS context is closed")
            fn = self._ctx.get(name)
            fast = _fast_path()
            if fast is not None and isinstance(fn, _quickjs.Object):
                fn = functools.partial(fast.quickjs_call, fn, float(self.time_limit or 0))
            self._functions[name] = fn
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
