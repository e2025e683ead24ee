"""Kernel statistics: frozen snapshots of per-route and per-subsystem counters.

Latency is kept as a base-2 histogram of nanoseconds: bucket ``b`` counts calls that took
``2**(b-1) <= ns < 2**b``. Reading the clock twice costs about as much as a small handler, so
one call in :data:`LATENCY_SAMPLE` per route is timed (the first one always): the histogram is
a sample, its percentiles are estimates, ``calls`` and ``errors`` are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KernelStatistics", "LatencyHistogram", "RouteStatistics", "SubsystemStatistics"]

BUCKETS = 64  # enough for any duration in ns
LATENCY_SAMPLE = 16
"""One call in this many (a power of two) is timed into a route's latency histogram."""


@dataclass(frozen=True, slots=True)
class LatencyHistogram:
    counts: tuple[int, ...]
    """``counts[b]``: sampled calls that took less than ``2**b`` ns (at least ``2**(b-1)``)."""

    @property
    def total(self) -> int:
        return sum(self.counts)

    def percentile(self, p: float) -> float:
        """An upper bound, in seconds, on the ``p``-th percentile (0-100); 0.0 when empty."""
        total = self.total
        if not total:
            return 0.0
        rank = p / 100 * total
        seen = 0
        for b, n in enumerate(self.counts):
            seen += n
            if seen >= rank and n:
                return (1 << b) / 1e9
        return (1 << (len(self.counts) - 1)) / 1e9


@dataclass(frozen=True, slots=True)
class RouteStatistics:
    pattern: str
    kind: str
    """``"route"`` or ``"subscription"``."""
    calls: int
    errors: int
    latency: LatencyHistogram


@dataclass(frozen=True, slots=True)
class SubsystemStatistics:
    name: str
    running: bool
    inbox_depth: int
    """Messages queued for the subsystem's workers right now."""
    inbox_capacity: int | None
    waiting_senders: int
    handled: int
    """Queued messages the workers finished (successfully or not)."""
    routes: int


@dataclass(frozen=True, slots=True)
class KernelStatistics:
    requests: int
    published: int
    dead_letters: int
    remote_sent: int
    routes: tuple[RouteStatistics, ...]
    subsystems: tuple[SubsystemStatistics, ...]

    def route(self, pattern: str) -> RouteStatistics:
        """The statistics of one pattern. Raises ``KeyError`` if it is not registered."""
        for r in self.routes:
            if r.pattern == pattern:
                return r
        raise KeyError(pattern)

    def subsystem(self, name: str) -> SubsystemStatistics:
        """The statistics of one subsystem. Raises ``KeyError`` if it is unknown."""
        for s in self.subsystems:
            if s.name == name:
                return s
        raise KeyError(name)
