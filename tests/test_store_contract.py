"""One contract for every store: the same behaviour on SQLite and over Bolt (FalkorDB).

The Bolt store is the first part of issue 7; what it implements so far is held
to exactly the SQLite store's behaviour here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from tracegraph.errors import NotFound
from tracegraph.formats import read_path
from tracegraph.model import EntityLabel, Outcome, Step, StepKind, Trace
from tracegraph.services.importing import import_paths

from .conftest import FIXTURES
from .falkordb import falkordb_server

@pytest.fixture(scope="session")
def bolt_store() -> Iterator[Any]:
    """One Bolt store for the session: FalkorDB's Bolt does not take new connections
    well after others closed (seen with 4.16), so the tests share one driver."""
    from tracegraph.store.neo4j import Neo4jStore
    with falkordb_server() as url:
        store = Neo4jStore(url, user="falkordb", database="tracegraph")
        yield store
        store.close()


@pytest.fixture(params=["sqlite", "bolt"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        from tracegraph.store import SQLiteStore
        store: Any = SQLiteStore(tmp_path / "c.db")
        yield store
        store.close()
        return
    store = request.getfixturevalue("bolt_store")
    # FalkorDB serves one graph whatever the database name: start each test empty.
    store._run_text("MATCH (n) DETACH DELETE n", {})
    yield store


def _fixture_traces() -> list[Trace]:
    return [t for t in read_path(FIXTURES / "native" / "claims-triage.jsonl")
            if isinstance(t, Trace)]


def test_written_traces_read_back_whole(any_store: Any) -> None:
    traces = _fixture_traces()
    result = any_store.write_traces(traces)
    assert result.traces_written == len(traces) and not result.rejected
    for trace in traces:
        assert any_store.get_trace(trace.id) == trace
    row = any_store.trace_row("claim-2026-0002")
    assert (row.workflow, row.outcome, row.steps) == ("claims-triage", Outcome.SUCCESS, 12)
    assert row.attributes["claim.type"] == "auto"
    with pytest.raises(NotFound):
        any_store.get_trace("nope")


def test_rewriting_the_same_traces_changes_nothing(any_store: Any) -> None:
    traces = _fixture_traces()
    any_store.write_traces(traces)
    before = any_store.counts()
    again = any_store.write_traces(traces)
    assert again.traces_written == 0 and again.traces_unchanged == len(traces)
    assert any_store.counts() == before


def test_fragments_of_a_trace_merge_across_batches(any_store: Any) -> None:
    child = Trace(id="t", source_format="otlp", partial=True,
                  steps=(Step(id="b", kind=StepKind.LLM, parent_id="a", start_ns=2),))
    root = Trace(id="t", source_format="otlp", partial=True, workflow="w",
                 steps=(Step(id="a", kind=StepKind.AGENT, start_ns=1),))
    any_store.write_traces([child])
    any_store.write_traces([root])
    merged = any_store.get_trace("t")
    assert sorted(s.id for s in merged.steps) == ["a", "b"]
    assert any_store.trace_row("t").workflow == "w"
    cycle = Trace(id="t", source_format="otlp", partial=True,
                  steps=(Step(id="a", kind=StepKind.AGENT, parent_id="b", start_ns=1),))
    assert any_store.write_traces([cycle]).rejected
    assert any_store.get_trace("t") == merged  # nothing of the rejected fragment


def test_listing_counting_and_shared_entities(any_store: Any) -> None:
    traces = _fixture_traces()
    any_store.write_traces(traces)
    rows = any_store.list_traces(workflow="claims-triage")
    assert [r.trace_id for r in rows] == [r.trace_id for r in sorted(
        rows, key=lambda r: (r.start_ns is None, r.start_ns, r.trace_id))]
    assert len(any_store.list_traces(outcome=Outcome.FAILURE)) == sum(
        1 for t in traces if t.outcome == Outcome.FAILURE)
    assert len(any_store.list_traces(limit=1)) == 1
    counts = any_store.counts()
    assert counts.traces == len(traces)
    assert counts.steps == sum(len(t.steps) for t in traces)
    tools = [e.name for e in any_store.entities(EntityLabel.TOOL)]
    assert "lookup_policy" in tools and tools == sorted(tools)
    assert any_store.find_trace_ids(["claim-2026-0001", "nope"]) == {"claim-2026-0001"}


def test_the_import_service_writes_to_either_store(any_store: Any) -> None:
    report = import_paths(any_store, [FIXTURES / "otlp"])
    assert report.ok and report.traces == any_store.counts().traces
    again = import_paths(any_store, [FIXTURES / "otlp"])
    assert again.traces == 0 or all(f.unchanged for f in again.files)
    graph = any_store.graph(any_store.list_traces()[0].trace_id)
    assert graph.number_of_nodes() > 1
