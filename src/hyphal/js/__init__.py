"""hyphal's JavaScript layer: engines behind one contract, the Node-like prelude, the loop
bridge (:mod:`hyphal.js.runtime`), ES modules, HTTP handler contexts and ``hyphal run``.

Submodules load lazily: ``import hyphal.js`` does not start an engine.
"""

from __future__ import annotations

from hyphal.js.errors import JSError, JSLimitError, JSSyntaxError

__all__ = ["JSError", "JSLimitError", "JSSyntaxError"]
