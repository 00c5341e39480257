"""Analysis time of one long trace: data flow, roles and costs.

Builds an agent trace of ``--steps`` steps (default 10,000) shaped like a long
support session — retrievals, model turns that cite documents, tool calls with
failures and retries, values flowing from tool results into later turns — and
prints the median time of ``--repeat`` analyses.  Issue 3's target on this
2-core machine: a 10,000-step trace in under 0.5 s.

    python benchmarks/analysis_speed.py
"""

from __future__ import annotations

import argparse
import statistics
import time

from tracegraph.analyze.cost import trace_cost
from tracegraph.analyze.flow import data_flow
from tracegraph.analyze.paths import analyze_paths
from tracegraph.config import Config
from tracegraph.model import DocumentRef, Status, Step, StepKind, Trace


def long_trace(steps: int) -> Trace:
    out: list[Step] = [Step(id="root", kind=StepKind.AGENT, start_ns=0)]
    t = 1
    turn = 0
    while len(out) < steps:
        turn += 1
        docs = tuple(DocumentRef(id=f"KB-{turn * 7 % 997}-{k}", tokens=300) for k in range(3))
        out.append(Step(id=f"r{turn}", kind=StepKind.RETRIEVAL, parent_id="root", start_ns=t,
                        documents=docs))
        out.append(Step(id=f"m{turn}", kind=StepKind.LLM, parent_id="root", start_ns=t + 1,
                        model="gpt-4o-mini", provider="openai", input_tokens=2000 + turn,
                        output_tokens=80, output=f"cite {docs[0].id}; call call_{turn}"))
        failed = turn % 5 == 0
        out.append(Step(id=f"t{turn}", kind=StepKind.TOOL_CALL, parent_id="root",
                        start_ns=t + 2, tool_name="lookup_order", tool_call_id=f"call_{turn}",
                        arguments={"order": f"A-{turn}"},
                        status=Status.ERROR if failed else Status.OK,
                        result=None if failed else {"order": f"A-{turn}", "total": 100 + turn}))
        if failed:
            out.append(Step(id=f"t{turn}b", kind=StepKind.RETRY, parent_id="root",
                            start_ns=t + 3, tool_name="lookup_order", retry_of=f"t{turn}",
                            arguments={"order": f"A-{turn}"},
                            result={"order": f"A-{turn}", "total": 100 + turn}))
        t += 10
    out.append(Step(id="answer", kind=StepKind.LLM, parent_id="root", start_ns=t,
                    model="gpt-4o-mini", provider="openai", input_tokens=9000,
                    output_tokens=200, output=f"Order A-{turn} totals {100 + turn}."))
    return Trace(id="long", source_format="native", steps=tuple(out[:steps]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    trace = long_trace(args.steps)
    config = Config()
    timings = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        edges = list(data_flow(trace))
        analyze_paths(trace, edges)
        trace_cost(trace, config=config)
        timings.append(time.perf_counter() - start)
    print(f"analysis of one {len(trace.steps):,}-step trace: median "
          f"{statistics.median(timings):.3f} s over {args.repeat} runs "
          f"({len(trace.steps) / statistics.median(timings):,.0f} steps/s; target < 0.5 s)")


if __name__ == "__main__":
    main()
