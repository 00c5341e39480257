"""Render time of the decision trail page's drawings on long traces.

Builds a 1,000-step and a 5,000-step agent trace (the looping support agent
of ``tests/test_render_trail.py``), writes each into a temporary SQLite store
and analyses it as the server does, then times page 0 of the trail, the cost
waterfall and the timeline: the median of ``--repeat`` runs of each.

The trail page must answer in under 300 ms for 1,000 steps and 1.5 s for
5,000, analysis included, so the drawings aim for a third of that (100 ms and
500 ms).  ``analyze_trace`` is timed too, to show what is left of the budget,
and so is the export's single page holding the whole trace.

    python benchmarks/trail_render.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table
from timing import median_ms  # benchmarks/timing.py, beside this script

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_render_trail import agent_loop_trace  # noqa: E402  (the tests' long trace)
from tracegraph.config import Config  # noqa: E402
from tracegraph.render.trail import timeline_svg, trail_svg, waterfall_svg  # noqa: E402
from tracegraph.services.analysis import analyze_trace  # noqa: E402
from tracegraph.store import SQLiteStore  # noqa: E402

TARGETS_MS = {1000: (100, 300), 5000: (500, 1500)}
"""Steps -> (what the drawings aim for, what the whole page must meet)."""




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    table = Table(title=f"Decision trail drawings, median of {args.repeat} (ms)")
    for column in ("steps", "nodes / pages", "trail p0", "waterfall", "timeline",
                   "render (aim)", "p0 size", "analyze_trace", "page (budget)",
                   "export: 1 page"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "trail.db")
        for steps, (aim, budget) in TARGETS_MS.items():
            trace = agent_loop_trace(steps)
            store.write_traces([trace])
            analysis = analyze_trace(store, trace.id, config=Config())
            view = trail_svg(trace, analysis)
            trail = median_ms(lambda: trail_svg(trace, analysis), args.repeat)
            waterfall = median_ms(lambda: waterfall_svg(trace, analysis), args.repeat)
            timeline = median_ms(lambda: timeline_svg(trace, analysis), args.repeat)
            render = median_ms(lambda: (trail_svg(trace, analysis), waterfall_svg(trace, analysis),
                                        timeline_svg(trace, analysis)), args.repeat)
            analyse = median_ms(lambda: analyze_trace(store, trace.id, config=Config(),
                                                      trace=trace), args.repeat)
            whole = trail_svg(trace, analysis, page_size=steps)
            export = median_ms(lambda: trail_svg(trace, analysis, page_size=steps), args.repeat)
            nodes = sum(trail_svg(trace, analysis, page=p).shown_steps for p in range(view.pages))
            table.add_row(f"{steps:,}", f"{nodes:,} / {view.pages}", f"{trail:.1f}",
                          f"{waterfall:.1f}", f"{timeline:.1f}",
                          f"[{'green' if render <= aim else 'red'}]{render:.0f}[/] (< {aim})",
                          f"{len(view.svg.encode()) / 1024:,.0f} KB", f"{analyse:,.0f}",
                          f"[{'green' if render + analyse <= budget else 'red'}]"
                          f"{render + analyse:,.0f}[/] (< {budget:,})",
                          f"{export:.0f}, {len(whole.svg.encode()) / 1024:,.0f} KB")
        store.close()
    console = Console()
    Console(width=max(console.width, 140)).print(table)


if __name__ == "__main__":
    main()
