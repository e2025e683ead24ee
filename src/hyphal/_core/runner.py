"""``hyphal.run``: start an event loop (uvloop when available), run ``main``, tear down cleanly."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from hyphal._core.config import LoopName, RuntimeConfig
from hyphal._core.stats import counters

__all__ = ["current_config", "loop_factory", "run", "to_thread"]

T = TypeVar("T")
logger = logging.getLogger("hyphal")
_config_var: contextvars.ContextVar[RuntimeConfig] = contextvars.ContextVar("hyphal_config")


def loop_factory(loop: LoopName) -> Callable[[], asyncio.AbstractEventLoop]:
    """The event-loop constructor for ``loop``: ``uvloop`` (``auto`` when importable) or asyncio.

    Raises ``RuntimeError`` naming the install command when ``uvloop`` is asked for but missing.
    """
    if loop in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if loop == "uvloop":
                raise RuntimeError(
                    "loop='uvloop' was asked for but uvloop is not installed: pip install uvloop"
                ) from None
        else:
            factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
            return factory
    return asyncio.new_event_loop


def current_config() -> RuntimeConfig:
    """The :class:`RuntimeConfig` of the running :func:`run` (defaults from the environment
    outside of it)."""
    try:
        return _config_var.get()
    except LookupError:
        return RuntimeConfig.from_env()


def run(
    main: Callable[..., Awaitable[T]],
    *args: Any,
    loop: LoopName | None = None,
    debug: bool | None = None,
    config: RuntimeConfig | None = None,
) -> T:
    """Run ``main(*args)`` to completion on a fresh event loop and return its result.

    Like ``asyncio.run``: remaining tasks are cancelled, async generators and the default
    executor are shut down, and the loop is closed. ``loop`` is ``"auto"`` (uvloop when
    importable), ``"uvloop"`` or ``"asyncio"``; unset arguments come from ``config`` or the
    ``HYPHAL_*`` environment variables (see :class:`RuntimeConfig`).
    """
    given: object = main
    if isinstance(given, Coroutine):
        given.close()
        raise TypeError("run() takes an async function and its arguments: run(main, *args)")
    base = config if config is not None else RuntimeConfig.from_env()
    cfg = RuntimeConfig.from_env({}, loop=loop or base.loop,
                                 debug=base.debug if debug is None else debug,
                                 worker_threads=base.worker_threads, statistics=base.statistics)
    counters.track_channels = cfg.statistics

    async def _main() -> T:
        running = asyncio.get_running_loop()
        if cfg.worker_threads:
            running.set_default_executor(
                ThreadPoolExecutor(cfg.worker_threads, thread_name_prefix="hyphal-worker")
            )
        _config_var.set(cfg)
        return await main(*args)

    with asyncio.Runner(debug=cfg.debug, loop_factory=loop_factory(cfg.loop)) as runner:
        return runner.run(_main())


async def to_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run the blocking ``fn(*args, **kwargs)`` in the runtime's worker threads and await it.

    The context (contextvars) is carried into the thread. Cancelling the await does not stop
    the thread; its result is discarded.
    """
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    call = functools.partial(ctx.run, fn, *args, **kwargs)
    return await loop.run_in_executor(None, call)
