"""Where hyphal's optional C fast paths are found.

Each area with a C twin (``hyphal._core``, ``kernel``, ``actors``, ``http``, ``js``) compiles
one ``_speedups`` extension next to its pure-Python code (see ``hatch_build.py``). It may be
missing -- no compiler at install time, or ``HYPHAL_NO_EXTENSIONS=1`` -- and
``HYPHAL_PURE_PYTHON=1`` turns every one of them off at run time, which is how the test suite
runs the pure-Python twins. One function answers "which one is in use" for every area.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

__all__ = ["load_speedups", "pure_python"]


def pure_python() -> bool:
    """True when ``HYPHAL_PURE_PYTHON`` asks for the pure-Python twins."""
    return bool(os.environ.get("HYPHAL_PURE_PYTHON"))


def load_speedups(package: str) -> Any:
    """``<package>._speedups``, or None where it is not built or ``HYPHAL_PURE_PYTHON`` is
    set (the caller then uses its pure-Python twin)."""
    if pure_python():
        return None
    try:
        return importlib.import_module(f"{package}._speedups")
    except ImportError:  # not compiled here
        return None
