"""Statistics for actors, supervisors and actor systems (frozen snapshots)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["ActorStatistics", "LatencyRecorder", "SupervisorStatistics", "SystemStatistics"]


class LatencyRecorder:
    """Keeps a count, a sum, the maximum and the most recent ``window`` samples (seconds), from
    which percentiles are computed on demand. Recording costs an append."""

    __slots__ = ("count", "max", "recent", "total")

    def __init__(self, window: int = 1024) -> None:
        self.count = 0
        self.total = 0.0
        self.max = 0.0
        self.recent: deque[float] = deque(maxlen=window)

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        if seconds > self.max:
            self.max = seconds
        self.recent.append(seconds)

    def percentile(self, q: float) -> float:
        """The ``q`` quantile (0..1) of the recent samples; 0.0 when there are none."""
        if not self.recent:
            return 0.0
        ordered = sorted(self.recent)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True, slots=True)
class ActorStatistics:
    name: str
    state: str
    """``running``, ``restarting``, ``stopping`` or ``stopped``."""
    mailbox_depth: int
    """Messages queued and not yet taken by the actor."""
    processed: int
    """Messages handled without raising."""
    failed: int
    """Messages (or start-ups) that raised."""
    restarts: int
    dropped: int
    """Messages a bounded mailbox's overflow policy discarded (they went to dead letters)."""
    asks: int
    """Asks answered (with a reply or an error) and timed by their callers."""
    ask_latency_mean: float
    ask_latency_p50: float
    ask_latency_p99: float
    ask_latency_max: float
    """Ask round trips in seconds, as seen by the callers (p50/p99 over the last 1024)."""


@dataclass(frozen=True, slots=True)
class SupervisorStatistics:
    name: str
    strategy: str
    children: int
    restarts: int
    """Restarts this supervisor performed (each restarted child counts once)."""
    escalations: int


@dataclass(frozen=True, slots=True)
class SystemStatistics:
    actors_live: int
    actors_spawned: int
    actors_stopped: int
    messages_processed: int
    failures: int
    restarts: int
    escalations: int
    dead_letters: int
