"""The compiled ``hyphal.http._speedups`` (see ``_speedups.c``), or None: not built (no
compiler) or ``HYPHAL_PURE_PYTHON=1`` set. Each user keeps a pure-Python twin of what it takes
from it, and the HTTP suite runs on both."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["speedups"]

speedups: Any = None
if not os.environ.get("HYPHAL_PURE_PYTHON"):
    try:
        from hyphal.http import _speedups as speedups  # type: ignore[attr-defined, no-redef]
    except ImportError:  # pragma: no cover - built without a compiler
        speedups = None
