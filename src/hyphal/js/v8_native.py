"""A minimal binding to mini-racer's V8 library (``libmini_racer``), without its Python package.

``import py_mini_racer`` costs about 70 ms here (it imports asyncio, ssl, importlib.resources
...) and every ``MiniRacer`` starts an asyncio loop on a thread of its own. ``hyphal run``
only needs a handful of the library's C functions -- initialise V8, make a context, evaluate a
source, cancel it, read heap statistics, set a memory limit -- so this module loads the shared
library from the installed ``py_mini_racer`` package directory with :mod:`ctypes` and calls
them directly. That halves the cold start of ``hyphal run hello.js``.

Theory of operation. ``mr_eval`` posts the source to the isolate's own thread and returns a
task id; when the task ends the library calls the context's callback (on that thread) with the
task's callback id and a pointer to the result value. The callback only hands the pointer over;
the caller converts it (a primitive, or an error type with its message) and frees it with
``mr_free_value``. Where :mod:`hyphal.js._speedups` is built, the callback is its C
``v8_deliver`` and the callback id the address of the context's ``V8Mailbox``, which the
caller waits on without the GIL (about 10x faster per entry than a Python callback and a
queue, which stay as the fallback).

Raises :class:`NativeV8Error` (with the library's error kind) for script failures and
``OSError`` when the library cannot be found.

Unhandled rejections. mini-racer's C API does not expose V8's promise rejection callback, but
the library exports V8's own C++ API. :func:`_install_rejection_tracker` calls
``v8::Isolate::SetPromiseRejectCallback`` for each isolate (from the result callback, which runs
on the isolate's thread with the isolate entered); the callback forwards each event -- a promise
rejected with no handler, a handler added to such a promise later -- to the JavaScript function
``__hyphal_rejection(promise, event, reason)`` of the current context, which the prelude
defines (see ``prelude/runtime.js``). Locals the callback makes live in the HandleScope of the
V8 runtime function that reports the event. When a symbol is missing (another mini-racer
version), rejections are simply not tracked. The callback is C code from
:mod:`hyphal.js._speedups` where that is built; that version also gives each context a
sub-millisecond clock, ``__hyphal_hrtime()`` (V8's own clocks tick in whole milliseconds).
"""

from __future__ import annotations

import ctypes
import os
import queue
import sys
import threading

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["FLAGS", "NativeContext", "NativeV8Error", "init", "init_in_background",
           "release_read_only_pages"]

FLAGS = ("--single-threaded", "--allow-natives-syntax", "--max-semi-space-size=2")
"""V8's flags: ``--allow-natives-syntax`` lets the prelude run a microtask checkpoint; a young
generation of 2 MiB semi-spaces (V8's default grows to 16) keeps peak RSS near node's, with no
measurable cost on ``hyphal bench js``'s compute cases."""

# Result value kinds (mini-racer's ``MiniRacerTypes``).
_BOOL, _INT, _DOUBLE, _STR = 2, 3, 4, 5
PARSE, EXECUTE, OOM, TIMEOUT, TERMINATED = 201, 200, 202, 203, 204
_ERROR_KINDS = range(200, 207)


class _Union(ctypes.Union):
    _fields_ = [("value_ptr", ctypes.c_void_p), ("bytes_val", ctypes.POINTER(ctypes.c_char)),
                ("char_p_val", ctypes.c_char_p), ("int_val", ctypes.c_int64),
                ("double_val", ctypes.c_double)]


class _Value(ctypes.Structure):
    _fields_ = [("value", _Union), ("len", ctypes.c_size_t), ("type", ctypes.c_uint8)]
    _pack_ = 1


_Handle = ctypes.POINTER(_Value)
_CALLBACK_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_uint64, _Handle)


class _RejectMessage(ctypes.Structure):
    """``v8::PromiseRejectMessage``: (Local<Promise>, PromiseRejectEvent, Local<Value>)."""

    _fields_ = [("promise", ctypes.c_void_p), ("event", ctypes.c_int),
                ("value", ctypes.c_void_p)]


