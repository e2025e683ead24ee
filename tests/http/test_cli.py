"""``hyphal serve`` as users run it: real processes, signals, --workers restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hyphal.testing import free_port

ROOT = Path(__file__).resolve().parents[2]
PID_HANDLER = """
import os
from hyphal.http import Response

def handler(request):
    if request.path == "/crash":
        os._exit(3)
    return Response.text(str(os.getpid()))
"""


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT / "src"))


def _serve(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "hyphal", "serve", *args], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _get(port: int, path: str = "/", timeout: float = 2.0) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as resp:
        return resp.read()  # type: ignore[no-any-return]


def _wait(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            _get(port, "/", 0.5)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.02)
    raise AssertionError("server did not start")


@pytest.fixture
def pid_handler(tmp_path):
    path = tmp_path / "handler.py"
    path.write_text(PID_HANDLER)
    return str(path)


def test_serve_example_handler_and_sigterm_exits_cleanly():
    port = free_port()
    proc = _serve(str(ROOT / "examples" / "handler.py"), "-p", str(port))
    try:
        _wait(port, proc)
        assert _get(port, "/api/health") == b'{"status":"ok"}'
        assert _get(port, "/api/greet/ada") == b'{"greeting":"Hello, ada!"}'
        assert _get(port, "/api/ticks?n=3") == b"tick 0\ntick 1\ntick 2\n"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    log = err.decode()
    assert "ready" in log and "after process start" in log
    assert '"GET /api/health HTTP/1.1" 200' in log  # access log, not -q


def test_serve_example_js_handler():
    pytest.importorskip("hyphal.js.handler")
    port = free_port()
    proc = _serve(str(ROOT / "examples" / "handler.js"), "-p", str(port), "-q", "-n", "1")
    try:
        _wait(port, proc)
        assert _get(port, "/api/health") == b'{"status":"ok"}'
        assert _get(port, "/api/count") == b'{"visits":1}'
        assert _get(port, "/api/count") == b'{"visits":2}'
        assert _get(port, "/api/later") == b"waited 50 ms\n"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    assert proc.returncode == 0


def test_missing_handler_is_a_clear_error(tmp_path):
    proc = _serve(str(tmp_path / "nope.py"), "-p", str(free_port()))
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 2
    assert "handler file not found" in err.decode()


def test_handler_without_function_is_a_clear_error(tmp_path):
    path = tmp_path / "h.py"
    path.write_text("x = 1\n")
    proc = _serve(str(path), "-p", str(free_port()))
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 2
    assert "def handler(request)" in err.decode()


def test_workers_share_the_port_and_a_killed_worker_is_replaced(pid_handler):
    port = free_port()
    proc = _serve(pid_handler, "-p", str(port), "-q", "--workers", "2")
    try:
        _wait(port, proc)
        pids = {int(_get(port)) for _ in range(40)}
        deadline = time.monotonic() + 10
        while len(pids) < 2 and time.monotonic() < deadline:
            pids.add(int(_get(port)))
        assert len(pids) == 2
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 15
        seen: set[int] = set()
        while time.monotonic() < deadline and len(seen - {victim}) < 2:
            try:
                seen.add(int(_get(port)))
            except OSError:
                time.sleep(0.05)
        assert victim not in seen or len(seen) >= 2
        assert len(seen - pids) >= 1, "a replacement worker answers"
        with pytest.raises(OSError):
            _get(port, "/crash", 2)
        time.sleep(0.5)
        assert _get(port)  # still serving after a worker crashed mid-request
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert proc.returncode == 0


def test_workers_graceful_restart_on_sighup(pid_handler):
    port = free_port()
    proc = _serve(pid_handler, "-p", str(port), "-q", "--workers", "2")
    try:
        _wait(port, proc)
        before = {int(_get(port)) for _ in range(20)}
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        after: set[int] = set()
        while time.monotonic() < deadline:
            try:
                after = {int(_get(port)) for _ in range(10)}
            except OSError:
                continue
            if not after & before:
                break
            time.sleep(0.1)
        assert after and not after & before
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)


def test_limit_flags_reach_the_server():
    import socket

    port = free_port()
    proc = _serve(str(ROOT / "examples" / "handler.py"), "-p", str(port), "-q",
                  "--max-body", "10", "--max-headers", "3")
    try:
        _wait(port, proc)
        for data, status in ((b"POST /api/echo HTTP/1.1\r\nContent-Length: 11\r\n\r\n", b"413"),
                             (b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", b"431")):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(data)
                assert sock.recv(100).split(b" ")[1] == status
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
