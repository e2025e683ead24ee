"""The C fast paths: built where a compiler exists, equivalent to the pure-Python ones."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import deque
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyphal._core import channel, taskcore

speedups = pytest.mark.skipif(not channel.SPEEDUPS, reason="C fast paths not in use")


@pytest.mark.skipif(sys.platform == "win32" or bool(os.environ.get("HYPHAL_PURE_PYTHON")),
                    reason="pure Python asked for, or no compiler expected")
def test_c_fast_paths_were_built() -> None:
    assert channel.SPEEDUPS, "the install did not compile hyphal._core._speedups"
    assert taskcore.SPEEDUPS, "the C task driver is not in use"


@speedups
@settings(max_examples=200)
@given(st.lists(st.tuples(st.sampled_from(["append", "appendleft", "popleft", "extend",
                                           "clear", "popmany"]), st.integers(0, 40))))
def test_ring_behaves_like_a_deque(ops: list[tuple[str, int]]) -> None:
    from hyphal._core._speedups import Ring  # type: ignore[attr-defined]

    ring = Ring()
    model: deque[int] = deque()
    for op, n in ops:
        if op == "append":
            ring.append(n)
            model.append(n)
        elif op == "appendleft":
            ring.appendleft(n)
            model.appendleft(n)
        elif op == "popleft":
            if model:
                assert ring.popleft() == model.popleft()
            else:
                with pytest.raises(IndexError):
                    ring.popleft()
        elif op == "extend":
            ring.extend(range(n))
            model.extend(range(n))
        elif op == "clear":
            ring.clear()
            model.clear()
        else:
            assert ring.popmany(n) == [model.popleft() for _ in range(min(n, len(model)))]
        assert len(ring) == len(model)
        assert bool(ring) == bool(model)
        assert list(ring) == list(model)


@speedups
async def test_ready_awaitable_gives_the_item_once_awaited() -> None:
    ch: channel.Channel[str] = channel.Channel(4)
    ch.send_nowait("x")
    pending = ch.recv()  # taken now; the awaitable carries it
    assert len(ch) == 0
    assert await pending == "x"
    it = ch.send("y").__await__()
    with pytest.raises(StopIteration):
        next(it)


@pytest.mark.slow
@pytest.mark.skipif(not channel.SPEEDUPS, reason="already running pure Python")
def test_core_suite_passes_on_the_pure_python_fast_paths() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "HYPHAL_PURE_PYTHON": "1"}
    tests = ["tests/core/test_channel.py", "tests/core/test_channel_properties.py",
             "tests/core/test_select.py", "tests/core/test_stress.py",
             "tests/core/test_tasks.py", "tests/core/test_cancel.py",
             "tests/core/test_task_driver.py"]
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x",
                           *tests], cwd=root, env=env, capture_output=True, text=True,
                          timeout=110)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
