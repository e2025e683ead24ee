"""The actors and streams benchmark suites run end to end and report (tiny workloads; no time
asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hyphal.cli import cli


@pytest.mark.parametrize(("suite", "impls"), [
    ("actors", {"hyphal", "hyphal tell_batch", "asyncio actor", "pykka"}),
    ("streams", {"hyphal", "asyncio.Queue stages", "asyncio.Queue relay"}),
])
def test_bench_suite_smoke_reports(tmp_path: Path, suite: str, impls: set[str]) -> None:
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(cli, ["bench", suite, "--smoke", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert f"hyphal bench {suite}" in result.output
    data = json.loads(out.read_text())["suites"][0]
    assert {m["impl"] for m in data["measurements"]} == impls
    assert all(m["value"] > 0 for m in data["measurements"])
    assert data["goals"] and all(g["measured"] is not None for g in data["goals"])
