"""The server, measured as a client sees it: `tracegraph serve` in its own process.

Prints start-up time and idle memory of the server process; p50/p99 latency
of ``trace(id)`` for a 100-step trace (steps with their marks and costs) and
of ``wasteReport`` over the stored corpus (``--traces`` synthetic traces,
about 10.6 steps each: 100,000 gives a million steps); sustained requests/s
with ``--clients`` concurrent clients; and OTLP/HTTP ingestion in spans/s
(OTLP/JSON request bodies of ``--batch`` spans, sent one after another).

Floors from issue 6 on this 2-core machine: 10,000 spans/s ingested over
HTTP, 10 ms p50 for a trace query, start-up under 2 s, idle RSS under 150 MB.

    python benchmarks/server_speed.py --traces 100000
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from tracegraph.config import Config
from tracegraph.model import Step, StepKind, Trace
from tracegraph.services.analysis import analyze_stale
from tracegraph.services.importing import import_paths
from tracegraph.services.synth import native_to_otlp, synth_trace, write_corpus
from tracegraph.store import SQLiteStore

TOKEN = "tg_benchmark_admin_token"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _hundred_steps() -> Trace:
    steps = [Step(id="root", kind=StepKind.AGENT, name="bench", start_ns=0)]
    for i in range(99):
        kind = StepKind.LLM if i % 2 == 0 else StepKind.TOOL_CALL
        steps.append(Step(id=f"s{i}", kind=kind, parent_id="root", start_ns=i + 1,
                          model="gpt-4o-mini" if kind == StepKind.LLM else None,
                          input_tokens=1000 + i if kind == StepKind.LLM else None,
                          output_tokens=50 if kind == StepKind.LLM else None,
                          tool_name=None if kind == StepKind.LLM else "lookup",
                          arguments=None if kind == StepKind.LLM else {"id": f"A-{i}"},
                          inputs=(f"s{i - 1}",) if i else ()))
    return Trace(id="hundred-steps", source_format="native", workflow="bench",
                 steps=tuple(steps))


def _timed(client: httpx.Client, body: dict[str, Any], n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.post("/graphql", json=body)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200 and "errors" not in response.json(), response.text
    return times


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracegraph-server-") as folder:
        db = Path(folder) / "server.db"
        corpus = Path(folder) / "corpus.jsonl"
        stats = write_corpus(corpus, traces=args.traces, seed=11)
        store = SQLiteStore(db)
        import_paths(store, [corpus])
        store.write_traces([_hundred_steps()])
        analyze_stale(store, config=Config())
        store.close()
        config = Path(folder) / "tracegraph.toml"
        config.write_text(f'[server.tokens.bench]\nrole = "admin"\nsha256 = '
                          f'"{hashlib.sha256(TOKEN.encode()).hexdigest()}"\n')
        port = 18000 + os.getpid() % 1000
        start = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "tracegraph.cli", "serve", "--db",
                                   str(db), "--port", str(port), "--config", str(config)],
                                  stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=0.2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.02)
                if time.perf_counter() - start > 60:
                    raise RuntimeError("the server did not start")
            startup = time.perf_counter() - start
            time.sleep(1.0)
            idle = _rss_mb(server.pid)
            headers = {"Authorization": f"Bearer {TOKEN}"}
            trace_query = {"query": '{ trace(id: "hundred-steps") { id costUsd steps '
                                    '{ id kind role reason costUsd } } }'}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                _timed(client, trace_query, 20)  # warm
                trace_times = _timed(client, trace_query, 300)
                waste_times = _timed(client, {"query": "{ wasteReport }"}, 7)
            done = [0]
            stop = time.perf_counter() + args.seconds

            def hammer() -> None:
                with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                    while time.perf_counter() < stop:
                        response = client.post("/graphql", json=trace_query)
                        assert response.status_code == 200
                        done[0] += 1

            threads = [threading.Thread(target=hammer) for _ in range(args.clients)]
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            rps = done[0] / (time.perf_counter() - began)
            rng = random.Random(3)
            bodies: list[bytes] = []
            spans = 0
            pending: list[dict[str, Any]] = []
            index = 10_000_000
            while spans < args.spans:
                request = native_to_otlp(synth_trace(rng, index), rng)
                index += 1
                pending.extend(request["resourceSpans"])
                spans += sum(len(s["spans"]) for r in request["resourceSpans"]
                             for s in r["scopeSpans"])
                if sum(len(s["spans"]) for r in pending for s in r["scopeSpans"]) >= args.batch:
                    bodies.append(orjson.dumps({"resourceSpans": pending}))
                    pending = []
            if pending:
                bodies.append(orjson.dumps({"resourceSpans": pending}))
            with httpx.Client(base_url=base, headers={**headers,
                              "Content-Type": "application/json"}, timeout=120) as client:
                began = time.perf_counter()
                for body in bodies:
                    response = client.post("/v1/traces", content=body)
                    assert response.status_code == 200, response.text
                ingest = time.perf_counter() - began
            busy = _rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"store: {stats.traces:,} traces, {stats.steps:,} steps, plus one 100-step trace")
    print(f"start-up {startup:.2f} s (floor < 2 s); idle RSS {idle:.0f} MB (floor < 150 MB); "
          f"{busy:.0f} MB after the runs")
    print(f"trace(id), 100 steps with marks and costs: p50 {_p(trace_times, .5):.1f} ms, "
          f"p99 {_p(trace_times, .99):.1f} ms over {len(trace_times)} (floor p50 < 10 ms)")
    print(f"wasteReport over {stats.steps:,} steps: p50 {_p(waste_times, .5):.0f} ms, "
          f"p99 {_p(waste_times, .99):.0f} ms over {len(waste_times)}")
    print(f"{args.clients} concurrent clients, trace(id): {rps:,.0f} requests/s")
    print(f"OTLP/HTTP (JSON, {args.batch:,}-span bodies): {spans:,} spans "
          f"in {ingest:.1f} s = {spans / ingest:,.0f} spans/s (floor 10,000)")


if __name__ == "__main__":
    main()
