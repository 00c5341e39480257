"""Analysis throughput over a corpus, and `report waste` time over the stored results.

Generates ``--traces`` synthetic traces (~10.6 steps each; 100,000 gives about a
million steps), imports them, analyzes every trace (storing the results), then
times the waste report over the stored analyses, ``explain`` of the costliest
trace against its workflow, and the economics report by three segment
attributes (medians of ``--repeat``).
Targets on this 2-core machine: analysis at 20,000 steps/s or better, the
waste report and the economics report over 1,000,000 steps in under 3 s each.

    python benchmarks/report_speed.py --traces 100000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tracegraph.config import Config
from tracegraph.services.analysis import analyze_stale, waste_report
from tracegraph.services.economics import economics_report
from tracegraph.services.explain import explain_trace
from tracegraph.services.importing import import_paths
from tracegraph.services.synth import write_corpus
from tracegraph.store import SQLiteStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracegraph-report-") as folder:
        corpus = Path(folder) / "corpus.jsonl"
        stats = write_corpus(corpus, traces=args.traces, seed=3)
        store = SQLiteStore(Path(folder) / "bench.db")
        import_paths(store, [corpus])
        start = time.perf_counter()
        analyzed = analyze_stale(store, config=Config())
        analysis_s = time.perf_counter() - start
        timings = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            report = waste_report(store, config=Config())
            timings.append(time.perf_counter() - start)
        costliest = report["costliest"][0]["trace_id"]
        explain_timings = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            explained = explain_trace(store, costliest, config=Config())
            explain_timings.append(time.perf_counter() - start)
        economics_timings = []
        segments = ("claim.type", "claim.requires_exception_doc", "ticket.priority")
        for _ in range(args.repeat):
            start = time.perf_counter()
            economics = economics_report(store, config=Config(), by=segments)
            economics_timings.append(time.perf_counter() - start)
        store.close()
    print(f"corpus: {stats.traces:,} traces, {stats.steps:,} steps")
    print(f"analysis of {analyzed:,} traces: {analysis_s:.1f} s "
          f"({stats.steps / analysis_s:,.0f} steps/s; target >= 20,000)")
    print(f"report waste over {stats.steps:,} stored steps: median "
          f"{statistics.median(timings):.2f} s over {args.repeat} runs (target < 3 s); "
          f"wasted ${report['wasted_usd']} of ${report['total_usd']}")
    print(f"explain {costliest} against {explained['cohort']['traces']:,} traces of its "
          f"workflow: median {statistics.median(explain_timings):.2f} s")
    count = sum(len(w["segments"]) for w in economics["workflows"])
    print(f"report economics over {stats.steps:,} stored steps by {len(segments)} attributes "
          f"({count} segments): median {statistics.median(economics_timings):.2f} s over "
          f"{args.repeat} runs (target < 3 s)")


if __name__ == "__main__":
    main()
