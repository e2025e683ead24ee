"""The Prometheus endpoint (``--metrics /metrics``): the pool figures of the log line, as
counters and gauges, summed over every worker process of the server.

Each worker writes its current figures to ``<dir>/<pid>.json`` when it is scraped and once per
second (``HYPHAL_METRICS_DIR``, set by the ``--workers`` supervisor); the worker that answers a
scrape adds up every live worker's file. With one process the directory is not needed.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import orjson

from hyphal.http._response import Response

if TYPE_CHECKING:
    from hyphal.http._server import Server

__all__ = ["MetricsEndpoint"]

_COUNTERS = {
    "requests": ("hyphal_http_pool_requests", "Handler calls completed"),
    "exhausted": ("hyphal_http_pool_exhausted", "Requests refused with 503: pool exhausted"),
    "discarded": ("hyphal_http_pool_contexts_discarded",
                  "Handler contexts replaced after breaching a limit"),
    "wait_seconds_total": ("hyphal_http_pool_wait_seconds", "Time spent waiting for a context"),
    "exec_seconds_total": ("hyphal_http_pool_exec_seconds", "Time spent in handler calls"),
}
_GAUGES = {
    "size": ("hyphal_http_pool_size", "Handler contexts in the pool"),
    "in_use": ("hyphal_http_pool_in_use", "Handler contexts busy now"),
    "waiting": ("hyphal_http_pool_waiting", "Requests waiting for a context"),
    "wait_seconds_max": ("hyphal_http_pool_wait_seconds_max", "Longest wait for a context"),
    "exec_seconds_max": ("hyphal_http_pool_exec_seconds_max", "Longest handler call"),
}


class MetricsEndpoint:
    def __init__(self, server: Server) -> None:
        from prometheus_client import CollectorRegistry

        self.server = server
        self.directory = os.environ.get("HYPHAL_METRICS_DIR")
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def snapshot(self) -> dict[str, Any]:
        data = asdict(self.server.statistics())
        data.pop("breaker", None)
        data["workers"] = 1
        return data

    def write_snapshot(self) -> None:
        """Publish this worker's figures for the others (no-op without a directory)."""
        if self.directory:
            path = os.path.join(self.directory, f"{os.getpid()}.json")
            tmp = path + ".tmp"
            with open(tmp, "wb") as fh:
                fh.write(orjson.dumps(self.snapshot()))
            os.replace(tmp, path)

    def totals(self) -> dict[str, float]:
        mine = self.snapshot()
        if not self.directory:
            return mine
        self.write_snapshot()
        totals: dict[str, float] = {}
        for path in glob.glob(os.path.join(self.directory, "*.json")):
            pid = int(os.path.basename(path).split(".")[0])
            if pid != os.getpid() and not _alive(pid):
                continue
            try:
                with open(path, "rb") as fh:
                    data = orjson.loads(fh.read())
            except (OSError, ValueError):
                continue
            for key, value in data.items():
                if key.endswith("_max"):
                    totals[key] = max(totals.get(key, 0.0), value)
                else:
                    totals[key] = totals.get(key, 0.0) + value
        return totals or mine

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        totals = self.totals()
        for key, (name, doc) in _COUNTERS.items():
            yield CounterMetricFamily(name, doc, value=totals.get(key, 0))
        for key, (name, doc) in _GAUGES.items():
            yield GaugeMetricFamily(name, doc, value=totals.get(key, 0))
        yield GaugeMetricFamily("hyphal_http_workers", "Worker processes reporting",
                                value=totals.get("workers", 1))

    def response(self) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(self.registry), 200, content_type=CONTENT_TYPE_LATEST)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    return True
