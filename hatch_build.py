"""Build hook: compile hyphal's optional C fast paths (``hyphal._core._speedups``,
``hyphal.kernel._speedups``, ``hyphal.actors._speedups``, ``hyphal.js._speedups``,
``hyphal.http._speedups``).

Each extension is a single C file with no dependencies beyond the Python headers, compiled
with the interpreter's own compiler settings. When there is no compiler (or
``HYPHAL_NO_EXTENSIONS=1`` is set), the build still succeeds and hyphal runs its pure-Python
fast paths, which the test suite covers too.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("src/hyphal/_core/_speedups.c")
SOURCES = (SOURCE, Path("src/hyphal/kernel/_speedups.c"),
           Path("src/hyphal/actors/_speedups.c"), Path("src/hyphal/js/_speedups.c"),
           Path("src/hyphal/http/_speedups.c"))


def compile_speedups(root: Path, relative: Path = SOURCE) -> Path | None:
    """Compile the extension next to its source; return its path, or None if not built."""
    if os.environ.get("HYPHAL_NO_EXTENSIONS") or sys.platform == "win32":
        return None
    source = root / relative
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    target = source.with_name("_speedups" + suffix)
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    command = [*compiler, "-O2", "-fPIC", "-shared", "-fno-strict-aliasing",
               "-I", sysconfig.get_paths()["include"], str(source), "-o", str(target)]
    if sys.platform == "darwin":
        command[1:1] = ["-undefined", "dynamic_lookup"]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        print(f"hyphal: C fast paths not built, using pure Python ({detail.strip()[:500]})",
              file=sys.stderr)
        return None
    return target


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        for relative in SOURCES:
            built = compile_speedups(Path(self.root), relative)
            if built is None:
                continue
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
            if version != "editable":  # an editable install imports it from src/ directly
                package = relative.parent.relative_to("src").as_posix()
                build_data["force_include"][str(built)] = f"{package}/{built.name}"
