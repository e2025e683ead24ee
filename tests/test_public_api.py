"""The names DESIGN.md promises users stay importable from the top-level package."""

from __future__ import annotations

import pytest

import hyphal

CORE = [
    "run", "TaskGroup", "TaskHandle", "CancelScope", "move_on_after", "fail_after",
    "Channel", "Overflow", "ThreadChannel", "select", "ObjectPool", "statistics",
    "HyphalError", "WouldBlock", "ClosedResourceError", "BrokenResourceError", "EndOfChannel",
    "sleep", "current_time", "RuntimeConfig", "to_thread",
]


def test_core_names_exist() -> None:
    missing = [n for n in CORE if not hasattr(hyphal, n)]
    assert missing == []


def test_all_lists_only_real_names() -> None:
    for name in hyphal.__all__:
        assert getattr(hyphal, name) is not None, name


def test_errors_share_one_root() -> None:
    for err in (hyphal.WouldBlock, hyphal.ClosedResourceError, hyphal.BrokenResourceError,
                hyphal.EndOfChannel):
        assert issubclass(err, hyphal.HyphalError)
    assert issubclass(hyphal.HyphalError, Exception)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        hyphal.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
