"""The SQLite store: merging fragments, idempotence, migrations, the graph it returns."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from tracegraph.errors import NotFound, StoreError
from tracegraph.model import DocumentRef, Outcome, Override, Status, Step, StepKind, Trace
from tracegraph.store import SQLiteStore, open_store
from tracegraph.store.migrations import SCHEMA_VERSION


def _dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return list(db.iterdump())


def _spans(n: int) -> list[Step]:
    """A root agent span and ``n`` children, as a span format would deliver them."""
    root = Step(id="root", kind=StepKind.AGENT, name="claims-triage", start_ns=1_000,
                end_ns=90_000, status=Status.OK)
    children = [Step(id=f"c{i}", kind=StepKind.LLM, name="chat", parent_id="root",
                     start_ns=2_000 + i * 100, end_ns=2_050 + i * 100, model="gpt-4o-mini",
                     provider="openai", input_tokens=100 + i, output_tokens=10)
                for i in range(n)]
    return [root, *children]


def _fragment(steps: list[Step], **fields: object) -> Trace:
    return Trace(id="t1", source_format="otlp", steps=tuple(steps), partial=True,
                 **fields)  # type: ignore[arg-type]


def test_a_trace_round_trips_with_every_field(store: SQLiteStore) -> None:
    step = Step(id="s1", kind=StepKind.RETRIEVAL, name="search", start_ns=5, end_ns=9,
                documents=(DocumentRef(id="POL-7", title="Policy", score=0.9, tokens=820),),
                cost=Decimal("0.0000375"), attributes={"k": [1, 2]}, raw={"spanId": "ab"})
    human = Step(id="s2", kind=StepKind.HUMAN_OVERRIDE, override=Override(
        actor="j.okafor", actor_role="adjuster", reason="policy cap",
        minutes=Decimal("3.5"), replaces="s1"), rules=("EXC-12",), inputs=("s1",))
    trace = Trace(id="t", source_format="native", steps=(step, human), workflow="claims",
                  attributes={"claim.type": "auto"}, cites=("t0",))
    result = store.write_traces([trace])
    assert (result.traces_written, result.steps_written) == (1, 2)
    assert store.get_trace("t") == trace
    counts = store.counts()
    assert (counts.traces, counts.steps, counts.documents, counts.workflows) == (1, 2, 1, 1)


def test_writing_the_same_traces_twice_leaves_the_file_exactly_as_after_once(
        tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    store = SQLiteStore(path)
    traces = [_fragment(_spans(3)), Trace(id="t2", source_format="native",
                                          steps=tuple(_spans(2)))]
    store.write_traces(traces)
    once = _dump(path)
    again = store.write_traces(traces)
    assert again.traces_written == 0 and again.traces_unchanged == 2
    store.close()
    assert _dump(path) == once


def test_late_spans_join_their_trace_and_the_root_brings_outcome_and_workflow(
        store: SQLiteStore) -> None:
    root, *children = _spans(4)
    store.write_traces([_fragment(children[:2])])
    early = store.trace_row("t1")
    assert early.outcome == Outcome.UNKNOWN and early.steps == 2
    store.write_traces([_fragment(children[2:])])
    failed_root = Step(id="root", kind=StepKind.AGENT, name="claims-triage", start_ns=1_000,
                       end_ns=90_000, status=Status.ERROR, error="gave up")
    store.write_traces([_fragment([failed_root], workflow="claims-triage")])
    row = store.trace_row("t1")
    assert (row.steps, row.outcome, row.outcome_reason, row.workflow) == (
        5, Outcome.FAILURE, "gave up", "claims-triage")
    assert row.input_tokens == sum(100 + i for i in range(4))
    assert row.start_ns == 1_000 and row.end_ns == 90_000
    graph = store.graph("t1")
    assert {(u, v) for u, v, k in graph.edges(keys=True) if k == "CHILD_OF"} == {
        (f"c{i}", "root") for i in range(4)}


@given(st.permutations(list(range(7))), st.integers(1, 6))
@settings(max_examples=40, deadline=None)
def test_fragments_in_any_order_and_any_split_give_the_same_trace(
        order: list[int], cut: int) -> None:
    import tempfile
    spans = _spans(6)
    shuffled = [spans[i] for i in order]
    with tempfile.TemporaryDirectory() as folder:
        one = SQLiteStore(Path(folder) / "one.db")
        one.write_traces([_fragment(spans)])
        split = SQLiteStore(Path(folder) / "split.db")
        split.write_traces([_fragment(shuffled[:cut])])
        split.write_traces([_fragment(shuffled[cut:])])
        a, b = one.get_trace("t1"), split.get_trace("t1")
        assert sorted(a.steps, key=lambda s: s.id) == sorted(b.steps, key=lambda s: s.id)
        assert one.trace_row("t1") == split.trace_row("t1")
        one.close()
        split.close()


def test_a_late_span_that_closes_a_parent_cycle_is_rejected_and_nothing_changes(
        store: SQLiteStore) -> None:
    a = Step(id="a", kind=StepKind.CHAIN, parent_id="b")
    store.write_traces([_fragment([a])])
    b = Step(id="b", kind=StepKind.CHAIN, parent_id="a")
    result = store.write_traces([_fragment([b])])
    assert result.traces_written == 0 and len(result.rejected) == 1
    assert "parent cycle" in result.rejected[0].message
    assert result.rejected[0].trace_id == "t1"
    assert [s.id for s in store.get_trace("t1").steps] == ["a"]


def test_a_complete_trace_replaces_what_was_stored(store: SQLiteStore) -> None:
    store.write_traces([Trace(id="t", source_format="native", steps=tuple(_spans(5)))])
    store.write_traces([Trace(id="t", source_format="native", steps=tuple(_spans(1)))])
    assert store.trace_row("t").steps == 2
    assert len(store.get_trace("t").steps) == 2


def test_unknown_ids_raise_not_found(store: SQLiteStore) -> None:
    with pytest.raises(NotFound, match="no trace 'nope'"):
        store.get_trace("nope")
    with pytest.raises(NotFound):
        store.trace_row("nope")


def test_a_new_file_gets_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "new.db")
    assert store.schema_version == SCHEMA_VERSION
    store.close()
    with sqlite3.connect(tmp_path / "new.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_store_from_a_newer_tracegraph_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this tracegraph"):
        SQLiteStore(path)


def test_a_file_that_is_not_sqlite_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        SQLiteStore(path)


def test_open_store_follows_db_then_environment_then_default(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRACEGRAPH_DB", str(tmp_path / "env.db"))
    open_store(None).close()
    assert (tmp_path / "env.db").exists()
    open_store(str(tmp_path / "flag.db")).close()
    assert (tmp_path / "flag.db").exists()
    monkeypatch.delenv("TRACEGRAPH_DB")
    open_store(None).close()
    assert (tmp_path / "tracegraph.db").exists()


def test_the_graph_carries_every_property_and_the_relationships_of_the_design(
        store: SQLiteStore) -> None:
    steps = (
        Step(id="r", kind=StepKind.AGENT, name="claims", start_ns=0, end_ns=100),
        Step(id="ret", kind=StepKind.RETRIEVAL, parent_id="r", start_ns=1,
             documents=(DocumentRef(id="D1"),)),
        Step(id="llm", kind=StepKind.LLM, parent_id="r", start_ns=2, model="gpt-4o",
             provider="openai", input_tokens=50, inputs=("ret",)),
        Step(id="t1", kind=StepKind.TOOL_CALL, parent_id="r", start_ns=3, tool_name="lookup",
             status=Status.ERROR),
        Step(id="t2", kind=StepKind.RETRY, parent_id="r", start_ns=4, tool_name="lookup",
             retry_of="t1"),
        Step(id="h", kind=StepKind.HUMAN_OVERRIDE, parent_id="r", start_ns=5,
             override=Override(actor="ann", replaces="llm"), rules=("EXC-1",)),
    )
    store.write_traces([Trace(id="T", source_format="native", steps=steps, workflow="claims",
                              cites=("T0",))])
    graph = store.graph("T")
    edges = {(u, v, k) for u, v, k in graph.edges(keys=True)}
    assert {("Trace:T", "Workflow:claims", "OF"), ("Trace:T", "Trace:T0", "CITES"),
            ("Trace:T", "llm", "HAS_STEP"), ("llm", "r", "CHILD_OF"),
            ("ret", "Document:D1", "RETRIEVED"), ("llm", "Model:openai/gpt-4o", "RAN_ON"),
            ("llm", "ret", "USES"), ("t1", "Tool:lookup", "CALLED"), ("t2", "t1", "RETRY_OF"),
            ("h", "llm", "OVERRIDES"), ("h", "Actor:ann", "BY"), ("h", "Rule:EXC-1", "APPLIED"),
            ("ret", "llm", "NEXT")} <= edges
    assert graph.nodes["llm"]["input_tokens"] == 50
    assert graph.nodes["llm"]["kind"] == "llm"
    assert graph.nodes["Trace:T"]["workflow"] == "claims"
    assert graph.nodes["Tool:lookup"]["label"] == "Tool"
    assert graph.edges["llm", "ret", "USES"]["evidence"] == "declared input"


def test_a_later_record_of_the_same_step_fills_in_without_erasing(store: SQLiteStore) -> None:
    """A LangSmith patch in a later file closes a run; it must not wipe the post's inputs."""
    post = Step(id="run", kind=StepKind.LLM, name="ChatOpenAI", start_ns=10, model="gpt-4o",
                input={"messages": ["hi"]}, attributes={"tags": ["a"]})
    patch = Step(id="run", kind=StepKind.LLM, end_ns=90, status=Status.OK,
                 output="hello", output_tokens=5, attributes={"usage": 1})
    store.write_traces([_fragment([post])])
    store.write_traces([_fragment([patch])])
    (merged,) = store.get_trace("t1").steps
    assert (merged.name, merged.start_ns, merged.end_ns, merged.model) == (
        "ChatOpenAI", 10, 90, "gpt-4o")
    assert merged.input == {"messages": ["hi"]} and merged.output == "hello"
    assert merged.status == Status.OK and merged.output_tokens == 5
    assert merged.attributes == {"tags": ["a"], "usage": 1}


