"""What users touch first: the public names, the example app and ``hyphal bench kernel``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import hyphal

ROOT = Path(__file__).resolve().parents[2]
KERNEL_NAMES = ["Kernel", "Message", "NoRoute", "Subsystem", "RemoteError", "DeadLetter",
                "KernelStatistics", "LocalHub", "LocalTransport", "Transport",
                "current_message"]


def test_kernel_names_are_public_and_loaded_lazily() -> None:
    code = ("import sys, hyphal; assert 'hyphal.kernel' not in sys.modules; "
            "hyphal.Kernel; assert 'hyphal.kernel' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    for name in KERNEL_NAMES:
        assert getattr(hyphal, name) is not None
        assert name in dir(hyphal)
    assert issubclass(hyphal.NoRoute, hyphal.HyphalError)


def test_kernel_example_runs() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "kernel_app.py")],
                          capture_output=True, text=True, timeout=60, check=True)
    assert "profile 2: {'name': 'Grace'}" in done.stdout
    assert "Ada ordered lamp" in done.stdout
    assert "closest registered pattern is 'users://profile/{id:int}'" in done.stdout


def test_bench_kernel_smoke_reports_every_case(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    # a fresh process: the harness collects garbage between runs, slow in a big test process
    done = subprocess.run([sys.executable, "-m", "hyphal", "bench", "kernel", "--smoke",
                           "--json", str(out)], capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "hyphal bench kernel" in done.stdout
    suite = json.loads(out.read_text())["suites"][0]
    impls = {m["impl"] for m in suite["measurements"]}
    assert {"hyphal", "pyee EventEmitter.emit", "blinker Signal.send",
            "pyee AsyncIOEventEmitter", "hyphal, 10k routes"} <= impls
    cases = {m["case"] for m in suite["measurements"]}
    assert "route lookup, static path" in cases
    assert all(m["value"] > 0 for m in suite["measurements"])
    assert all(g["measured"] is not None for g in suite["goals"])
