"""``hyphal bench``: every capability measured side by side with what users would pick instead.

A suite is a module in :mod:`hyphal.bench.suites` exposing ``run(ctx: BenchContext) -> None``.
It records measurements with :meth:`BenchContext.record` and declares the issue's goals with
:meth:`BenchContext.goal`; the harness prints one table per suite with ratios and writes JSON.
"""

from hyphal.bench._harness import BenchContext, Goal, Measurement, SuiteReport, run_suites

SUITES: dict[str, str] = {
    "core": "hyphal.bench.suites.core",
    "http": "hyphal.bench.suites.http",
    "actors": "hyphal.bench.suites.actors",
    "streams": "hyphal.bench.suites.streams",
    "js": "hyphal.bench.suites.js",
    "kernel": "hyphal.bench.suites.kernel",
    "distributed": "hyphal.bench.suites.distributed",
}
"""Suite name -> module. ``all`` runs them in this order."""

__all__ = ["SUITES", "BenchContext", "Goal", "Measurement", "SuiteReport", "run_suites"]
