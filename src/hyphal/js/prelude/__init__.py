"""The JavaScript prelude: the Node-like globals every context starts with."""

from __future__ import annotations

import os

__all__ = ["prelude_source"]

_PARTS = ("inspect.js", "runtime.js", "web.js", "modules.js", "handler.js")
_cache: list[str] = []
# The host's entry points stay out of Object.keys(globalThis) and for-in loops.
_HIDE = ("for (const k of Object.keys(globalThis)) if (k.startsWith('__') && "
         "Object.getOwnPropertyDescriptor(globalThis, k).configurable) "
         "Object.defineProperty(globalThis, k, { enumerable: false });")


def prelude_source() -> str:
    """The prelude as one script (read once per process)."""
    if not _cache:
        here = os.path.dirname(__file__)
        texts = ["globalThis.__hyphal = {};"]
        for name in _PARTS:
            path = os.path.join(here, name)
            if os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    texts.append(f.read())
        texts.append(_HIDE)
        _cache.append("\n".join(texts))
    return _cache[0]
