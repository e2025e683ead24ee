"""Runtime-wide counters behind :func:`hyphal.statistics`.

Hot paths never touch shared state: tasks bump plain integer attributes on one module-level
object, and channels count on themselves. :func:`statistics` sums live channels (kept in a
``WeakSet``) and the totals that garbage-collected channels handed over when they died.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["RuntimeStatistics", "counters", "register_channel", "set_task_counts", "statistics"]


class _Counters:
    __slots__ = (
        "cancellations",
        "channel_items_received",
        "channel_items_sent",
        "tasks_cancelled",
        "tasks_failed",
        "tasks_finished",
        "tasks_spawned",
        "track_channels",
    )

    def __init__(self) -> None:
        self.tasks_spawned = 0
        self.tasks_finished = 0
        self.tasks_failed = 0
        self.tasks_cancelled = 0
        self.cancellations = 0
        self.channel_items_sent = 0
        self.channel_items_received = 0
        self.track_channels = True


counters = _Counters()

_task_counts: Callable[[], tuple[int, int, int]] | None = None


def set_task_counts(source: Callable[[], tuple[int, int, int]]) -> None:
    """Add a source of (finished, failed, cancelled) task counts (the C task driver counts
    on its own, without touching ``counters``)."""
    global _task_counts
    _task_counts = source


class _CountsItems(Protocol):
    @property
    def items_sent(self) -> int: ...
    @property
    def items_received(self) -> int: ...


_live_channels: weakref.WeakSet[_CountsItems] = weakref.WeakSet()


def register_channel(state: _CountsItems) -> None:
    if counters.track_channels:
        _live_channels.add(state)


def retire_channel(sent: int, received: int) -> None:
    """Called from a channel's finaliser so its counts outlive it."""
    counters.channel_items_sent += sent
    counters.channel_items_received += received


@dataclass(frozen=True, slots=True)
class RuntimeStatistics:
    """A snapshot of the process-wide counters."""

    tasks_spawned: int
    tasks_running: int
    tasks_finished: int
    tasks_failed: int
    tasks_cancelled: int
    cancellations: int
    """Cancel scopes (including timeouts) that caught their own cancellation."""
    channels_live: int
    messages_sent: int
    """Items accepted by channels (sent, including items later dropped by an overflow policy)."""
    messages_received: int
    """Items handed to receivers."""


def statistics() -> RuntimeStatistics:
    """Return a snapshot of runtime-wide counters (tasks, cancellations, channel traffic)."""
    live = list(_live_channels)
    c = counters
    finished, failed, cancelled = c.tasks_finished, c.tasks_failed, c.tasks_cancelled
    if _task_counts is not None:
        more = _task_counts()
        finished, failed, cancelled = finished + more[0], failed + more[1], cancelled + more[2]
    return RuntimeStatistics(
        tasks_spawned=c.tasks_spawned,
        tasks_running=c.tasks_spawned - finished - failed - cancelled,
        tasks_finished=finished,
        tasks_failed=failed,
        tasks_cancelled=cancelled,
        cancellations=c.cancellations,
        channels_live=len(live),
        messages_sent=c.channel_items_sent + sum(s.items_sent for s in live),
        messages_received=c.channel_items_received + sum(s.items_received for s in live),
    )
