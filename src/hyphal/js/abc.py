"""The engine contract: what the runtime needs from a JavaScript engine.

An :class:`Engine` is one isolated JavaScript context (its own globals and heap) that the host
drives synchronously on one thread: it evaluates source, calls global functions with primitive
arguments, and runs pending promise jobs. Everything else -- console, timers, fetch, modules --
is engine-independent: the prelude (``prelude.js``) implements it in JavaScript and talks to
the host through an *outbox* that the host drains after each call (QuickJS refuses
JavaScript-to-Python calls while a time limit is set, so nothing ever calls back into Python).

Limits apply to each entry into the engine (each ``eval``/``call``): ``time_limit`` seconds of
execution, ``memory_limit`` bytes of heap. Breaching one raises :class:`JSLimitError`; the
engine must then be closed.

A context must be used from the thread that created it.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from hyphal._core.native import load_speedups
from hyphal.js.errors import JSError

__all__ = ["Engine", "EngineName", "EngineStatistics", "Primitive", "c_speedups",
           "create_engine"]

EngineName = Literal["quickjs", "v8"]
Primitive = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class EngineStatistics:
    engine: str
    calls: int
    evals: int
    memory_used: int


class Engine(ABC):
    """One JavaScript context. See the module docstring for the contract."""

    name: ClassVar[EngineName]

    def __init__(self, *, memory_limit: int | None = None,
                 time_limit: float | None = None) -> None:
        self.memory_limit = memory_limit
        self.time_limit = time_limit
        self.calls = 0
        self.evals = 0

    @abstractmethod
    def eval(self, code: str, filename: str = "<eval>") -> Primitive:
        """Run ``code`` as a classic script in the global scope; return its completion value
        when it is a primitive (``None`` otherwise). ``filename`` names the source in stacks
        and syntax errors.

        Raises :class:`~hyphal.js.errors.JSSyntaxError`, :class:`~hyphal.js.errors.JSError`,
        :class:`~hyphal.js.errors.JSLimitError`.
        """

    @abstractmethod
    def call(self, function: str, *args: Primitive) -> Primitive:
        """Call the global function named ``function`` with primitive arguments and return
        its primitive result. Raises like :meth:`eval`."""

    def function(self, name: str) -> Callable[..., Primitive]:
        """A callable for the global function ``name``, for hot paths (HTTP handlers). It may
        raise the engine's own exception types: convert them with :meth:`error`."""
        return functools.partial(self.call, name)

    def error(self, exc: Exception) -> JSError:
        """The hyphal error for an exception raised by a :meth:`function` callable."""
        return exc if isinstance(exc, JSError) else JSError(str(exc))

    @abstractmethod
    def run_jobs(self) -> None:
        """Run pending promise jobs until none is left (a microtask checkpoint). Engines that
        drain microtasks themselves at the end of every entry may do nothing."""

    @abstractmethod
    def memory_used(self) -> int:
        """Bytes of JavaScript heap in use."""

    @abstractmethod
    def close(self) -> None:
        """Free the context. Idempotent."""

    def statistics(self) -> EngineStatistics:
        return EngineStatistics(self.name, self.calls, self.evals, self.memory_used())

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def create_engine(name: EngineName, *, memory_limit: int | None = None,
                  time_limit: float | None = None) -> Engine:
    """A new context on the engine ``name`` (``"quickjs"`` or ``"v8"``).

    Raises ``ValueError`` for an unknown name and ``RuntimeError`` naming the package to install
    when the engine's library is missing.
    """
    if name == "quickjs":
        from hyphal.js.quickjs_engine import QuickJSEngine

        return QuickJSEngine(memory_limit=memory_limit, time_limit=time_limit)
    if name == "v8":
        from hyphal.js.v8_engine import V8Engine

        return V8Engine(memory_limit=memory_limit, time_limit=time_limit)
    raise ValueError(f"unknown JavaScript engine {name!r}: use 'quickjs' or 'v8'")


def c_speedups() -> Any:
    """:mod:`hyphal.js._speedups` (the engines' hooks in C), or None where it is not built or
    ``HYPHAL_PURE_PYTHON`` is set."""
    return load_speedups("hyphal.js")
