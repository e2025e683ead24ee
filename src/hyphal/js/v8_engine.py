"""The V8 engine (``mini-racer``): a JIT for compute-heavy scripts, the default of ``hyphal run``.

mini-racer runs the isolate on its own thread; an entry posts the source to it and waits for
the result on a queue (about 30 µs a round trip). :mod:`hyphal.js.v8_native` drives that
low-level path through the library directly (not mini-racer's Python package, which imports
asyncio and starts a loop thread per context), so that an entry is synchronous from any
thread and a time limit can be enforced by cancelling the task.

V8 is started with ``--allow-natives-syntax`` so that the prelude can run a microtask
checkpoint between macrotasks (``%PerformMicrotaskCheckpoint``), as node does. Isolates are
closed explicitly: mini-racer can hang at interpreter exit otherwise.
"""

from __future__ import annotations

import atexit
import json
import re
import threading
import weakref
from typing import Any, ClassVar

from hyphal.js import v8_native
from hyphal.js.abc import Engine, EngineName, Primitive
from hyphal.js.errors import JSError, JSLimitError, JSSyntaxError

__all__ = ["V8Engine"]

_FLAGS = v8_native.FLAGS
_init_lock = threading.Lock()
_initialised = False
_PARSE_LOCATION = re.compile(r"^(?:<anonymous>|[^:\n]*):(\d+): (SyntaxError: [^\n]*)")
_CHECKPOINT = ("globalThis.__hyphal_native_checkpoint = "
               "function () { %PerformMicrotaskCheckpoint(); };")


_live: weakref.WeakSet[V8Engine] = weakref.WeakSet()


def _close_all() -> None:
    """At interpreter exit, close isolates their owners forgot (mini-racer can hang else)."""
    for engine in list(_live):
        engine.close()


def _init() -> None:
    global _initialised
    with _init_lock:
        if not _initialised:
            v8_native.init(_FLAGS)
            atexit.register(_close_all)
            _initialised = True


class V8Engine(Engine):
    """A V8 isolate. See :class:`hyphal.js.abc.Engine`."""

    name: ClassVar[EngineName] = "v8"

    def __init__(self, *, memory_limit: int | None = None,
                 time_limit: float | None = None) -> None:
        super().__init__(memory_limit=memory_limit, time_limit=time_limit)
        _init()
        _live.add(self)
        self._ctx: v8_native.NativeContext | None = v8_native.NativeContext(_FLAGS)
        if memory_limit:
            self._ctx.set_hard_memory_limit(memory_limit)
        try:
            self._run(_CHECKPOINT, None)
        except JSError:  # V8 was started elsewhere without natives syntax: no checkpoint
            pass
        v8_native.release_read_only_pages()

    def eval(self, code: str, filename: str = "<eval>") -> Primitive:
        self.evals += 1
        if filename != "<eval>":
            code = f"{code}\n//# sourceURL={filename}"
        return self._run(code, filename)

    def call(self, function: str, *args: Primitive) -> Primitive:
        self.calls += 1
        return self._run(f"{function}({json.dumps(args)[1:-1]})", None)

    def run_jobs(self) -> None:
        """V8 drains microtasks at the end of every entry: nothing to do."""

    def memory_used(self) -> int:
        if self._ctx is None:
            return 0
        stats: dict[str, Any] = json.loads(self._ctx.heap_stats())
        return int(stats.get("used_heap_size", 0))

    def close(self) -> None:
        ctx, self._ctx = self._ctx, None
        if ctx is not None:
            ctx.close()

    def _run(self, code: str, filename: str | None) -> Primitive:
        ctx = self._ctx
        if ctx is None:
            raise JSError("the V8 context is closed")
        try:
            value = ctx.eval(code, self.time_limit)
        except v8_native.NativeV8Error as exc:
            if exc.kind in (v8_native.TERMINATED, v8_native.TIMEOUT):
                if exc.timed_out:
                    raise JSLimitError("time", f"script exceeded its time limit of "
                                               f"{self.time_limit} s (raise it with --timeout)"
                                       ) from None
                raise JSError("script execution was terminated") from None
            if exc.kind == v8_native.OOM:
                raise JSLimitError("memory", f"script exceeded its memory limit of "
                                             f"{self.memory_limit} bytes (raise it with "
                                             f"--max-memory)") from None
            if exc.kind == v8_native.PARSE:
                raise self._syntax_error(str(exc), filename) from None
            raise self._error(str(exc)) from None
        return value  # type: ignore[no-any-return]

    @staticmethod
    def _syntax_error(text: str, filename: str | None) -> JSSyntaxError:
        match = _PARSE_LOCATION.match(text)
        lines = text.split("\n")
        if match is None:
            return JSSyntaxError(lines[-1] or text, text)
        line, message = match.groups()
        column = ""
        if len(lines) > 2 and "^" in lines[2]:
            column = f":{lines[2].index('^') + 1}"
        where = f"{filename or '<eval>'}:{line}{column}"
        return JSSyntaxError(f"{message} ({where})", f"{message}\n    at {where}")

    @staticmethod
    def _error(text: str) -> JSError:
        # mini-racer prints "<file>:<line>: <message>\n<source line>\n<caret>\n\n<stack>"
        parts = text.split("\n\n", 1)
        stack = parts[1] if len(parts) == 2 else text
        stack = stack.strip("\n")
        return JSError(stack.split("\n", 1)[0], stack)
