"""The benchmark harness: measurement records, goals as ratios to peers, reports.

Absolute times on shared 2-core machines drift by up to 1.6x between runs, so every goal is a
*ratio* between two implementations measured in the same process run, one right after the
other. A case is measured ``repeat`` times, alternating implementations, and the best run
counts (the least disturbed one).
"""

from __future__ import annotations

import gc
import importlib
import json
import math
import platform
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["BenchContext", "Goal", "Measurement", "SuiteReport", "best_of", "run_suites"]

Better = Literal["higher", "lower"]


@dataclass(frozen=True, slots=True)
class Measurement:
    suite: str
    case: str
    impl: str
    value: float
    unit: str
    better: Better
    note: str = ""


@dataclass(frozen=True, slots=True)
class Goal:
    """``impl``'s value must be ``ratio`` times ``peer``'s (at least for ``higher``-is-better
    units, at most for ``lower``). ``ratio`` is always impl/peer of the raw values."""

    suite: str
    case: str
    impl: str
    peer: str
    ratio: float
    measured: float | None = None

    @property
    def met(self) -> bool | None:
        if self.measured is None or math.isnan(self.measured):
            return None
        return self.measured >= self.ratio if self._higher else self.measured <= self.ratio

    _higher: bool = True

    def describe(self) -> str:
        sign = ">=" if self._higher else "<="
        got = "n/a" if self.measured is None else f"{self.measured:.2f}x"
        mark = {True: "met", False: "MISSED", None: "not measured"}[self.met]
        return f"{self.case}: {self.impl}/{self.peer} {got} (goal {sign} {self.ratio}x) {mark}"


@dataclass(slots=True)
class SuiteReport:
    suite: str
    measurements: list[Measurement] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


class BenchContext:
    """Handed to a suite's ``run``; collects what it measures."""

    def __init__(self, suite: str, *, quick: bool, progress: Callable[[str], None],
                 smoke: bool = False) -> None:
        self.suite = suite
        self.quick = quick or smoke
        self.smoke = smoke
        """Tiny workloads that only prove the suite runs and reports (for the test suite)."""
        self._progress = progress
        self.report = SuiteReport(suite)

    def scale(self, full: int, quick: int) -> int:
        """An item count: ``full`` normally, ``quick`` under ``--quick``, a token amount in
        smoke mode."""
        if self.smoke:
            return max(1, quick // 200)
        return quick if self.quick else full

    def progress(self, text: str) -> None:
        self._progress(f"{self.suite}: {text}")

    def record(self, case: str, impl: str, value: float, unit: str, *,
               better: Better = "higher", note: str = "") -> None:
        self.report.measurements.append(
            Measurement(self.suite, case, impl, value, unit, better, note))

    def skip(self, what: str, why: str) -> None:
        """Say a peer or case could not run (missing package or binary) and how to get it."""
        self.report.skipped.append(f"{what}: {why}")

    def goal(self, case: str, impl: str, peer: str, ratio: float) -> None:
        """Declare that ``impl`` must reach ``ratio`` x ``peer`` on ``case`` (see :class:`Goal`)."""
        self.report.goals.append(Goal(self.suite, case, impl, peer, ratio))

    def value(self, case: str, impl: str) -> Measurement | None:
        for m in self.report.measurements:
            if m.case == case and m.impl == impl:
                return m
        return None

    def finish(self) -> SuiteReport:
        resolved = []
        for g in self.report.goals:
            a, b = self.value(g.case, g.impl), self.value(g.case, g.peer)
            measured = None
            higher = True
            if a is not None and b is not None and b.value:
                measured = a.value / b.value
                higher = a.better == "higher"
            resolved.append(Goal(g.suite, g.case, g.impl, g.peer, g.ratio, measured, higher))
        self.report.goals = resolved
        return self.report


def best_of(repeat: int, fns: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Run each measurement ``repeat`` times, interleaved, and keep each one's best (lowest)
    elapsed seconds. Interleaving spreads machine noise evenly over the implementations."""
    best = {name: math.inf for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            gc.collect()
            best[name] = min(best[name], fn())
    return best


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_suites(names: Iterable[str], *, quick: bool,
               progress: Callable[[str], None] = lambda _: None,
               smoke: bool = False) -> list[SuiteReport]:
    """Run the named suites in order and return their reports."""
    from hyphal.bench import SUITES

    reports = []
    for name in names:
        module = importlib.import_module(SUITES[name])
        ctx = BenchContext(name, quick=quick, progress=progress, smoke=smoke)
        start = time.perf_counter()
        module.run(ctx)
        report = ctx.finish()
        report.seconds = time.perf_counter() - start
        reports.append(report)
    return reports


def environment() -> dict[str, Any]:
    import os

    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def to_json(reports: list[SuiteReport]) -> str:
    data = {
        "environment": environment(),
        "suites": [
            {
                "suite": r.suite,
                "seconds": round(r.seconds, 3),
                "measurements": [asdict(m) for m in r.measurements],
                "goals": [
                    {"case": g.case, "impl": g.impl, "peer": g.peer, "goal": g.ratio,
                     "measured": g.measured, "met": g.met}
                    for g in r.goals
                ],
                "skipped": r.skipped,
            }
            for r in reports
        ],
    }
    return json.dumps(data, indent=2)
