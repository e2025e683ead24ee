"""``hyphal bench http``: the FaaS server against uvicorn, granian and node, under wrk.

Each server runs in its own process pinned to one core (``taskset``) and wrk runs pinned to
another, both on loopback. Every server serves the same three endpoints zigttp reports --
``GET /api/health``, ``POST /api/echo`` (JSON) and ``GET /api/greet/{name}`` -- and the suite
records requests/s and p99 latency for each, the server's CPU time per request (from
``/proc``: on a shared machine the steadier measure of the same speed, since time the server
spends waiting for a busy core is not charged to it), then the cold start (process start ->
first answered request). Every figure is the median of five interleaved rounds (the best of
two under ``--quick``, which must finish in a minute), each round in a rotated order. Needs
``wrk`` (the suite says how to install it when it is missing); peers that are not installed
are skipped with the command that installs them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import TypeVar

from hyphal.bench._harness import BenchContext, Better

ENDPOINTS = {
    "health": ("GET", "/api/health"),
    "echo": ("POST", "/api/echo"),
    "greet": ("GET", "/api/greet/hyphal"),
}
T = TypeVar("T")
_PEERS = Path(__file__).resolve().parent.parent / "peers"
_ECHO_LUA = """wrk.method = "POST"
wrk.body = '{"message":"hello","items":[1,2,3],"nested":{"ok":true}}'
wrk.headers["Content-Type"] = "application/json"
"""
QUICK = frozenset({"hyphal-python", "hyphal-js", "hyphal-asgi", "uvicorn", "node",
                   "floor-uvloop-httptools"})
"""Under --quick only the implementations the goals name (plus the floor) run."""
WRK_MISSING = ("wrk is not installed: `sudo apt-get install -y wrk` (Debian/Ubuntu), "
               "`brew install wrk` (macOS), or build it from https://github.com/wg/wrk")


@dataclass(frozen=True)
class Impl:
    name: str
    argv: list[str]
    needs: str | None = None  # python module or executable
    install: str = ""


def _python() -> str:
    return sys.executable


def implementations(port_holder: str = "{port}") -> list[Impl]:
    py = _python()
    handler = str(_PEERS / "http_handler.py")
    impls = [
        Impl("hyphal-python", [py, "-m", "hyphal", "serve", handler, "-p", port_holder, "-q",
                               "-n", "8"]),
        Impl("hyphal-asgi", [py, "-m", "hyphal", "serve", "hyphal.bench.peers.http_asgi:app",
                             "--interface", "asgi", "-p", port_holder, "-q", "-n", "64"]),
        Impl("uvicorn", [py, "-m", "uvicorn", "hyphal.bench.peers.http_asgi:app", "--port",
                         port_holder, "--loop", "uvloop", "--http", "httptools",
                         "--no-access-log", "--log-level", "warning"],
             "uvicorn", "pip install uvicorn"),
        Impl("granian-asgi", [py, "-m", "granian", "--interface", "asgi", "--port", port_holder,
                              "--workers", "1", "--runtime-threads", "1", "--loop", "uvloop",
                              "--no-ws", "--log-level", "warning",
                              "hyphal.bench.peers.http_asgi:app"],
             "granian", "pip install granian"),
        Impl("granian-rsgi", [py, "-m", "granian", "--interface", "rsgi", "--port", port_holder,
                              "--workers", "1", "--runtime-threads", "1", "--no-ws",
                              "--log-level", "warning", "hyphal.bench.peers.http_rsgi:app"],
             "granian", "pip install granian"),
        Impl("node", ["node", str(_PEERS / "http_node.js"), port_holder], "node",
             "install Node.js (https://nodejs.org or `apt-get install nodejs`)"),
        Impl("floor-uvloop-httptools", [py, "-m", "hyphal.bench.peers.http_floor",
                                        port_holder]),
    ]
    if _has_module("hyphal.js.handler"):
        impls.insert(1, Impl("hyphal-js", [py, "-m", "hyphal", "serve",
                                           str(_PEERS / "http_handler.js"), "-p", port_holder,
                                           "-q", "-n", "8"]))
    return impls


def _has_module(name: str) -> bool:
    try:
        return find_spec(name) is not None
    except ImportError:
        return False


def _available(impl: Impl) -> bool:
    if impl.needs is None:
        return True
    return shutil.which(impl.needs) is not None or _has_module(impl.needs)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pin(core: int | None) -> list[str]:
    if core is None or not shutil.which("taskset"):
        return []
    return ["taskset", "-c", str(core)]


def _cores() -> tuple[int | None, int | None]:
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return None, None
    if len(cpus) < 2:
        return None, None
    return cpus[0], cpus[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> float:
    """Seconds until ``GET /api/health`` answers 200 (raises RuntimeError on failure)."""
    start = time.perf_counter()
    url = f"http://127.0.0.1:{port}/api/health"
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.005)
    raise RuntimeError("server did not answer within 20 s")


@dataclass(frozen=True)
class Server:
    port: int
    pid: int
    cold_start: float  # seconds from spawn to the first answered request


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process (all its threads) and its child processes (granian
    serves from a worker process) used so far; None off Linux."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    used = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for child in _children(pid):
        used += cpu_seconds(child) or 0.0
    return used


def _children(pid: int) -> list[int]:
    children: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                children.extend(int(c) for c in fh.read().split())
    return children


@contextlib.contextmanager
def running(impl: Impl, core: int | None, extra: list[str] | None = None
            ) -> Iterator[Server]:
    """Start ``impl`` pinned to ``core`` (``taskset`` execs it, so the pid is the server's)."""
    port = _free_port()
    argv = [a.replace("{port}", str(port)) for a in impl.argv] + (extra or [])
    start = time.perf_counter()
    proc = subprocess.Popen(_pin(core) + argv, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        _wait_ready(port, proc)
        yield Server(port, proc.pid, time.perf_counter() - start)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p99_ms: float
    requests: int


def wrk(port: int, endpoint: str, seconds: int, core: int | None,
        connections: int = 64) -> WrkResult:
    """Run wrk against ``endpoint``."""
    method, path = ENDPOINTS[endpoint]
    argv = [*_pin(core), "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if method == "POST":
            script.write(_ECHO_LUA)
    try:
        if method == "POST":
            argv += ["-s", script.name]
        out = subprocess.run([*argv, f"http://127.0.0.1:{port}{path}"], capture_output=True,
                             text=True, timeout=seconds + 30, check=True).stdout
    finally:
        os.unlink(script.name)
    return parse_wrk(out)


def parse_wrk(out: str) -> WrkResult:
    """Requests/s, p99 and request count from wrk's ``--latency`` output.
    Raises ValueError on errors."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    count = re.search(r"(\d+) requests in", out)
    if rps is None or p99 is None or count is None:
        raise ValueError(f"unexpected wrk output:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise ValueError(f"{errors.group(1)} requests failed:\n{out}")
    return WrkResult(float(rps.group(1)), float(p99.group(1)) * _UNITS[p99.group(2)],
                     int(count.group(1)))


def run(ctx: BenchContext) -> None:
    if not shutil.which("wrk"):
        ctx.skip("http", WRK_MISSING)
        ctx.progress(WRK_MISSING)
        return
    server_core, load_core = _cores()
    seconds = 1 if ctx.quick else 3
    rounds = 2 if ctx.quick else 5
    impls = []
    for impl in implementations():
        if ctx.quick and impl.name not in QUICK:
            continue
        if _available(impl):
            impls.append(impl)
        else:
            ctx.skip(impl.name, f"not installed: {impl.install}")
    runs: dict[tuple[str, str], list[WrkResult]] = {}
    cpus: dict[tuple[str, str], list[float]] = {}
    with contextlib.ExitStack() as stack:
        servers: dict[str, Server] = {}
        for impl in impls:  # started one by one, so cold starts do not compete
            ctx.progress(f"starting {impl.name}")
            try:
                server = stack.enter_context(running(impl, server_core))
            except RuntimeError as exc:
                ctx.skip(impl.name, f"failed to start: {exc}")
                continue
            servers[impl.name] = server
            ctx.record("cold start", impl.name, server.cold_start * 1000, "ms", better="lower")
        # interleaved: every implementation gets each endpoint before any gets it again, in an
        # order rotated every round, so drifting machine load spreads evenly
        for round_ in range(rounds):
            for endpoint in ENDPOINTS:
                names = list(servers)
                shift = round_ % len(names) if names else 0
                for name in names[shift:] + names[:shift]:
                    server = servers[name]
                    ctx.progress(f"round {round_ + 1}/{rounds}: {endpoint} on {name}")
                    try:
                        if round_ == 0 and endpoint == "health":
                            wrk(server.port, "health", 1, load_core)  # warm up
                        before = cpu_seconds(server.pid)
                        result = wrk(server.port, endpoint, seconds, load_core)
                        after = cpu_seconds(server.pid)
                    except (ValueError, subprocess.SubprocessError) as exc:
                        ctx.skip(name, f"failed: {exc}")
                        del servers[name]
                        continue
                    key = (endpoint, name)
                    runs.setdefault(key, []).append(result)
                    if before is not None and after is not None and result.requests:
                        cpus.setdefault(key, []).append((after - before) / result.requests * 1e6)
    best = {key: typical(results, key=lambda r: r.rps) for key, results in runs.items()}
    cpu = {key: typical(values, key=lambda v: -v) for key, values in cpus.items()}
    rps = {key: result.rps for key, result in best.items()}
    p99 = {key: result.p99_ms for key, result in best.items()}
    series: list[tuple[str, str, Better, dict[tuple[str, str], float]]] = [
        ("req/s", "req/s", "higher", rps), ("p99", "ms", "lower", p99),
        ("server cpu/req", "us", "lower", cpu)]
    for endpoint in ENDPOINTS:  # in implementation order: hyphal-python is the reference
        for label, unit, better, values in series:
            for impl in impls:
                if (endpoint, impl.name) in values:
                    ctx.record(f"{endpoint} {label}", impl.name, values[endpoint, impl.name],
                               unit, better=better)
    for endpoint in ENDPOINTS:
        ctx.goal(f"{endpoint} req/s", "hyphal-python", "uvicorn", 2.5)
        ctx.goal(f"{endpoint} req/s", "hyphal-python", "node", 1.5)
        ctx.goal(f"{endpoint} p99", "hyphal-python", "uvicorn", 1.0)
        # the same speed goals as server CPU per request: steadier on a shared machine
        ctx.goal(f"{endpoint} server cpu/req", "hyphal-python", "uvicorn", 0.4)
        ctx.goal(f"{endpoint} server cpu/req", "hyphal-python", "node", 0.67)
        ctx.goal(f"{endpoint} req/s", "hyphal-asgi", "uvicorn", 1.5)
        if any(i.name == "hyphal-js" for i in impls):
            ctx.goal(f"{endpoint} req/s", "hyphal-js", "uvicorn", 2.0)
            ctx.goal(f"{endpoint} req/s", "hyphal-js", "node", 1.2)
    _workers(ctx, seconds, load_core)


def typical(values: list[T], key: Callable[[T], float]) -> T:
    """The round that counts: the median of three or more rounds (a round slowed or sped up
    by the shared machine does not decide), else the best of the rounds (``key``: higher is
    better)."""
    ordered = sorted(values, key=key)
    return ordered[len(ordered) // 2] if len(ordered) >= 3 else ordered[-1]


def _workers(ctx: BenchContext, seconds: int, load_core: int | None) -> None:
    """Scaling of ``--workers 2`` over one process (both unpinned; wrk pinned)."""
    impl = implementations()[0]
    try:
        for workers in (1, 2):
            ctx.progress(f"hyphal-python --workers {workers}")
            with running(impl, None, ["--workers", str(workers)]) as server:
                wrk(server.port, "health", 1, load_core)
                result = wrk(server.port, "health", seconds, load_core, connections=128)
                cores = os.cpu_count() or 1
                note = (f"{cores} cores and wrk takes one: {workers} workers share "
                        f"{cores - 1}, so there is no room to scale" if workers >= cores else "")
                ctx.record("health req/s by workers", f"hyphal-python-w{workers}",
                           result.rps, "req/s", note=note)
    except (RuntimeError, ValueError, subprocess.SubprocessError) as exc:
        ctx.skip("hyphal --workers", f"failed: {exc}")
