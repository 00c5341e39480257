"""Server-side render time of the decision trail page, for big traces.

Builds a 1,000-step and a 5,000-step trace (an agent looping over tool calls and
model turns, a share of the calls failing and retried, a human override near
the end), stores them in a fresh SQLite file, serves the real application with
uvicorn on 127.0.0.1, and times ``GET /ui/traces/{id}`` (page 1 of the trail,
the timeline, the waterfall and the step details) over HTTP as the median of
``--repeat`` requests, after one warm-up.  Also the trace list and the audit
export of the big trace.

    python benchmarks/ui_speed.py

Issue 8's targets: under 300 ms for the 1,000-step trace, under 1.5 s for the
5,000-step one.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
import uvicorn
from rich.console import Console
from rich.table import Table
from timing import median_ms  # benchmarks/timing.py, beside this script

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_render_trail import agent_loop_trace  # noqa: E402  (the tests' big trace)
from tracegraph.config import Config
from tracegraph.model import Outcome, Override, Status, Step, StepKind, Trace
from tracegraph.server import create_app
from tracegraph.services.analysis import analyze_stale
from tracegraph.store import SQLiteStore


def big_trace(trace_id: str, steps: int) -> Trace:
    """An agent's long run: model turns and tool calls, every seventh call failing and
    tried again, a person stepping in at the end."""
    made = [Step(id="root", kind=StepKind.AGENT, name="agent", start_ns=0,
                 end_ns=steps * 1_000_000, status=Status.OK)]
    i = 0
    while len(made) < steps - 2:
        start = (len(made)) * 1_000_000
        made.append(Step(id=f"llm{i}", kind=StepKind.LLM, name="plan", parent_id="root",
                         start_ns=start, end_ns=start + 800_000, model="gpt-4o-mini",
                         provider="openai", input_tokens=1200 + i, output_tokens=80,
                         output=f"call lookup for item {i}"))
        fails = i % 7 == 3
        made.append(Step(id=f"tool{i}", kind=StepKind.TOOL_CALL, name="lookup",
                         parent_id="root", tool_name="lookup", start_ns=start + 900_000,
                         end_ns=start + 950_000,
                         status=Status.ERROR if fails else Status.OK,
                         error="timeout" if fails else None,
                         arguments={"item": i}, result=None if fails else {"item": i}))
        if fails:
            made.append(Step(id=f"retry{i}", kind=StepKind.RETRY, name="lookup",
                             parent_id="root", tool_name="lookup", retry_of=f"tool{i}",
                             start_ns=start + 960_000, end_ns=start + 990_000,
                             status=Status.OK, arguments={"item": i}, result={"item": i}))
        i += 1
    last = len(made) * 1_000_000
    made.append(Step(id="human", kind=StepKind.HUMAN_OVERRIDE, name="review",
                     parent_id="root", start_ns=last, end_ns=last + 1,
                     override=Override(actor="ana", actor_role="adjuster",
                                       reason="checked by hand", minutes=Decimal(6),
                                       replaces=f"llm{i - 1}")))
    made.append(Step(id="done", kind=StepKind.OUTCOME, name="resolved", parent_id="root",
                     start_ns=last + 2, end_ns=last + 3, outcome=Outcome.SUCCESS))
    return Trace(id=trace_id, source_format="native", workflow="long-runs",
                 steps=tuple(made[:steps]))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def median_http_ms(client: httpx.Client, url: str, repeat: int) -> float:
    client.get(url).raise_for_status()  # warm-up: imports, templates
    return median_ms(lambda: client.get(url).raise_for_status(), repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracegraph-ui-bench-") as folder:
        store = SQLiteStore(Path(folder) / "ui.db")
        store.write_traces([big_trace("run-1000", 1000), big_trace("run-5000", 5000),
                            agent_loop_trace(5000, trace_id="loop-5000")])
        config = Config()
        analyze_stale(store, config=config, workers=1)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(store, config, no_auth=True),
                                               host="127.0.0.1", port=port,
                                               log_config=None, access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        rows: list[tuple[str, float, str]] = []
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                for trace_id, target in (("run-1000", "< 300 ms"), ("run-5000", "< 1.5 s")):
                    rows.append((f"trail page, {trace_id[4:]} steps",
                                 median_http_ms(client, f"/ui/traces/{trace_id}", args.repeat),
                                 target))
                rows.append(("trail page, 5000-step agent loop (sub-agents, polls, retries)",
                             median_http_ms(client, "/ui/traces/loop-5000", args.repeat), "< 1.5 s"))
                rows.append(("trail page 3, 5000 steps",
                             median_http_ms(client, "/ui/traces/run-5000?page=2", args.repeat), ""))
                rows.append(("trace list", median_http_ms(client, "/ui/traces", args.repeat), ""))
                rows.append(("audit export HTML, 5000 steps",
                             median_http_ms(client, "/ui/traces/run-5000/export.html", 3), ""))
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    table = Table(title="UI render time over HTTP (median; 127.0.0.1)", title_justify="left")
    for column in ("page", "median ms", "target"):
        table.add_column(column, justify="left" if column == "page" else "right")
    for name, ms, target in rows:
        table.add_row(name, f"{ms:,.0f}", target)
    Console().print(table)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
