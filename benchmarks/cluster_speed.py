"""Failure clustering speed: the store's way end to end, and the bare method at 10,000.

1. ``--failures`` failed steps (default 100,000) drawn from ``--distinct``
   signatures (default 2,000: 40 error templates at 50 tools), written as
   traces and analysed (not timed: that is the analyzer's benchmark), then
   clustered from a cold embedding cache: signatures read, embedded, compared,
   clustered and stored.  Issue 5's target: under 60 s on this 2-core machine.
2. The same again with the cache warm (what a re-run costs).
3. ``--large`` distinct signatures (default 10,000) clustered directly.

The model load (torch and MiniLM) is printed on its own.

    python benchmarks/cluster_speed.py
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from tracegraph.analyze.clustering import DEFAULT, cluster, similarity
from tracegraph.analyze.embed import MiniLM
from tracegraph.config import Config
from tracegraph.model import Outcome, Status, Step, StepKind, Trace
from tracegraph.services.analysis import analyze_stale
from tracegraph.services.clusters import cluster_failures
from tracegraph.services.synth_failures import TEMPLATES, fill
from tracegraph.store import SQLiteStore


def _messages(distinct: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """(tool, error type, message template): 40 templates at distinct/40 tools."""
    tools = max(1, distinct // len(TEMPLATES))
    return [(f"{what.strip('{}')}_{t}", error_type, message)
            for t in range(tools) for _, what, error_type, message in TEMPLATES][:distinct]


def _traces(failures: int, distinct: int, seed: int) -> list[Trace]:
    rng = random.Random(seed)
    kinds = _messages(distinct, rng)
    traces = []
    for i in range(failures // 2):
        steps = []
        for k in range(2):
            tool, error_type, message = kinds[(i * 2 + k) % len(kinds)] if i * 2 + k < len(
                kinds) else rng.choice(kinds)
            steps.append(Step(id=f"f{k}", kind=StepKind.TOOL_CALL, tool_name=tool,
                              status=Status.ERROR, error_type=error_type,
                              error=fill(message, rng), cost=Decimal("0.002"),
                              start_ns=i * 10 + k))
        steps.append(Step(id="done", kind=StepKind.OUTCOME, start_ns=i * 10 + 5,
                          outcome=Outcome.SUCCESS))
        traces.append(Trace(id=f"b{i:07d}", source_format="native", workflow="bench",
                            outcome=Outcome.SUCCESS, steps=tuple(steps)))
    return traces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--failures", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=2_000)
    parser.add_argument("--large", type=int, default=10_000)
    args = parser.parse_args()
    model = MiniLM()
    start = time.perf_counter()
    model.embed(["warm up"])
    print(f"model load (torch, sentence-transformers, MiniLM): {time.perf_counter() - start:.1f} s")
    with tempfile.TemporaryDirectory(prefix="tracegraph-clusters-") as folder:
        store = SQLiteStore(Path(folder) / "c.db")
        traces = _traces(args.failures, args.distinct, seed=5)
        for i in range(0, len(traces), 5000):
            store.write_traces(traces[i:i + 5000])
        analyze_stale(store, config=Config())
        start = time.perf_counter()
        run = cluster_failures(store, config=Config(), embedder=model)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        warm_run = cluster_failures(store, config=Config(), embedder=model)
        warm = time.perf_counter() - start
        store.close()
    print(f"{run['failures']:,} failed steps, {run['signatures']:,} distinct signatures: "
          f"clustered in {cold:.1f} s from a cold cache ({run['embedded']:,} embedded; "
          f"{run['clusters']:,} clusters; target < 60 s), {warm:.1f} s warm "
          f"({warm_run['embedded']} embedded)")
    rng = random.Random(9)
    texts = [f"tool_call {tool}: {error_type}: {fill(message, rng)}"
             for tool, error_type, message in _messages(args.large, rng)]
    start = time.perf_counter()
    vectors = model.embed(texts)
    embedded = time.perf_counter() - start
    start = time.perf_counter()
    labels = cluster(similarity(texts, method=DEFAULT, embeddings=vectors),
                     threshold=DEFAULT.threshold)
    clustered = time.perf_counter() - start
    print(f"{len(texts):,} distinct signatures: embedded in {embedded:.1f} s "
          f"({len(texts) / embedded:,.0f}/s), compared and clustered in {clustered:.1f} s "
          f"({len(set(labels)):,} clusters)")


if __name__ == "__main__":
    main()
