"""The kernel's C message constructor: built where a compiler exists, equivalent to the
pure-Python twin (the kernel suite also runs on the twin)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hyphal.kernel import message
from hyphal.kernel.message import Message, _current, _PyMessageCore


@pytest.mark.skipif(sys.platform == "win32" or bool(os.environ.get("HYPHAL_PURE_PYTHON")),
                    reason="pure Python asked for, or no compiler expected")
def test_c_message_constructor_was_built() -> None:
    assert message.SPEEDUPS, "the install did not compile hyphal.kernel._speedups"


@pytest.mark.parametrize("core", [message._MessageCore, _PyMessageCore])
def test_both_constructors_fill_the_same_fields(core: type) -> None:
    class Probe(core):  # type: ignore[misc, valid-type]
        __slots__ = ()

    plain = Probe("a://b", 1, {"m": 1})
    assert (plain.path, plain.body, plain._meta, plain._root) == ("a://b", 1, {"m": 1}, None)
    assert plain.ts > 1_600_000_000 and plain._seq >= 1
    later = Probe("a://c")
    assert later._seq > plain._seq and later.body is None and later._meta is None
    with pytest.raises(AttributeError):
        _ = plain._id  # lazily filled fields start unset
    with pytest.raises(AttributeError):
        _ = plain._params
    parent = Message("a://parent")
    token = _current.set(parent)
    try:
        child = Probe("a://child")
        grandchild_parent = Message("a://mid")
    finally:
        _current.reset(token)
    assert child._root is parent
    token = _current.set(grandchild_parent)
    try:
        assert Probe("a://leaf")._root is parent  # the root, not the direct parent
    finally:
        _current.reset(token)
    keyword = Probe(path="a://k", body=2, meta=None)
    assert (keyword.path, keyword.body) == ("a://k", 2)
    with pytest.raises(TypeError):
        Probe()


def test_messages_are_collected_even_in_cycles() -> None:
    import gc
    import weakref

    class Holder:
        pass

    h = Holder()
    m = Message("a://b", h)
    h.msg = m  # type: ignore[attr-defined]
    ref = weakref.ref(h)
    del h, m
    gc.collect()
    assert ref() is None


@pytest.mark.slow
@pytest.mark.skipif(not message.SPEEDUPS, reason="already running pure Python")
def test_kernel_suite_passes_on_the_pure_python_message() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "HYPHAL_PURE_PYTHON": "1"}
    tests = ["tests/kernel/test_message.py", "tests/kernel/test_kernel.py",
             "tests/kernel/test_transport.py"]
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", *tests], cwd=root,
                          env=env, capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
