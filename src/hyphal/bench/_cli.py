"""``hyphal bench``: run benchmark suites and report ratios to peers."""

from __future__ import annotations

from dataclasses import dataclass

import click

from hyphal.bench import SUITES

__all__ = ["BenchConfig", "bench"]


@dataclass(frozen=True, slots=True)
class BenchConfig:
    suites: tuple[str, ...]
    quick: bool
    json_path: str | None
    plot_path: str | None
    smoke: bool = False


@click.command()
@click.argument("suites", nargs=-1, type=click.Choice([*SUITES, "all"]))
@click.option("--quick", is_flag=True, help="Smaller workloads; every suite under a minute.")
@click.option("--smoke", is_flag=True, hidden=True,
              help="Token workloads: proves the suites run (used by the test suite).")
@click.option("--json", "json_path", metavar="FILE", envvar="HYPHAL_BENCH_JSON",
              help="Also write the results as JSON to FILE.")
@click.option("--plot", "plot_path", metavar="FILE", envvar="HYPHAL_BENCH_PLOT",
              help="Also draw a bar chart (PNG) to FILE; needs hyphal[plot].")
def bench(suites: tuple[str, ...], quick: bool, smoke: bool, json_path: str | None,
          plot_path: str | None) -> None:
    """Measure hyphal side by side with the libraries users would pick instead.

    SUITES: any of the suite names, or all (the default is core).
    """
    chosen = list(SUITES) if "all" in suites else list(dict.fromkeys(suites or ("core",)))
    run(BenchConfig(tuple(chosen), quick, json_path, plot_path, smoke))


def run(config: BenchConfig) -> None:
    from rich.console import Console

    from hyphal.bench._harness import run_suites, to_json
    from hyphal.bench._report import plot, print_reports

    console = Console(stderr=True)
    with console.status("starting") as status:
        reports = run_suites(config.suites, quick=config.quick, smoke=config.smoke,
                             progress=lambda text: status.update(text))
    print_reports(reports)
    if config.json_path:
        with open(config.json_path, "w") as fh:
            fh.write(to_json(reports))
        console.print(f"wrote {config.json_path}")
    if config.plot_path:
        plot(reports, config.plot_path)
        console.print(f"wrote {config.plot_path}")
