"""The ``hyphal`` command line.

Each subcommand lives with its capability and is imported only when it runs, so
``hyphal run script.js`` does not pay for the HTTP server's imports (cold start matters).
"""

from __future__ import annotations

import importlib
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from typing import Any

__all__ = ["main"]

COMMANDS: dict[str, tuple[str, str]] = {
    "bench": ("hyphal.bench._cli", "bench"),
    "serve": ("hyphal.http._cli", "serve"),
    "nats": ("hyphal.kernel._cli", "nats"),
    "node": ("hyphal.kernel._cli", "node"),
    "run": ("hyphal.js.cli", "run"),
}
"""Subcommand -> (module, attribute) of its ``click.Command``; imported on use."""


def _build_cli() -> Any:
    import click

    class _LazyGroup(click.Group):
        def list_commands(self, ctx: click.Context) -> list[str]:
            return sorted(COMMANDS)

        def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
            target = COMMANDS.get(cmd_name)
            if target is None:
                return None
            module, attr = target
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command

    @click.group(cls=_LazyGroup, context_settings={"help_option_names": ["--help"]})
    @click.version_option(package_name="hyphal")
    def cli() -> None:
        """hyphal: a high-performance async toolkit (core, actors, kernel, http, js, bench)."""

    return cli


def __getattr__(name: str) -> Any:
    if name == "cli":  # built on first use: importing click costs cold-start time
        group = _build_cli()
        globals()["cli"] = group
        return group
    raise AttributeError(name)


def _likely_v8(args: list[str]) -> bool:
    """Whether ``hyphal run ARGS`` will probably use V8 (a guess that only affects timing:
    V8's start then overlaps the imports)."""
    import os

    return (os.environ.get("HYPHAL_JS_ENGINE", "v8") == "v8" and "quickjs" not in args
            and "--engine=quickjs" not in args and "--help" not in args)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    args = argv if argv is not None else sys.argv[1:]
    if args[:1] == ["run"]:  # fast path: `hyphal run` starts without importing click
        if _likely_v8(args[1:]):
            from hyphal.js import v8_native

            v8_native.init_in_background()
        from hyphal.js.cli import main as run_main

        sys.exit(run_main(args[1:], fast_exit=True))
    return _build_cli().main(args=args, prog_name="hyphal")
