"""The JavaScript layer's promised names stay importable (and lazy)."""

from __future__ import annotations

import subprocess
import sys

import hyphal
from hyphal.js import handler


def test_errors_are_reexported_and_share_the_root() -> None:
    assert issubclass(hyphal.JSError, hyphal.HyphalError)
    assert issubclass(hyphal.JSLimitError, hyphal.JSError)
    assert handler.JSError is hyphal.JSError


def test_handler_contract_names() -> None:
    for name in ("load_handler", "HandlerContext", "ResponseData", "JSError", "JSLimitError"):
        assert hasattr(handler, name), name


def test_import_hyphal_starts_no_engine_and_no_click() -> None:
    code = ("import sys, hyphal, hyphal.cli; "
            "print(sorted(m for m in ('click', 'py_mini_racer', '_quickjs', 'hyphal.js.runtime')"
            " if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