_REJECT_CALLBACK_TYPE = ctypes.CFUNCTYPE(None, _RejectMessage)
# V8's C++ API (Itanium-mangled names): name -> (argtypes, restype); "this" comes first.
_P = ctypes.c_void_p
_V8_API = {
    "current": ("_ZN2v87Isolate10GetCurrentEv", [], _P),
    "set_reject_callback": (
        "_ZN2v87Isolate24SetPromiseRejectCallbackEPFvNS_20PromiseRejectMessageEE", [_P, _P],
        None),
    "current_context": ("_ZN2v87Isolate17GetCurrentContextEv", [_P], _P),
    "global": ("_ZN2v87Context6GlobalEv", [_P], _P),
    "new_string": ("_ZN2v86String11NewFromUtf8EPNS_7IsolateEPKcNS_13NewStringTypeEi",
                   [_P, ctypes.c_char_p, ctypes.c_int, ctypes.c_int], _P),
    "get": ("_ZN2v86Object3GetENS_5LocalINS_7ContextEEENS1_INS_5ValueEEE", [_P, _P, _P], _P),
    "is_function": ("_ZNK2v85Value10IsFunctionEv", [_P], ctypes.c_bool),
    "new_number": ("_ZN2v86Number3NewEPNS_7IsolateEd", [_P, ctypes.c_double], _P),
    "call": ("_ZN2v88Function4CallENS_5LocalINS_7ContextEEENS1_INS_5ValueEEEiPS5_",
             [_P, _P, _P, ctypes.c_int, ctypes.POINTER(_P)], _P),
    # for the clock (C only)
    "new_function": ("_ZN2v88Function3NewENS_5LocalINS_7ContextEEEPFvRKNS_20FunctionCallbackInfo"
                     "INS_5ValueEEEENS1_INS_4DataEEEiNS_19ConstructorBehaviorENS_14SideEffectTypeE",
                     [_P, _P, _P, ctypes.c_int, ctypes.c_int, ctypes.c_int], _P),
    "set": ("_ZN2v86Object3SetENS_5LocalINS_7ContextEEENS1_INS_5ValueEEES5_", [_P, _P, _P, _P],
            ctypes.c_uint16),
}
_api: dict[str, Any] = {}
_mailbox: list[Any] = [None, None]
"""(address of the C result callback, the V8Mailbox type) where hyphal.js._speedups is built."""
_TRACKER_NAME = b"__hyphal_rejection"


