"""The compiled ``hyphal.http._speedups`` (see ``_speedups.c``), or None: not built (no
compiler) or ``HYPHAL_PURE_PYTHON=1`` set. Each user keeps a pure-Python twin of what it takes
from it, and the HTTP suite runs on both."""

from __future__ import annotations

from typing import Any

from hyphal._core.native import load_speedups

__all__ = ["speedups"]

speedups: Any = load_speedups("hyphal.http")
