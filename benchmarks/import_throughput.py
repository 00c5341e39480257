"""Import throughput and peak memory, native JSONL and OTLP/JSON, into SQLite.

Generates a corpus with ``tracegraph synth`` (same seed, same bytes), then runs
``tracegraph import`` in a fresh process into a fresh database ``--repeat``
times and prints the medians.  Peak RSS is sampled every 200 ms and summed over
the import and its reader process, interpreters included.  Parse-only throughput (reading without a store) is
printed beside it for context.

    python benchmarks/import_throughput.py                 # ~200k steps per format
    python benchmarks/import_throughput.py --traces 400000 --repeat 1   # ~1 GB native file

Issue 2's floors on this 2-core machine: 50,000 steps/s native JSONL,
25,000 spans/s OTLP/JSON, peak RSS under 300 MB on a 1 GB file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tracegraph.formats import read_stream
from tracegraph.services.synth import write_corpus


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants (the import's reader too)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines()
                          if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, StopIteration, ValueError):
            continue
    return total


def run_import(corpus: Path, db: Path) -> tuple[float, float]:
    """Wall seconds, and peak RSS (MB) summed over the import's processes, sampled."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    command = [sys.executable, "-m", "tracegraph.cli", "import", str(corpus), "--db", str(db),
               "--quiet"]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kb(process.pid))
        time.sleep(0.2)
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"import of {corpus} failed with exit {process.returncode}")
    return elapsed, peak / 1024


def parse_only(corpus: Path) -> float:
    """Seconds to read every trace of the corpus without storing it."""
    start = time.perf_counter()
    with open(corpus, "rb") as stream:
        _, items = read_stream(stream, source=str(corpus))
        for _ in items:
            pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--traces", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default="native,otlp")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where corpora and databases go (default: a temp folder)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tracegraph-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    table = Table(title=f"tracegraph import, median of {args.repeat} "
                        f"(cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.2f})")
    for column in ("format", "steps", "file MB", "import s", "steps/s", "peak RSS MB (all processes)",
                   "parse-only steps/s"):
        table.add_column(column, justify="right" if column != "format" else "left")
    for fmt in args.formats.split(","):
        corpus = workdir / f"corpus-{fmt}-{args.traces}.jsonl"
        stats = write_corpus(corpus, traces=args.traces, format=fmt, seed=11)
        runs = [run_import(corpus, workdir / f"bench-{fmt}.db") for _ in range(args.repeat)]
        seconds = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        parse = statistics.median(parse_only(corpus) for _ in range(args.repeat))
        table.add_row(fmt, f"{stats.steps:,}", f"{stats.bytes / 1e6:,.0f}", f"{seconds:.2f}",
                      f"{stats.steps / seconds:,.0f}", f"{rss:,.0f}",
                      f"{stats.steps / parse:,.0f}")
    Console().print(table)
    if args.workdir is None:
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
