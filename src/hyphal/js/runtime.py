"""Run a JavaScript program on hyphal's event loop: the host side of the loop bridge.

Theory of operation. A :class:`Runtime` owns one engine context with the prelude loaded. The
prelude keeps the JavaScript side of the event loop (timers, immediates, nextTick); the host
keeps time and I/O. After the main script (or module graph) has run, the host repeatedly

1. drains the *outbox* returned by the last entry: output to write, host operations to start
   (``fetch``), cancellations, an exit request;
2. waits -- on hyphal's running loop -- until the next timer is due or a host operation
   completes (not at all when immediates are ready);
3. calls ``__hyphal_step`` with the completed operations, which runs one loop iteration.

When nothing is pending (no referenced timer, no immediate, no operation) the program ends,
like node. ``hyphal run`` uses :meth:`Runtime.run_file_blocking`: the main script runs before any
event loop exists, and asyncio and hyphal's loop are imported and started only when the
program leaves work pending (a timer, an immediate, a fetch) -- ``console.log('hello')`` never
pays for them. Exit codes: ``process.exit(n)`` -> ``n``; an uncaught error, an unhandled
rejection (still unhandled once the microtask queue has drained, as in node; the engines report
rejections to the prelude, see the engine modules) or a breached limit -> 1 (the message names
the file and line, or the limit).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from hyphal.js.abc import Engine, EngineName, create_engine
from hyphal.js.errors import JSError, JSLimitError, JSSyntaxError
from hyphal.js.prelude import prelude_source

if TYPE_CHECKING:
    import asyncio

__all__ = ["Host", "Runtime", "drain", "load_prelude", "report_error"]


def _where(stack: str) -> str:
    """``file:line`` of the innermost frame in ``stack``, or ``""``."""
    m = re.search(r"\(?((?:/|file:|\[)[^\s()]*?):(\d+):(\d+)\)?", stack)
    return f"{m.group(1)}:{m.group(2)}" if m else ""


_MEMORY_REFRESH = 0.1


def _is_module(path: str, source: str) -> bool:
    """:func:`hyphal.js.modules.looks_like_module`, without importing the module linker (and
    compiling its patterns) for the common plain script."""
    if not path.endswith(".mjs") and not any(w in source for w in ("import", "export", "await")):
        return False
    from hyphal.js.modules import looks_like_module

    return looks_like_module(path, source)


def _memory(engine: Engine) -> dict[str, int]:
    used = engine.memory_used()
    return {"rss": _rss(), "heapUsed": used, "heapTotal": used}


def _rss() -> int:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class Host:
    """The host half of the loop bridge for one engine context: drains the outbox (output,
    host operations), runs microtask checkpoints the engine cannot run itself, and runs the
    JavaScript event loop on the running hyphal/asyncio loop (:meth:`run_loop`).

    With ``defer_ops`` host operations requested before :meth:`run_loop` starts wait for it
    (there is no running loop to start them on yet)."""

    def __init__(self, engine: Engine, stdout: TextIO, stderr: TextIO, *,
                 defer_ops: bool = False) -> None:
        self.engine = engine
        self.stdout = stdout
        self.stderr = stderr
        self._completions: list[list[Any]] = []
        self._wake: asyncio.Event | None = None
        self._ops: dict[int, asyncio.Task[None]] = {}
        self._deferred: dict[int, tuple[str, Any]] | None = {} if defer_ops else None

    def drive(self, state_json: Any) -> dict[str, Any]:
        """Handle the outbox of ``state_json``; while the engine asks for a microtask
        checkpoint, run the promise jobs and resume."""
        engine = self.engine
        while True:
            state: dict[str, Any] = json.loads(state_json)
            if state["o"]:
                self._handle_outbox(state["o"])
            if state["x"] is not None or not state["j"]:
                return state
            engine.run_jobs()
            state_json = engine.call("__hyphal_resume")

    async def run_loop(self, state: dict[str, Any],
                       until: Callable[[], bool] | None = None) -> dict[str, Any]:
        """Run the JavaScript event loop from ``state`` until the program exits, nothing is
        pending, or ``until()`` is true (checked after every iteration)."""
        import asyncio

        engine = self.engine
        if self._wake is None:
            self._wake = asyncio.Event()
        deferred, self._deferred = self._deferred, None
        for op_id, (kind, payload) in (deferred or {}).items():
            self._start_op(kind, op_id, payload)
        loop = asyncio.get_running_loop()
        memory_due = loop.time() + _MEMORY_REFRESH
        while state["x"] is None and not (until is not None and until()):
            if state["r"] or self._completions:
                await asyncio.sleep(0)
            elif (state["t"] >= 0 and state["k"]) or state["p"] or self._ops:
                await self._wait(state["t"] / 1000 if state["t"] >= 0 else None)
            elif until is not None:
                break
            else:
                return self.drive(engine.call("__hyphal_finish"))
            if loop.time() >= memory_due:  # keep process.memoryUsage() roughly current
                memory_due = loop.time() + _MEMORY_REFRESH
                engine.call("__hyphal_set_memory", json.dumps(_memory(engine)))
            completions, self._completions = self._completions, []
            state = self.drive(engine.call("__hyphal_step",
                                           json.dumps(completions) if completions else ""))
        return state

    def cancel_operations(self) -> None:
        for task in self._ops.values():
            task.cancel()
        self._ops.clear()

    async def _wait(self, timeout: float | None) -> None:
        import asyncio

        wake = self._wake
        assert wake is not None
        if self._completions:
            return
        wake.clear()
        if timeout is None:
            await wake.wait()
            return
        try:
            async with asyncio.timeout(timeout):
                await wake.wait()
        except TimeoutError:
            pass

    def _handle_outbox(self, outbox: list[list[Any]]) -> None:
        for message in outbox:
            kind = message[0]
            if kind == "w":
                (self.stdout if message[1] == 1 else self.stderr).write(message[2])
            elif kind == "c":
                if self._deferred is not None:
                    self._deferred.pop(message[1], None)
                task = self._ops.pop(message[1], None)
                if task is not None:
                    task.cancel()
            else:
                self._start_op(kind, message[1], message[2])
        self.flush()

    def _start_op(self, kind: str, op_id: int, payload: Any) -> None:
        if self._deferred is not None:
            self._deferred[op_id] = (kind, payload)
            return
        import asyncio
        import logging

        if kind == "f":
            from hyphal.js.fetch import perform_fetch

            coro = perform_fetch(payload)
        else:
            self._complete(op_id, False, {"message": f"unknown host operation {kind!r}"})
            return

        async def run() -> None:
            try:
                result = await coro
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # delivered to JavaScript as a rejection
                logging.getLogger("hyphal.js").debug("host operation %s %d failed: %r",
                                                     kind, op_id, exc)
                self._complete(op_id, False, {"message": str(exc) or type(exc).__name__,
                                              "name": type(exc).__name__})
            else:
                self._complete(op_id, True, result)
            finally:
                self._ops.pop(op_id, None)

        self._ops[op_id] = asyncio.get_running_loop().create_task(run())

    def _complete(self, op_id: int, ok: bool, value: Any) -> None:
        self._completions.append([op_id, ok, value])
        if self._wake is not None:
            self._wake.set()

    def flush(self) -> None:
        for stream in (self.stdout, self.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass


def load_prelude(engine: Engine, *, argv: list[str], env: dict[str, str],
                 main: str = "<input>", embedded: bool = False) -> None:
    """Evaluate the prelude in ``engine`` and configure ``process``; ``main`` names the main
    script in stacks where the engine cannot. ``embedded`` (handler contexts) reports uncaught
    errors and unhandled rejections on stderr without ending the program."""
    engine.eval(prelude_source(), "hyphal:prelude")
    engine.call("__hyphal_configure", json.dumps({
        "argv": argv, "env": env, "pid": os.getpid(), "cwd": os.getcwd(), "main": main,
        "platform": sys.platform, "memory": _memory(engine), "embedded": embedded,
    }))


class Runtime:
    """One JavaScript program on one engine context.

    ``stdout``/``stderr`` receive the program's console output (default: the process's).
    ``engine_factory`` hands over an already started engine (``hyphal run`` starts V8 on a
    thread while it imports the rest).
    Use :meth:`run_file` or :meth:`run_source` from inside a running hyphal/asyncio loop, or
    :meth:`run_file_blocking` / :meth:`run_source_blocking` without one; they return the exit
    code. The context is closed when they return.
    """

    def __init__(self, engine: EngineName = "v8", *, memory_limit: int | None = None,
                 time_limit: float | None = None, argv: list[str] | None = None,
                 stdout: TextIO | None = None, stderr: TextIO | None = None,
                 env: dict[str, str] | None = None,
                 engine_factory: Callable[[], Engine] | None = None) -> None:
        self.engine_name = engine
        self._engine_factory = engine_factory
        self.memory_limit = memory_limit
        self.time_limit = time_limit
        self.argv = list(argv or [])
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.env = dict(os.environ if env is None else env)

    async def run_file(self, path: str) -> int:
        """Run the script or module at ``path``; return the exit code."""
        loaded = self._read(path)  # a local script, read once at start
        if isinstance(loaded, int):
            return loaded
        source, path, module = loaded
        return await self.run_source(source, path, module=module)

    def run_file_blocking(self, path: str) -> int:
        """Like :meth:`run_file`, without a running loop: the main script runs at once, and
        :func:`hyphal.run` starts a loop only when the program leaves work pending."""
        loaded = self._read(path)
        if isinstance(loaded, int):
            return loaded
        source, path, module = loaded
        return self.run_source_blocking(source, path, module=module)

    async def run_source(self, source: str, filename: str = "[eval]", *,
                         module: bool = False) -> int:
        """Run ``source`` (a classic script, or an ES module when ``module``); return the exit
        code."""
        host = self._open(defer_ops=False)
        if isinstance(host, int):
            return host
        try:
            state = self._start(host, source, filename, module)
            if isinstance(state, int):
                return state
            return await self._loop(host, state)
        except JSLimitError as exc:
            return self._limit_hit(host, exc)
        finally:
            self._close(host)

    def run_source_blocking(self, source: str, filename: str = "[eval]", *,
                            module: bool = False) -> int:
        """Like :meth:`run_source`, without a running loop (see :meth:`run_file_blocking`)."""
        host = self._open(defer_ops=True)
        if isinstance(host, int):
            return host
        try:
            state = self._start(host, source, filename, module)
            if isinstance(state, int):
                return state
            if state["x"] is None and not (state["r"] or state["p"]
                                           or (state["t"] >= 0 and state["k"])):
                def finish() -> dict[str, Any]:
                    return host.drive(host.engine.call("__hyphal_finish"))

                state = self._guard(host, finish)
                return state if isinstance(state, int) else _exit_code(state)
            from hyphal._core.runner import run as hyphal_run

            return hyphal_run(self._loop, host, state)
        except JSLimitError as exc:
            return self._limit_hit(host, exc)
        finally:
            self._close(host)

    def _read(self, path: str) -> tuple[str, str, bool] | int:
        path = os.path.abspath(path)
        try:
            with open(path, encoding="utf-8") as f:
                source = f.read()
        except OSError as exc:
            self.stderr.write(f"hyphal: cannot open {path}: {exc.strerror}\n")
            return 1
        if source.startswith("#!"):
            source = "//" + source[2:]
        return source, path, _is_module(path, source)

    def _open(self, *, defer_ops: bool) -> Host | int:
        try:
            if self._engine_factory is not None:
                engine, self._engine_factory = self._engine_factory(), None
            else:
                engine = create_engine(self.engine_name, memory_limit=self.memory_limit,
                                       time_limit=self.time_limit)
        except (ImportError, OSError) as exc:
            self.stderr.write(f"hyphal: the {self.engine_name} engine is unavailable: {exc}\n")
            return 1
        return Host(engine, self.stdout, self.stderr, defer_ops=defer_ops)

    def _close(self, host: Host) -> None:
        host.cancel_operations()
        host.engine.close()
        host.flush()

    def _limit_hit(self, host: Host, exc: JSLimitError) -> int:
        host.flush()
        self.stderr.write(f"hyphal: {exc}\n")
        return 1

    def _start(self, host: Host, source: str, filename: str,
               module: bool) -> dict[str, Any] | int:
        """Load the prelude and run the main script; the loop state, or an exit code."""
        engine = host.engine
        script = [filename] if filename != "[eval]" else []

        def start() -> dict[str, Any]:
            load_prelude(engine, argv=[sys.executable, *script, *self.argv], env=self.env,
                         main=filename)
            if module:
                from hyphal.js.modules import link

                for mod in link(filename, source):
                    engine.eval(mod.code, mod.path)
                return host.drive(engine.call("__hyphal_start_modules", filename))
            engine.eval(f"{source}\n;__hyphal_main_ticks();", filename)
            return host.drive(engine.call("__hyphal_after_main"))

        return self._guard(host, start)

    async def _loop(self, host: Host, state: dict[str, Any]) -> int:
        try:
            state = await host.run_loop(state)
        except JSLimitError:
            drain(host)
            raise
        except JSError as exc:
            return self._failed(host, exc)
        return _exit_code(state)

    def _guard(self, host: Host,
               step: Callable[[], dict[str, Any]]) -> dict[str, Any] | int:
        """``step()``, with an uncaught JavaScript error turned into its exit code."""
        try:
            return step()
        except JSLimitError:
            drain(host)
            raise
        except JSError as exc:
            return self._failed(host, exc)

    def _failed(self, host: Host, exc: JSError) -> int:
        drain(host)
        try:
            code = host.engine.call("__hyphal_exit_code")
        except JSError:
            code = None
        if isinstance(code, int):  # process.exit() unwinding the main script
            return code
        host.flush()
        report_error(exc, self.stderr)
        return 1


def _exit_code(state: dict[str, Any]) -> int:
    code = state["x"]
    return int(code) if code is not None else 0


def drain(host: Host) -> None:
    """Write out what the program printed before an error stopped it (best effort: a context
    stopped by a limit may refuse to run even that)."""
    try:
        host.drive(host.engine.call("__hyphal_state"))
    except JSError:
        pass


def report_error(exc: JSError, stderr: TextIO) -> None:
    """Print an uncaught error like node: ``file:line``, then the stack."""
    stack = exc.js_stack.replace("hyphal:prelude", "node:internal")
    where = _where(stack)
    text = f"{where}\n{stack}" if where and not stack.startswith(where) else stack
    if isinstance(exc, JSSyntaxError):
        text = f"{exc}"
    stderr.write(text.rstrip("\n") + "\n")