def test_a_value_too_large_for_the_store_rejects_that_trace_only(store: SQLiteStore) -> None:
    huge = Step(id="x", kind=StepKind.LLM, input_tokens=2**64)
    fine = Trace(id="ok", source_format="native", steps=(Step(id="a", kind=StepKind.LLM),))
    result = store.write_traces([Trace(id="bad", source_format="native", steps=(huge,)), fine])
    assert result.traces_written == 1 and len(result.rejected) == 1
    assert "input_tokens" in result.rejected[0].message
    assert store.find_trace_ids(["bad", "ok"]) == {"ok"}


def test_shared_entities_are_one_node_each_across_traces(store: SQLiteStore) -> None:
    def trace(trace_id: str) -> Trace:
        return Trace(id=trace_id, source_format="native", workflow="claims", steps=(
            Step(id="r", kind=StepKind.RETRIEVAL, documents=(DocumentRef(id="POL-7",
                                                                         title="Policy"),)),
            Step(id="l", kind=StepKind.LLM, model="gpt-4o", provider="openai"),
            Step(id="t", kind=StepKind.TOOL_CALL, tool_name="lookup"),
            Step(id="h", kind=StepKind.HUMAN_OVERRIDE, rules=("EXC-12",),
                 override=Override(actor="ann", actor_role="adjuster"))))
    store.write_traces([trace("a"), trace("b")])
    assert [(e.label.value, e.name, e.properties) for e in store.entities()] == [
        ("Actor", "ann", {"role": "adjuster"}), ("Document", "POL-7", {"title": "Policy"}),
        ("Model", "openai/gpt-4o", {"provider": "openai", "model": "gpt-4o"}),
        ("Rule", "EXC-12", {}), ("Tool", "lookup", {}), ("Workflow", "claims", {})]
    graph = store.graph("a")
    assert graph.nodes["Actor:ann"]["role"] == "adjuster"
    assert graph.nodes["Document:POL-7"]["title"] == "Policy"
