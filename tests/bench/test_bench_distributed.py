"""The distributed suite runs against its own nats-server and reports its goals."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hyphal.cli import cli


def test_bench_distributed_smoke_reports(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(cli, ["bench", "distributed", "--smoke", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "hyphal bench distributed" in result.output
    data = json.loads(out.read_text())["suites"][0]
    assert {m["impl"] for m in data["measurements"]} == {"hyphal", "nats-py", "hyphal, 1 node"}
    assert all(m["value"] > 0 for m in data["measurements"])
    assert {g["case"] for g in data["goals"]} == {
        "send (publish) throughput, small dict body", "request round trip (p50)"}
    assert all(g["measured"] is not None for g in data["goals"])
