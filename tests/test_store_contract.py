"""One contract for every store: the same behaviour on SQLite and over Bolt (FalkorDB).

The Bolt store is the first part of issue 7; what it implements so far is held
to exactly the SQLite store's behaviour here.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest

from tracegraph.errors import NotFound
from tracegraph.formats import read_path
from tracegraph.model import EntityLabel, Outcome, Step, StepKind, Trace
from tracegraph.services.importing import import_paths

from .conftest import FIXTURES

@pytest.fixture(params=["sqlite", "bolt"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        from tracegraph.store import SQLiteStore
        store: Any = SQLiteStore(tmp_path / "c.db")
        yield store
        store.close()
        return
    store = request.getfixturevalue("bolt_store")
    # One server for the session: start each test empty.
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


# -- the whole contract, SQLite against Bolt, on every fixture -------------------------

def _loaded(store: Any) -> Any:
    """Every fixture imported, analysed and its failures clustered (lexically)."""
    from tracegraph.config import Config, load_config
    from tracegraph.services.analysis import analyze_stale
    from tracegraph.services.clusters import cluster_failures
    config = load_config(FIXTURES / "tracegraph.toml")
    report = import_paths(store, [FIXTURES])
    assert report.ok, report
    analyze_stale(store, config=config, workers=1)
    cluster_failures(store, config=config, embedder=None)
    return config


def _views(store: Any) -> dict[str, Any]:
    """What each reading method of the contract answers over the loaded fixtures."""
    rows = store.list_traces()
    ids = [r.trace_id for r in rows]
    workflows = sorted({r.workflow for r in rows}, key=lambda w: (w is None, w or ""))
    since = sorted(r.start_ns for r in rows if r.start_ns is not None)[len(rows) // 2]
    clusters = store.clusters()
    page = store.find_traces(limit=5)
    views = {
        "rows": rows, "counts": store.counts(), "entities": store.entities(),
        "traces": [store.get_trace(i) for i in ids],
        "many": store.get_traces(ids[:3] + ["nope"]),
        "graph_nodes": sorted(store.graph(ids[0]).nodes),
        "analyses": store.analyses(ids + ["nope"]),
        "totals": store.analysis_totals(ids + ["nope"]),
        "waste": store.waste_totals(),
        "waste_since": store.waste_totals(since_ns=since),
        "waste_window": store.waste_totals(workflow=workflows[0], since_ns=0, until_ns=since),
        "breakdown": {w: store.cost_breakdown(workflow=w) for w in workflows},
        "outcomes": list(store.outcome_rows()),
        "outcomes_one": list(store.outcome_rows(workflow=workflows[0])),
        "model_calls": sorted(store.model_calls(), key=repr),
        "signatures": store.failure_signatures(),
        "clusters": clusters,
        "cluster_totals": sorted(store.cluster_totals(), key=lambda r: repr(r["cluster_id"])),
        "cluster_totals_wf": sorted(store.cluster_totals(workflow=workflows[0]),
                                    key=lambda r: repr(r["cluster_id"])),
        "members": {c.id: store.cluster_members(c.id) for c in clusters},
        "unclustered": store.cluster_members(None, limit=3),
        "steps": store.step_analyses(ids),
        "documents": store.document_stats(),
        "documents_unused": store.document_stats(min_retrieved=1, max_use_rate=0.5, limit=5),
        "texts": store.signature_texts([h for h, _, _ in store.failure_signatures()][:3]),
        "page": [(row, cost) for _, row, cost in page],
        "page2": [(row, cost) for _, row, cost in store.find_traces(
            after_key=page[-1][0], limit=5)],
        "failed": [r.trace_id for _, r, _ in store.find_traces(outcome=Outcome.FAILURE,
                                                               limit=100)],
        "dear": [r.trace_id for _, r, _ in store.find_traces(min_cost=Decimal("0.01"),
                                                             limit=100)],
        "cheap": [r.trace_id for _, r, _ in store.find_traces(max_cost=Decimal("0.01"),
                                                              limit=100)],
        "auto": [r.trace_id for _, r, _ in store.find_traces(
            attribute=("claim.type", "auto"), limit=100)],
        "overridden": [r.trace_id for _, r, _ in store.find_traces(has_override=True,
                                                                   limit=100)],
        "not_retried": [r.trace_id for _, r, _ in store.find_traces(has_retry=False,
                                                                    limit=100)],
        "dearest": [(r.trace_id, c) for _, r, c in store.find_traces(order="cost", limit=7)],
        "dearest_next": [r.trace_id for _, r, _ in store.find_traces(order="cost", offset=7,
                                                                     limit=7)],
        "newest_failed": [r.trace_id for _, r, _ in store.find_traces(
            order="start", outcome=Outcome.FAILURE, limit=5)],
        "prefixed": [r.trace_id for _, r, _ in store.find_traces(id_prefix="claim-2026",
                                                                 limit=100)],
        "windowed": [r.trace_id for _, r, _ in store.find_traces(
            since_ns=since, workflow=workflows[0], limit=100)],
    }
    return views


def test_both_stores_answer_every_question_alike(bolt_store: Any, tmp_path: Path) -> None:
    """Import, analyse, cluster: every read of the contract gives the same on both."""
    from tracegraph.store import SQLiteStore
    from tracegraph.services.analysis import analysis_version
    bolt_store._run_text("MATCH (n) DETACH DELETE n", {})
    sqlite = SQLiteStore(tmp_path / "p.db")
    config = _loaded(sqlite)
    _loaded(bolt_store)
    assert bolt_store.stale_analyses(analysis_version(config)) == []
    assert bolt_store.analysis_is_current(sqlite.list_traces()[0].trace_id,
                                          analysis_version(config))
    expected, found = _views(sqlite), _views(bolt_store)
    assert expected["waste"]["traces"] > 10 and expected["clusters"]
    assert expected["auto"] and expected["overridden"] and expected["analyses"]
    assert expected["prefixed"] and all(i.startswith("claim-2026") for i in expected["prefixed"])
    for name in expected:
        assert found[name] == expected[name], (name, found[name], expected[name])
    sqlite.close()


def test_annotations_and_embeddings_read_back(any_store: Any) -> None:
    any_store.write_traces(_fixture_traces())
    any_store.add_annotation("claim-2026-0001", "s1", label="wrong", note="n", author="a",
                             created_ns=2)
    any_store.add_annotation("claim-2026-0001", "s1", label="ok", note=None, author="b",
                             created_ns=3)
    found = any_store.annotations([("claim-2026-0001", "s1"), ("claim-2026-0001", "s2")])
    assert [a["label"] for a in found[("claim-2026-0001", "s1")]] == ["wrong", "ok"]
    assert ("claim-2026-0001", "s2") not in found
    vector = bytes(range(256)) * 6
    any_store.put_embeddings("m", {"h1": vector, "h2": b"\x00\x01"})
    assert any_store.embeddings("m", ["h1", "h2", "h3"]) == {"h1": vector, "h2": b"\x00\x01"}
    assert any_store.embeddings("other", ["h1"]) == {}


def test_each_database_name_is_its_own_graph(bolt_store: Any) -> None:
    from tracegraph.store.neo4j import Neo4jStore
    bolt_store._run_text("MATCH (n) DETACH DELETE n", {})
    other = Neo4jStore(bolt_store.url, database="audit2026")
    try:
        other._run_text("MATCH (n) DETACH DELETE n", {})
        other.write_traces(_fixture_traces()[:1])
        assert other.counts().traces == 1
        assert bolt_store.counts().traces == 0
    finally:
        other.close()


def test_a_trace_too_big_for_falkordb_is_refused_whole_and_the_server_lives(
        bolt_store: Any) -> None:
    """FalkorDB's Bolt dies on a message over ~4 KB: such a trace is rejected before
    anything is sent, long attributes go in parts, and the server still answers."""
    bolt_store._run_text("MATCH (n) DETACH DELETE n", {})
    huge_tool = Trace(id="big", source_format="native", steps=(
        Step(id="a", kind=StepKind.TOOL_CALL, tool_name="t" * 5000, start_ns=1),))
    long_attributes = Trace(id="long", source_format="native",
                            attributes={"note": "x" * 9000, "claim.type": "auto"},
                            steps=(Step(id="a", kind=StepKind.AGENT, start_ns=1),))
    result = bolt_store.write_traces([huge_tool, long_attributes])
    assert [e.trace_id for e in result.rejected] == ["big"]
    assert "FalkorDB" in str(result.rejected[0])
    assert bolt_store.find_trace_ids(["big", "long"]) == {"long"}
    assert bolt_store.get_trace("long") == long_attributes
    assert bolt_store.trace_row("long").attributes == long_attributes.attributes
    assert [r.trace_id for _, r, _ in bolt_store.find_traces(
        attribute=("claim.type", "auto"))] == ["long"]
