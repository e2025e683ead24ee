"""Statistics for actors, supervisors and actor systems (frozen snapshots)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["ActorStatistics", "LatencyRecorder", "SupervisorStatistics", "SystemStatistics"]


class LatencyRecorder:
    """Keeps the most recent ``window`` samples (seconds); the mean, maximum and percentiles
    are computed over them on demand, so recording costs one ``deque.append``."""

    __slots__ = ("recent",)

    def __init__(self, window: int = 1024) -> None:
        self.recent: deque[float] = deque(maxlen=window)

    def percentile(self, q: float) -> float:
        """The ``q`` quantile (0..1) of the recent samples; 0.0 when there are none."""
        if not self.recent:
            return 0.0
        ordered = sorted(self.recent)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def mean(self) -> float:
        return sum(self.recent) / len(self.recent) if self.recent else 0.0

    def max(self) -> float:
        return max(self.recent, default=0.0)


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
    """Asks answered (with a reply or an error); the latencies run from the send to the
    answer."""
    ask_latency_mean: float
    ask_latency_p50: float
    ask_latency_p99: float
    ask_latency_max: float
    """Seconds from sending an ask to its answer, over the last 1024 answered asks."""


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
