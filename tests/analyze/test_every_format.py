"""The analyzer on every trace of every format we read: invariants that must always hold."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tracegraph.analyze.cost import trace_cost
from tracegraph.analyze.flow import data_flow
from tracegraph.analyze.paths import Reason, Role, analyze_paths
from tracegraph.config import Config
from tracegraph.formats import read_path
from tracegraph.model import EdgeType, Trace

from ..conftest import FIXTURES, SHARED_FORMATS


def _trace_files() -> list[Path]:
    files = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".json", ".jsonl"))
    for folder in ("langfuse", "langsmith", "phoenix"):
        if (SHARED_FORMATS / folder).is_dir():
            files += sorted((SHARED_FORMATS / folder).glob("*.json"))
    return files


@pytest.mark.parametrize("path", _trace_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_step_gets_one_mark_and_the_money_adds_up(path: Path) -> None:
    traces = [t for t in read_path(path) if isinstance(t, Trace)]
    assert traces
    for trace in traces:
        edges = list(data_flow(trace))
        analysis = analyze_paths(trace, edges)
        assert sorted(m.step_id for m in analysis.marks) == sorted(s.id for s in trace.steps)
        essential = {m.step_id for m in analysis.marks if m.role == Role.ESSENTIAL}
        # Wasted by a rule (failed and retried, repeated, replaced) may feed the path;
        # what merely never reached the outcome may not.
        unreached = {m.step_id for m in analysis.marks
                     if m.reason in (Reason.DEAD_END, Reason.UNUSED_RETRIEVAL)}
        for edge in edges:
            if edge.type == EdgeType.USES and edge.source in essential:
                assert edge.target not in unreached
        if analysis.outcome_step is not None:
            assert analysis.outcome_step in essential
        costs = trace_cost(trace, config=Config())
        assert costs.total_usd == sum((c.usd for c in costs.steps if c.usd is not None),
                                      Decimal(0))
        assert all(c.usd is None or c.usd >= 0 for c in costs.steps)
        assert all(c.detail for c in costs.unpriced)