class NativeV8Error(Exception):
    """A failed evaluation: ``kind`` is one of ``PARSE``, ``EXECUTE``, ``OOM``, ``TIMEOUT``,
    ``TERMINATED``; the message is the library's text (location, source line, stack).
    ``timed_out`` tells that the entry was cancelled for its time limit."""

    def __init__(self, kind: int, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.timed_out = False


_lock = threading.Lock()
_dll: Any = None
_released = False


def _library_dir() -> str:
    """The installed ``py_mini_racer`` package directory (found on ``sys.path`` without
    importing the package)."""
    for entry in sys.path:
        here = os.path.join(entry or ".", "py_mini_racer")
        if os.path.exists(os.path.join(here, "libmini_racer.so")):
            return here
    raise OSError("the V8 engine needs mini-racer: pip install mini-racer")


def init(flags: tuple[str, ...]) -> Any:
    """Load the library and start V8 with ``flags`` (once per process); return the library."""
    global _dll
    with _lock:
        if _dll is None:
            here = _library_dir()
            dll = ctypes.CDLL(os.path.join(here, "libmini_racer.so"))
            u64 = ctypes.c_uint64
            for name, args, res in (
                ("mr_init_v8", [ctypes.c_char_p, ctypes.c_char_p], None),
                ("mr_init_context", [_CALLBACK_TYPE], u64),
                ("mr_eval", [u64, _Handle, u64], u64),
                ("mr_free_value", [u64, ctypes.c_void_p], None),
                ("mr_alloc_string_val", [u64, ctypes.c_char_p, u64, ctypes.c_uint8], _Handle),
                ("mr_free_context", [u64], None),
                ("mr_cancel_task", [u64, u64], None),
                ("mr_heap_stats", [u64], ctypes.c_void_p),
                ("mr_set_hard_memory_limit", [u64, ctypes.c_size_t], None),
            ):
                function = getattr(dll, name, None)
                if function is None:
                    raise OSError(f"mini-racer's V8 library has no {name}: this binding was "
                                  "written against mini-racer 0.14; install that version")
                function.argtypes, function.restype = args, res
            dll.mr_init_v8(" ".join(flags).encode(),
                           os.path.join(here, "icudtl.dat").encode())
            _load_v8_api(dll)
            _dll = dll
        return _dll


def init_in_background(flags: tuple[str, ...] = FLAGS) -> None:
    """Start :func:`init` on a daemon thread: V8's one-time start (about 35 ms, without the
    GIL) then overlaps whatever the caller imports meanwhile. A failure is left for the next
    :func:`init` to raise."""

    def start() -> None:
        try:
            init(flags)
        except OSError:
            pass

    threading.Thread(target=start, name="hyphal-v8-init", daemon=True).start()


def _python_callback() -> tuple[Any, Callable[[float | None], int | None]]:
    """A context's result callback in Python and the caller's wait: (callback, wait(timeout)
    -> the result's address, or None after ``timeout`` seconds)."""
    results: queue.SimpleQueue[int] = queue.SimpleQueue()
    tracking = [False]

    def deliver(_task: int, raw: Any) -> None:  # on V8's thread: hand over, return at once
        if not tracking[0]:  # the first result: the isolate is entered on this thread
            tracking[0] = True
            _install_rejection_tracker()
        results.put(ctypes.cast(raw, ctypes.c_void_p).value or 0)

    def wait(timeout: float | None) -> int | None:
        try:
            return results.get(timeout=timeout)
        except queue.Empty:
            return None

    return _CALLBACK_TYPE(deliver), wait


class NativeContext:
    """One V8 context (its own isolate). Entries are synchronous; ``timeout`` cancels the
    running task after that many seconds (the result is then a ``TERMINATED`` error)."""

    def __init__(self, flags: tuple[str, ...]) -> None:
        self._dll = dll = init(flags)
        if _mailbox[0] is not None:  # the C callback (see the module docstring)
            deliver_address, mailbox_type = _mailbox
            box = mailbox_type()
            self._box = box  # kept alive as long as the context: V8's thread writes into it
            self._callback = _CALLBACK_TYPE(deliver_address)
            self._callback_id: int = box.address
            self._wait: Callable[[float | None], int | None] = box.wait
        else:
            self._callback, self._wait = _python_callback()
            self._callback_id = 0
        self._id: int = dll.mr_init_context(self._callback)

    def eval(self, code: str, timeout: float | None = None) -> Any:
        """Evaluate ``code``; return its value when primitive, else ``None``.

        Raises :class:`NativeV8Error`."""
        dll, ctx = self._dll, self._id
        data = code.encode("utf-8", "surrogatepass")
        source = dll.mr_alloc_string_val(ctx, data, len(data), _STR)
        try:
            task = dll.mr_eval(ctx, source, self._callback_id)
            raw = self._wait(timeout)
            timed_out = raw is None
            while raw is None:  # cancelled: the task still reports (a TERMINATED error)
                dll.mr_cancel_task(ctx, task)
                raw = self._wait(None)
        finally:
            dll.mr_free_value(ctx, ctypes.cast(source, ctypes.c_void_p))
        try:
            return self._take(raw)
        except NativeV8Error as exc:
            exc.timed_out = timed_out
            raise

    def heap_stats(self) -> str:
        """The isolate's heap statistics as JSON text."""
        return str(self._take(self._dll.mr_heap_stats(self._id)))

    def set_hard_memory_limit(self, limit: int) -> None:
        self._dll.mr_set_hard_memory_limit(self._id, limit)

    def close(self) -> None:
        """Free the context and its isolate. Idempotent."""
        if self._dll is not None:
            dll, self._dll = self._dll, None
            dll.mr_free_context(self._id)

    def _take(self, address: int) -> Any:
        value = _Value.from_address(address)
        try:
            kind, length = value.type, value.len
            if kind == _STR or kind in _ERROR_KINDS:
                text = value.value.bytes_val[0:length].decode("utf-8", "replace")
                if kind != _STR:
                    raise NativeV8Error(kind, text)
                return text
            if kind == _INT:
                return int(value.value.int_val)
            if kind == _DOUBLE:
                return float(value.value.double_val)
            if kind == _BOOL:
                return value.value.int_val == 1
            return None
        finally:
            self._dll.mr_free_value(self._id, address)


def _load_v8_api(dll: Any) -> None:
    """Bind the V8 C++ functions the rejection tracker needs (all or none), and choose the
    callback: the C one from :mod:`hyphal.js._speedups`, else :func:`_on_reject`."""
    functions = {}
    for key, (symbol, args, res) in _V8_API.items():
        function = getattr(dll, symbol, None)
        if function is None:
            return
        function.argtypes, function.restype = args, res
        functions[key] = function
    from hyphal.js.abc import c_speedups

    speedups = c_speedups()
    if speedups is not None:
        functions["callback"] = speedups.bind_v8([ctypes.cast(functions[key], _P).value
                                                  for key in _V8_API
                                                  if key != "set_reject_callback"])
        _mailbox[:] = [speedups.v8_mailboxes(
            ctypes.cast(functions["set_reject_callback"], _P).value), speedups.V8Mailbox]
    else:
        functions["callback"] = ctypes.cast(_reject_callback, _P).value
    _api.update(functions)


def _on_reject(message: _RejectMessage) -> None:
    """V8's promise rejection callback in Python (on the isolate's thread, inside JavaScript),
    where :mod:`hyphal.js._speedups` is not built: about 10 us an event instead of 0.2."""
    try:
        event = message.event
        if event > 1:  # kPromiseRejectAfterResolved / kPromiseResolveAfterResolved
            return
        api = _api
        isolate = api["current"]()
        context = api["current_context"](isolate)
        key = api["new_string"](isolate, _TRACKER_NAME, 0, -1)
        this = api["global"](context)
        tracker = api["get"](this, context, key) if key else None
        if not tracker or not api["is_function"](tracker):
            return  # no prelude in this context
        args = (_P * 3)(message.promise, api["new_number"](isolate, float(event)),
                        message.value if event == 0 else this)
        api["call"](tracker, context, this, 3, args)
    except BaseException:  # never let a Python error unwind through V8
        pass


_reject_callback = _REJECT_CALLBACK_TYPE(_on_reject)


def _install_rejection_tracker() -> None:
    """Report promise rejections of the current isolate to its prelude (on its thread)."""
    if _api:
        isolate = _api["current"]()
        if isolate:
            _api["set_reject_callback"](isolate, _api["callback"])


def release_read_only_pages() -> None:
    """Unmap the library's resident read-only data pages (its first, never writable segment:
    mostly the V8 startup snapshot, consumed once an isolate exists). They stay in the page
    cache and fault back in on use; the process's RSS drops by about 20 MiB. Once per process;
    best effort."""
    global _released
    if _dll is None or _released:
        return
    _released = True
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split()
                if (len(fields) == 6 and fields[5].endswith("/libmini_racer.so")
                        and fields[1] == "r--p" and int(fields[2], 16) == 0):
                    start, end = (int(x, 16) for x in fields[0].split("-"))
                    libc.madvise(start, end - start, 4)  # MADV_DONTNEED
    except (OSError, ValueError):
        pass
