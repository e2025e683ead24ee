"""``hyphal run``: run a JavaScript file (or ``-e CODE``) like node.

The arguments are parsed by hand (not by click) so that ``hyphal run script.js`` can start
without importing click -- :func:`hyphal.cli.main` dispatches ``run`` here directly -- and so
that the script's own arguments pass through untouched.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hyphal.js.abc import Engine, EngineName

__all__ = ["RunConfig", "UsageError", "main", "parse_args", "parse_duration", "parse_size"]

USAGE = """\
Usage: hyphal run [OPTIONS] SCRIPT [ARGS]...
       hyphal run [OPTIONS] -e CODE [ARGS]...

  Run a JavaScript file (an ES module when it is .mjs or uses import/export) with
  Node-like globals: console, timers, fetch, process, URL, TextEncoder ...

Options:
  --engine [v8|quickjs]  JavaScript engine (default v8; env HYPHAL_JS_ENGINE)
  --max-memory SIZE      heap limit, e.g. 64m, 1g (env HYPHAL_MAX_MEMORY)
  --timeout DURATION     limit on each run of JavaScript code, e.g. 5s, 500ms
                         (env HYPHAL_TIMEOUT)
  -e, --eval CODE        evaluate CODE instead of a file
  --help                 show this message and exit
"""


class UsageError(Exception):
    """Bad command-line arguments; the message says what to change."""


def parse_size(text: str) -> int:
    """``64m`` -> bytes. Units: k, m, g (powers of 1024); a bare number is bytes."""
    t = text.strip().lower().removesuffix("b")
    scale = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}.get(t[-1:], 1)
    number = t[:-1] if t[-1:] in "kmg" else t
    try:
        value = int(float(number) * scale)
    except ValueError:
        raise UsageError(f"invalid size {text!r}: use a number with k, m or g, e.g. 64m") from None
    if value <= 0:
        raise UsageError(f"invalid size {text!r}: it must be positive")
    return value


def parse_duration(text: str) -> float:
    """``5s``/``500ms``/``2m``/``1.5`` -> seconds."""
    t = text.strip().lower()
    for suffix, scale in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
        if t.endswith(suffix):
            t, factor = t[: -len(suffix)], scale
            break
    else:
        factor = 1.0
    try:
        value = float(t) * factor
    except ValueError:
        raise UsageError(f"invalid duration {text!r}: use e.g. 5s or 500ms") from None
    if value <= 0:
        raise UsageError(f"invalid duration {text!r}: it must be positive")
    return value


@dataclass
class RunConfig:
    """``hyphal run``'s settings; flags map 1:1, defaults from ``HYPHAL_*`` variables."""

    script: str | None = None
    code: str | None = None
    args: list[str] = field(default_factory=list)
    engine: EngineName = "v8"
    max_memory: int | None = None
    timeout: float | None = None
    help: bool = False


def parse_args(argv: list[str], env: Mapping[str, str] | None = None) -> RunConfig:
    """Parse ``hyphal run``'s arguments. hyphal's options may come before or after the script;
    everything else (and everything after ``--``) goes to the script.

    Raises :class:`UsageError`.
    """
    if env is None:
        env = os.environ
    cfg = RunConfig()
    engine = env.get("HYPHAL_JS_ENGINE", "v8")
    if env.get("HYPHAL_MAX_MEMORY"):
        cfg.max_memory = parse_size(env["HYPHAL_MAX_MEMORY"])
    if env.get("HYPHAL_TIMEOUT"):
        cfg.timeout = parse_duration(env["HYPHAL_TIMEOUT"])
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, inline = arg.partition("=")
        if arg == "--":
            rest.extend(argv[i + 1:])
            break
        if name in ("--engine", "--max-memory", "--timeout", "-e", "--eval"):
            if eq:
                value = inline
            elif i + 1 < len(argv):
                i += 1
                value = argv[i]
            else:
                raise UsageError(f"option {name} needs a value")
            if name == "--engine":
                engine = value
            elif name == "--max-memory":
                cfg.max_memory = parse_size(value)
            elif name == "--timeout":
                cfg.timeout = parse_duration(value)
            else:
                cfg.code = value
        elif arg in ("--help", "-h") and cfg.script is None:
            cfg.help = True
        elif cfg.script is None and cfg.code is None and not rest:
            cfg.script = arg
        else:
            rest.append(arg)
        i += 1
    if engine not in ("v8", "quickjs"):
        raise UsageError(f"unknown engine {engine!r}: use v8 or quickjs")
    cfg.engine = engine  # type: ignore[assignment]
    cfg.args = rest
    if not cfg.help and cfg.script is None and cfg.code is None:
        raise UsageError("missing SCRIPT (or -e CODE)")
    return cfg


def _prestart_v8(cfg: RunConfig) -> Callable[[], Engine]:
    """Start V8 (about 35 ms) on a thread while the main thread imports the runtime; returns
    a function that hands over the engine. V8 contexts may be used from any thread."""
    box: list[Any] = []

    def start() -> None:
        try:
            from hyphal.js.abc import create_engine

            box.append(create_engine("v8", memory_limit=cfg.max_memory, time_limit=cfg.timeout))
        except BaseException as exc:  # re-raised on the main thread
            box.append(exc)

    thread = threading.Thread(target=start, name="hyphal-v8-start", daemon=True)
    thread.start()

    def take() -> Engine:
        thread.join()
        if isinstance(box[0], BaseException):
            raise box[0]
        engine: Engine = box[0]
        return engine

    return take


def main(argv: list[str], *, fast_exit: bool = False) -> int:
    """Run ``hyphal run ARGV``; return the process exit code. With ``fast_exit`` the process
    ends right after flushing output (skipping interpreter teardown, like node)."""
    try:
        cfg = parse_args(argv)
    except UsageError as exc:
        sys.stderr.write(f"{USAGE}\nError: {exc}\n")
        return 2
    if cfg.help:
        sys.stdout.write(USAGE)
        return 0
    engine_factory = _prestart_v8(cfg) if cfg.engine == "v8" else None
    from hyphal.js.runtime import Runtime

    runtime = Runtime(cfg.engine, memory_limit=cfg.max_memory, time_limit=cfg.timeout,
                      argv=cfg.args, engine_factory=engine_factory)
    try:
        if cfg.code is not None:
            code = runtime.run_source_blocking(cfg.code, "[eval]")
        else:
            assert cfg.script is not None
            code = runtime.run_file_blocking(cfg.script)
    except KeyboardInterrupt:
        code = 130
    if fast_exit:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _click_command() -> Any:
    import click

    @click.command("run", context_settings={"ignore_unknown_options": True,
                                            "allow_extra_args": True,
                                            "help_option_names": []},
                   help="Run a JavaScript file like node (see `hyphal run --help`).",
                   add_help_option=False)
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def run(args: tuple[str, ...]) -> None:
        sys.exit(main(list(args)))

    return run


def __getattr__(name: str) -> Any:
    if name == "run":
        command = _click_command()
        globals()["run"] = command
        return command
    raise AttributeError(name)
