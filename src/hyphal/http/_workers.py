"""``--workers N``: N server processes on one port (SO_REUSEPORT) under a supervisor.

Theory of operation
-------------------
The supervisor does not serve: it starts N copies of the same ``hyphal serve`` command line
with ``HYPHAL_WORKER`` set (each then binds the port with ``SO_REUSEPORT`` and the kernel
spreads connections over them), and watches them:

* a worker that dies unexpectedly is restarted (at most ``max_restarts`` within ``window``
  seconds, then the supervisor gives up and exits 1 -- a crash loop is not hidden);
* SIGTERM/SIGINT are forwarded; each worker shuts down gracefully and the supervisor waits;
* SIGHUP is a graceful restart: N new workers start, and once each has reported ready the old
  ones are sent SIGTERM and drain their in-flight requests.

Workers report ready by creating ``ready-<pid>`` in a private directory that also holds their
metrics snapshots (``HYPHAL_METRICS_DIR``), so any worker's ``/metrics`` sums all of them.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from types import FrameType

from hyphal.http._config import ServerConfig

__all__ = ["mark_ready", "supervise"]

logger = logging.getLogger("hyphal.http.workers")


def mark_ready() -> None:
    """Called by a worker once it accepts connections."""
    directory = os.environ.get("HYPHAL_METRICS_DIR")
    if directory and os.environ.get("HYPHAL_WORKER"):
        with open(os.path.join(directory, f"ready-{os.getpid()}"), "w"):
            pass


class Supervisor:
    def __init__(self, config: ServerConfig, argv: list[str], *, max_restarts: int = 10,
                 window: float = 10.0) -> None:
        self.config = config
        self.count = config.workers
        self.directory = tempfile.mkdtemp(prefix="hyphal-workers-")
        port = config.port or _free_port(config.host)
        self.port = port
        self.env = dict(os.environ, HYPHAL_WORKER="1", HYPHAL_METRICS_DIR=self.directory,
                        HYPHAL_WORKER_PORT=str(port))
        self.argv = [sys.executable, "-m", "hyphal", *argv]
        self.workers: list[subprocess.Popen[bytes]] = []
        self.restarts: deque[float] = deque()
        self.max_restarts = max_restarts
        self.window = window
        self.stopping = False
        self.reload = False

    def spawn(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(self.argv, env=self.env)
        logger.info("worker %d started", proc.pid)
        return proc

    def wait_ready(self, procs: list[subprocess.Popen[bytes]], timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(os.path.exists(os.path.join(self.directory, f"ready-{p.pid}"))
                   for p in procs):
                return True
            if any(p.poll() is not None for p in procs):
                return False
            time.sleep(0.02)
        return False

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.reload = True
        else:
            self.stopping = True

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        try:
            self.workers = [self.spawn() for _ in range(self.count)]
            if self.wait_ready(self.workers):
                logger.info("hyphal serve: %d workers on http://%s:%d", self.count,
                            self.config.host, self.port)
            while not self.stopping:
                if self.reload:
                    self.reload = False
                    self._graceful_restart()
                if not self._reap():
                    return 1
                time.sleep(0.05)
            return 0
        finally:
            self._stop_all(self.workers)
            shutil.rmtree(self.directory, ignore_errors=True)

    def _reap(self) -> bool:
        """Restart dead workers; False when they crash too often."""
        for i, proc in enumerate(self.workers):
            code = proc.poll()
            if code is None or self.stopping:
                continue
            now = time.monotonic()
            self.restarts.append(now)
            while self.restarts and self.restarts[0] < now - self.window:
                self.restarts.popleft()
            if len(self.restarts) > self.max_restarts:
                logger.error("workers crashed %d times in %.0fs; giving up",
                             len(self.restarts), self.window)
                return False
            logger.warning("worker %d exited with status %s; restarting", proc.pid, code)
            self.workers[i] = self.spawn()
        return True

    def _graceful_restart(self) -> None:
        logger.info("SIGHUP: starting %d new workers", self.count)
        old = self.workers
        new = [self.spawn() for _ in range(self.count)]
        if not self.wait_ready(new):
            logger.error("new workers did not start; keeping the old ones")
            self._stop_all(new)
            return
        self.workers = new
        self._stop_all(old)

    def _stop_all(self, procs: list[subprocess.Popen[bytes]]) -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.config.limits.shutdown_timeout + 2
        for proc in procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def supervise(config: ServerConfig, argv: list[str]) -> int:
    """Run ``config.workers`` workers of the command ``hyphal <argv...>``; exit status."""
    return Supervisor(config, argv).run()
