"""``hyphal nats`` and ``hyphal node``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import hyphal
from hyphal.cli import cli
from hyphal.kernel import Kernel
from hyphal.kernel.nats_server import accepting, nats_server_binary
from hyphal.testing import free_port

SRC = str(Path(hyphal.__file__).parent.parent)


def test_the_server_binary_comes_from_the_package() -> None:
    path = nats_server_binary()
    assert os.access(path, os.X_OK)
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    assert "nats-server" in out.stdout


def test_hyphal_nats_runs_a_server_a_kernel_can_use(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hyphal", "nats", "-p", str(port), "--store", str(tmp_path)],
        env={**os.environ, "PYTHONPATH": SRC}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)

    async def use() -> None:
        kernel = Kernel(f"nats://127.0.0.1:{port}")
        async with kernel:
            await kernel.send("jobs://x", 1, durable=True)  # JetStream is on

    try:
        deadline = time.monotonic() + 10
        while not accepting("127.0.0.1", port) and time.monotonic() < deadline:
            time.sleep(0.05)
        hyphal.run(use)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_node_refuses_an_app_without_a_kernel(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPHAL_TRANSPORT", "unset")  # `hyphal node` sets it for the app:
    monkeypatch.delenv("HYPHAL_TRANSPORT")           # restored after this test
    app = tmp_path / "empty_app.py"
    app.write_text("x = 1\n")
    result = CliRunner().invoke(cli, ["node", f"{app}", "--nats", "nats://127.0.0.1:1"])
    assert result.exit_code != 0
    assert "no hyphal.Kernel named 'kernel'" in result.output
    result = CliRunner().invoke(cli, ["node", str(tmp_path / "missing.py")])
    assert "no such file" in result.output
