"""Run the same JavaScript ``probe(cases)`` function in a hyphal engine and in node, so a
property test can compare their answers for random inputs."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from hyphal.js.abc import create_engine
from hyphal.js.runtime import load_prelude

NODE = shutil.which("node")


@contextmanager
def engine_probe(engine_name: str, script: str) -> Iterator[Callable[[str], Any]]:
    """``script`` defines ``probe(cases)``; yields a function of the JSON-encoded cases."""
    engine = create_engine(engine_name)  # type: ignore[arg-type]
    load_prelude(engine, argv=[], env={})
    engine.eval(script + "globalThis.__probe = (s) => JSON.stringify(probe(JSON.parse(s)));")
    try:
        yield lambda text: json.loads(engine.call("__probe", text))
    finally:
        engine.close()


def node_probe(script: str, text: str) -> Any:
    """What node's ``probe`` answers for the JSON-encoded cases ``text``."""
    assert NODE is not None
    done = subprocess.run(
        [NODE, "-e", script + "process.stdout.write(JSON.stringify(probe(JSON.parse("
         "process.argv[1]))));", text], capture_output=True, text=True, check=True, timeout=30)
    return json.loads(done.stdout)


def probe_fixture(script: str) -> Any:
    """A module-scoped ``probe`` fixture: ``script``'s probe on each engine in turn."""

    @pytest.fixture(scope="module", params=["quickjs", "v8"])
    def probe(request: pytest.FixtureRequest) -> Iterator[Callable[[str], Any]]:
        with engine_probe(request.param, script) as call:
            yield call

    return probe


def assert_engine_matches_node(probe: Callable[[str], Any], script: str,
                               batch: list[object]) -> None:
    """The engine's answer for ``batch`` is node's."""
    text = json.dumps(batch)
    assert probe(text) == node_probe(script, text)
