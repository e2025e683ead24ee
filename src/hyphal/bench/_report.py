"""Rendering benchmark reports: rich tables on the terminal, matplotlib plots on request."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.table import Table

from hyphal.bench._harness import Measurement, SuiteReport

__all__ = ["plot", "print_reports"]


def _fmt(value: float, unit: str) -> str:
    if unit.endswith("/s"):
        for scale, suffix in ((1e6, "M"), (1e3, "k")):
            if value >= scale:
                return f"{value / scale:.2f} {suffix}{unit}"
        return f"{value:.1f} {unit}"
    if unit == "s":
        for scale, suffix in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
            if value >= scale:
                return f"{value / scale:.3g} {suffix}"
        return f"{value * 1e9:.0f} ns"
    if unit == "B":
        for scale, suffix in ((1 << 20, "MiB"), (1 << 10, "KiB")):
            if value >= scale:
                return f"{value / scale:.2f} {suffix}"
        return f"{value:.0f} B"
    return f"{value:.4g} {unit}"


def print_reports(reports: list[SuiteReport], console: Console | None = None) -> None:
    console = console or Console(width=None if Console().is_terminal else 110)
    for report in reports:
        cases: dict[str, list[Measurement]] = defaultdict(list)
        for m in report.measurements:
            cases[m.case].append(m)
        table = Table(title=f"hyphal bench {report.suite}  ({report.seconds:.1f} s)",
                      title_justify="left")
        table.add_column("case")
        table.add_column("implementation")
        table.add_column("result", justify="right")
        table.add_column("vs hyphal", justify="right")
        for case, ms in cases.items():
            ours = next((m for m in ms if m.impl.startswith("hyphal")), None)
            for i, m in enumerate(ms):
                ratio = ""
                if ours is not None and m is not ours and m.value and ours.value:
                    r = ours.value / m.value if m.better == "higher" else m.value / ours.value
                    ratio = f"{r:.2f}x"
                table.add_row(case if i == 0 else "", m.impl, _fmt(m.value, m.unit),
                              ratio, end_section=i == len(ms) - 1)
        console.print(table)
        if report.goals:
            console.print("[bold]goals[/bold] (ratio = hyphal / peer of the raw values)")
            for g in report.goals:
                style = {True: "green", False: "red", None: "yellow"}[g.met]
                console.print(f"  [{style}]{g.describe()}[/{style}]")
        for m in report.measurements:
            if m.note:
                console.print(f"  [dim]note[/dim] {m.case}, {m.impl}: {m.note}")
        for s in report.skipped:
            console.print(f"  [yellow]skipped[/yellow] {s}")
        console.print()


def plot(reports: list[SuiteReport], path: str) -> None:
    """One bar chart per suite: each case's implementations, normalised to hyphal = 1."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("--plot needs matplotlib: pip install 'hyphal[plot]'") from None
    rows = [r for r in reports if r.measurements]
    fig, axes = plt.subplots(len(rows), 1, figsize=(10, 3.2 * max(1, len(rows))), squeeze=False)
    for ax, report in zip(axes[:, 0], rows, strict=True):
        labels, values = [], []
        cases: dict[str, list[Measurement]] = defaultdict(list)
        for m in report.measurements:
            cases[m.case].append(m)
        for case, ms in cases.items():
            ours = next((m for m in ms if m.impl.startswith("hyphal")), ms[0])
            for m in ms:
                if not (m.value and ours.value):
                    continue
                speed = m.value / ours.value if m.better == "higher" else ours.value / m.value
                labels.append(f"{case}\n{m.impl}")
                values.append(speed)
        ax.barh(labels, values, color=["tab:green" if "hyphal" in lb else "tab:gray"
                                       for lb in labels])
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_title(f"{report.suite}: speed relative to hyphal (higher is better)")
        ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
