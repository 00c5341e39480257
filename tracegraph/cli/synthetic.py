"""``synth``: a synthetic corpus of realistic traces, for benchmarks and demos."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from ..services.synth import write_corpus
from . import _guard, app, console


class SynthFormat(str, Enum):
    native = "native"
    otlp = "otlp"


@app.command("synth")
def synth_command(
    output: Path = typer.Argument(..., help="File to write (JSONL)."),
    traces: int = typer.Option(1000, "--traces", "-n", help="How many traces."),
    format: SynthFormat = typer.Option(SynthFormat.native, "--format", "-f"),
    seed: int = typer.Option(7, "--seed", help="Same seed, same corpus."),
) -> None:
    """Write a synthetic corpus of realistic traces (for benchmarks and demos).

    Example: tracegraph synth corpus.jsonl --traces 100000 --format otlp
    """
    stats = _guard(lambda: write_corpus(output, traces=traces, format=format.value, seed=seed))
    console.print(f"wrote {stats.traces:,} traces, {stats.steps:,} steps, "
                  f"{stats.bytes / 1e6:,.1f} MB to {output}")
