"""Runtime configuration, with every field mirrored by a ``HYPHAL_*`` environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Literal

__all__ = ["LoopName", "RuntimeConfig"]

LoopName = Literal["auto", "uvloop", "asyncio"]
_LOOPS: tuple[str, ...] = ("auto", "uvloop", "asyncio")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """How :func:`hyphal.run` sets up the runtime.

    Each field ``f`` can be set in the environment as ``HYPHAL_<F>`` (``HYPHAL_LOOP=asyncio``,
    ``HYPHAL_DEBUG=1``, ``HYPHAL_WORKER_THREADS=8``, ``HYPHAL_STATISTICS=0``); explicit arguments
    to :func:`hyphal.run` win over the environment.
    """

    loop: LoopName = "auto"
    """``auto`` uses uvloop when it is importable, else asyncio's default loop."""
    debug: bool = False
    """asyncio debug mode: slow-callback warnings, never-awaited coroutine tracebacks."""
    worker_threads: int = 0
    """Threads for :func:`hyphal.to_thread`; 0 means ``min(32, cpu_count + 4)``."""
    statistics: bool = True
    """Register channels for :func:`hyphal.statistics`; per-object counters always run."""

    def __post_init__(self) -> None:
        if self.loop not in _LOOPS:
            raise ValueError(f"loop must be one of {', '.join(_LOOPS)}, not {self.loop!r}")
        if self.worker_threads < 0:
            raise ValueError(f"worker_threads must be >= 0, not {self.worker_threads}")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> RuntimeConfig:
        """Build a config from ``HYPHAL_*`` variables, then apply ``overrides`` (None = unset)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"HYPHAL_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = _parse(f.name, raw, f.type)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)  # type: ignore[arg-type]


def _parse(name: str, raw: str, annotation: object) -> object:
    text = raw.strip().lower()
    if annotation in (bool, "bool"):
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"HYPHAL_{name.upper()}={raw!r}: use 1/0, true/false, yes/no or on/off")
    if annotation in (int, "int"):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"HYPHAL_{name.upper()}={raw!r} is not a whole number") from None
    return text
