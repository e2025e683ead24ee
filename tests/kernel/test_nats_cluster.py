"""Kernels in separate OS processes (``hyphal node``) over a real nats-server."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import hyphal
from hyphal.kernel import Kernel, NoRoute
from hyphal.kernel.nats import NatsTransport
from hyphal.kernel.nats_server import NatsServer

APP = str(Path(__file__).with_name("nats_app.py"))
SRC = str(Path(hyphal.__file__).parent.parent)
pytestmark = pytest.mark.hyphal(loops=["asyncio"])  # the nodes are the subject, not the loop


class Nodes:
    def __init__(self, url: str, results: Path, app: str = APP) -> None:
        self.url = url
        self.results = results
        self.app = app
        self.procs: dict[str, subprocess.Popen[str]] = {}

    def start(self, name: str, delay: float = 0.0) -> None:
        env = {**os.environ, "PYTHONPATH": SRC, "APP_RESULTS": str(self.results),
               "APP_DELAY": str(delay)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "hyphal", "node", self.app, "--nats", self.url, "--name", name],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs[name] = proc
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout=20):
                raise TimeoutError(f"node {name} did not start")
        line = proc.stdout.readline()
        assert f"hyphal node {name!r} serving" in line, line

    def stop(self, name: str) -> str:
        """SIGTERM: the node drains and says so."""
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
        return out

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.kill()
        proc.communicate()

    def handled(self) -> list[int]:
        return sorted(int(line) for f in self.results.glob("*.txt")
                      for line in f.read_text().split())

    def close(self) -> None:
        for proc in self.procs.values():
            proc.kill()
            proc.communicate()


@pytest.fixture
def nodes(nats_server: NatsServer, tmp_path: Path) -> Iterator[Nodes]:
    group = Nodes(nats_server.url, tmp_path)
    try:
        yield group
    finally:
        group.close()


async def test_three_nodes_split_sends_and_answer_requests(nodes: Nodes) -> None:
    for name in ("n1", "n2", "n3"):
        nodes.start(name)
    client = Kernel(nodes.url, node="client", request_timeout=10)
    async with client:
        for i in range(300):
            await client.send(f"work://item/{i}")
            if i % 10 == 9:  # sends coalesce per loop iteration: let the batches go
                await hyphal.sleep(0)
        answered_by = {await client.request("who://am-i") for _ in range(60)}
        with pytest.raises(ZeroDivisionError, match="division by zero"):
            await client.request("calc://div", {"a": 1, "b": 0})
        assert await client.request("calc://div", {"a": 1, "b": 4}) == 0.25
        counts = {n: await client.request(f"count://{n}") for n in ("n1", "n2", "n3")}
    assert answered_by == {"n1", "n2", "n3"}
    assert sorted(x for got in counts.values() for x in got) == list(range(300))  # exactly once
    assert all(counts.values()), counts  # every node took a share
    assert "drained and stopped" in nodes.stop("n1")



async def test_nodes_come_back_after_a_server_restart_mid_stream(
        nodes: Nodes, nats_server: NatsServer) -> None:
    nodes.start("n1")
    nodes.start("n2")
    client = Kernel(NatsTransport(nodes.url, node="client", durable=False))
    answers: list[str] = []
    failures: list[str] = []
    async with client:
        for _ in range(20):
            answers.append(await client.request("who://am-i", timeout=2))
        nats_server.restart()  # same port and store; every connection drops
        deadline = time.monotonic() + 20
        after: set[str] = set()
        while after != {"n1", "n2"} and time.monotonic() < deadline:
            start = time.monotonic()
            try:
                after.add(await client.request("who://am-i", timeout=0.5))
            except (TimeoutError, NoRoute) as exc:  # while the nodes reconnect
                failures.append(type(exc).__name__)
                await hyphal.sleep(0.05)
            assert time.monotonic() - start < 2  # an error, never a hang
    assert set(answers) == {"n1", "n2"}
    assert after == {"n1", "n2"}  # both nodes serve again, their subscriptions restored

async def test_killed_node_loses_no_durable_message(nodes: Nodes) -> None:
    nodes.start("n1", delay=0.02)
    nodes.start("n2", delay=0.02)
    client = Kernel(NatsTransport(nodes.url, node="client", durable=False))
    async with client:
        for i in range(150):
            await client.send("jobs://run", i, durable=True)
    deadline = time.monotonic() + 20
    while not (nodes.results / "n1.txt").exists() and time.monotonic() < deadline:
        await hyphal.sleep(0.02)
    nodes.kill("n1")  # mid-stream, with fetched messages unacknowledged
    nodes.start("n3", delay=0.0)
    while set(nodes.handled()) != set(range(150)) and time.monotonic() < deadline:
        await hyphal.sleep(0.1)
    assert set(nodes.handled()) == set(range(150))  # at least once: a redelivery may repeat one


async def test_placed_actor_restarts_on_a_live_node_when_its_node_dies(nodes: Nodes) -> None:
    nodes.start("n1")
    nodes.start("n2")
    client = Kernel(NatsTransport(nodes.url, node="client", durable=False), request_timeout=10)
    async with client:
        owner, first = await client.request("counter://alice", "incr")
        assert first == 1
        for i in range(2, 6):  # wherever NATS routes it, the same instance answers
            assert await client.request("counter://alice", "incr") == [owner, i]
        nodes.kill(owner)
        survivor = "n2" if owner == "n1" else "n1"
        assert await client.request("counter://alice", "incr") == [survivor, 1]  # restarted
        assert await client.request("counter://alice", "get") == [survivor, 1]


def test_the_cluster_example_runs(nats_server: NatsServer, tmp_path: Path) -> None:
    example = str(Path(__file__).resolve().parents[2] / "examples" / "cluster_app.py")
    group = Nodes(nats_server.url, tmp_path, app=example)
    try:
        group.start("a")
        group.start("b")
        env = {**os.environ, "PYTHONPATH": SRC, "HYPHAL_TRANSPORT": nats_server.url}
        done = subprocess.run([sys.executable, example], env=env, capture_output=True,
                              text=True, timeout=60, check=True)
    finally:
        group.close()
    lines = done.stdout.splitlines()
    assert "'price': 0.5" in lines[0]
    assert lines[1] == "remote error: 'no price for kiwi'"
    assert "'items': ['apple', 'pear']" in lines[2]
