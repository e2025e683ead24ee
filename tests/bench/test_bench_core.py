"""The core benchmark suite runs end to end and reports (tiny workloads; no time asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hyphal.cli import cli


def test_bench_core_smoke_reports_table_json_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    png = tmp_path / "bench.png"
    result = CliRunner().invoke(
        cli, ["bench", "core", "--smoke", "--json", str(out), "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert "hyphal bench core" in result.output
    assert "asyncio.Queue" in result.output
    data = json.loads(out.read_text())
    suite = data["suites"][0]
    assert suite["suite"] == "core"
    impls = {m["impl"] for m in suite["measurements"]}
    assert {"hyphal Channel", "asyncio.Queue", "anyio memory stream", "janus",
            "hyphal ThreadChannel", "asyncio.TaskGroup"} <= impls
    assert all(m["value"] >= 0 for m in suite["measurements"])
    assert all(g["measured"] is not None for g in suite["goals"])
    assert png.stat().st_size > 1000


def test_unknown_suite_is_refused() -> None:
    result = CliRunner().invoke(cli, ["bench", "nosuch"])
    assert result.exit_code != 0
    assert "nosuch" in result.output
