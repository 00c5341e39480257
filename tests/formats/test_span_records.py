"""The span-record reader: Phoenix exports, flat JSONL, nested children, bounded memory."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Iterator

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracegraph.errors import InputError
from tracegraph.formats import detect, read_path, read_stream
from tracegraph.formats import span_records
from tracegraph.formats.records import JsonRecord
from tracegraph.model import Outcome, Status, StepKind, Trace, summarize

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "spans"
SHARED = ROOT.parent / "shared" / "formats"


def traces_of(items: list[Trace | InputError]) -> list[Trace]:
    assert not [i for i in items if isinstance(i, InputError)], items
    return [i for i in items if isinstance(i, Trace)]


def read_bytes(data: bytes, source: str = "spans.jsonl") -> list[Trace | InputError]:
    _, items = read_stream(io.BytesIO(data), source=source, format="spans")
    return list(items)


def flat(trace_id: str, span_id: str, parent: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"trace_id": trace_id, "span_id": span_id, "parent_span_id": parent, "name": "s",
            "start_time": "2026-05-11T16:40:01Z", "end_time": "2026-05-11T16:40:02Z",
            "status_code": "OK", "attributes": extra}


def test_phoenix_style_export_with_nested_attributes() -> None:
    approved, failed = traces_of(read_path(FIXTURES / "phoenix_claims_export.json"))
    assert approved.workflow == "claims-triage" and approved.session_id == "sess_c41"
    agent, retrieval, llm = approved.steps
    assert agent.kind == StepKind.AGENT and agent.parent_id is None
    assert [d.id for d in retrieval.documents] == ["policy/AUTO-2025-02#glass",
                                                   "kb/windshield-vendors"]
    assert (llm.model, llm.provider, llm.input_tokens, llm.output_tokens,
            llm.cached_input_tokens, llm.cache_write_tokens) == (
        "claude-sonnet-4-20250514", "anthropic", 1532, 61, 1280, 0)
    assert llm.input == [{"role": "user", "parts": [{"type": "text", "content":
        "Claim CLM-91102: windshield chip. Context: Glass repair is covered with no deductible."}]}]
    assert llm.attributes == {"llm.token_count.total": 1593}
    assert llm.start_ns == 1775121300710000000
    assert summarize(failed).outcome == Outcome.FAILURE
    assert failed.steps[1].error == "upstream model overloaded"


def test_flat_jsonl_with_a_retried_tool_call() -> None:
    (trace,) = traces_of(read_path(FIXTURES / "order_support_flat.jsonl"))
    assert trace.workflow == "order-support" and trace.session_id == "conv_ord_55"
    chat, failed, retry, root = trace.steps
    assert chat.output[0]["parts"][0]["id"] == "call_trk1"
    assert (failed.status, failed.error_type, failed.error) == (
        Status.ERROR, "HTTPError", "carrier API returned 502")
    assert retry.result == {"status": "in transit", "eta": "2026-05-13"}
    assert failed.arguments == retry.arguments == {"tracking": "1Z999AA10123456784"}
    assert root.parent_id is None and chat.parent_id == root.id


def test_children_nested_inline_take_trace_and_parent_from_their_parent() -> None:
    (trace,) = traces_of(read_path(FIXTURES / "refund_nested_children.json"))
    by_name = {s.name: s for s in trace.steps}
    assert trace.id == "d4a6b8c0e2f4a6b8c0d2e4f6a8b0c2d4"
    assert by_name["ChatCompletion"].parent_id == "aa11bb22cc33dd44"
    assert by_name["refund-policy-guard"].parent_id == "bb22cc33dd44ee55"
    tool = by_name["issue_refund"]
    assert (tool.kind, tool.tool_call_id, tool.arguments) == (
        StepKind.TOOL_CALL, "call_rf_9", {"refund_id": "RF-3321", "amount": 129.0})
    assert "child_spans" not in by_name["refund-agent"].raw
    assert by_name["ChatCompletion"].output == {"decision": "approve", "amount": 129.0}


def test_detection() -> None:
    for name in ("phoenix_claims_export.json", "refund_nested_children.json"):
        assert detect(json.loads((FIXTURES / name).read_text())) == "spans"
    line = (FIXTURES / "order_support_flat.jsonl").read_text().splitlines()[0]
    assert detect(json.loads(line)) == "spans"
    assert not span_records.sniff({"post": [{"id": "r1", "trace_id": "t", "name": "x"}]})
    assert not span_records.sniff({"trace": {}, "observations": [{"id": "o1", "name": "x"}]})


def test_real_phoenix_export() -> None:
    path = SHARED / "phoenix" / "pxi_suggestion_traces.json"
    if not path.exists():
        pytest.skip("../shared/formats not present (a user's clone)")
    with open(path, "rb") as stream:
        fmt, items = read_stream(stream, source=str(path))
        traces = traces_of(list(items))
    assert fmt == "spans"
    assert [len(t.steps) for t in traces] == [10, 11, 10]
    assert [summarize(t).outcome for t in traces] == [
        Outcome.SUCCESS, Outcome.FAILURE, Outcome.SUCCESS]
    tools = [s for s in traces[0].steps if s.kind == StepKind.TOOL_CALL]
    assert [s.tool_name for s in tools][:2] == ["read_prompt_instance", "edit_prompt_instance"]
    assert tools[0].tool_call_id == "call_0002"
    assert traces[0].session_id == "session-0000"


@pytest.mark.parametrize("span, field, message", [
    ({"trace_id": "t1", "name": "x", "attributes": {}}, "span_id", "missing span id"),
    ({"context": {"trace_id": "t1"}, "name": "x"}, "context.span_id", "missing span id"),
    (dict(flat("t1", "s9"), start_time="not a time"), "start_time", "ISO 8601"),
    (dict(flat("t1", "s9"), attributes=[1, 2]), "attributes[0]", "key"),
    (dict(flat("t1", "s9"), attributes="x"), "attributes", "attributes object"),
    (flat("t1", "s9", **{"llm.token_count.prompt": "many"}),
     "attributes[llm.token_count.prompt]", "whole number"),
    (dict(flat("t1", "s9"), status_code="MAYBE"), "status_code", "status"),
])
def test_a_bad_span_names_record_and_field_and_skips_its_trace(
        span: dict[str, Any], field: str, message: str) -> None:
    lines = [flat("t1", "s1"), flat("t2", "s1"), span, flat("t1", "s3", "s1")]
    items = read_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    (error,) = [i for i in items if isinstance(i, InputError)]
    assert (error.source, error.record, error.field) == ("spans.jsonl", "line 3", field)
    assert message in error.message
    assert [t.id for t in items if isinstance(t, Trace)] == ["t2"]


def test_duplicate_span_id_skips_the_trace() -> None:
    items = read_bytes(orjson.dumps([flat("t1", "s1"), flat("t1", "s1"), flat("t2", "s1")]))
    (error,) = [i for i in items if isinstance(i, InputError)]
    assert "duplicate span id 's1'" in error.message
    assert (error.record, error.field) == ("record 2", "span_id")
    assert [t.id for t in items if isinstance(t, Trace)] == ["t2"]


def test_truncated_array_keeps_what_came_before() -> None:
    data = orjson.dumps([flat("t1", "s1"), flat("t1", "s2")])[:-30]
    items = read_bytes(data, source="cut.json")
    (error,) = [i for i in items if isinstance(i, InputError)]
    assert error.source == "cut.json" and error.record == "record 2"
    (trace,) = [i for i in items if isinstance(i, Trace)]
    assert [s.id for s in trace.steps] == ["s1"]


def test_huge_attribute_is_accepted() -> None:
    big = "z" * 10_000_000
    (trace,) = traces_of(read_bytes(orjson.dumps(flat("t1", "s1", **{"output.value": big}))
                                    + b"\n"))
    assert trace.steps[0].output == big


def records(spans: list[dict[str, Any]]) -> Iterator[JsonRecord | InputError]:
    for i, s in enumerate(spans, start=1):
        yield JsonRecord(label=f"line {i}", data=orjson.dumps(s))


def test_memory_is_bounded_by_flushing_fragments() -> None:
    spans = [flat(f"t{i % 7}", f"s{i}") for i in range(1000)]
    fragments = traces_of(list(span_records.read(records(spans), source="x",
                                                 buffer_limit=100)))
    assert max(len(t.steps) for t in fragments) <= 101
    assert sum(len(t.steps) for t in fragments) == 1000
    assert all(t.partial for t in fragments)
    assert {s.id for t in fragments for s in t.steps} == {f"s{i}" for i in range(1000)}


@st.composite
def traces_of_spans(draw: st.DrawFn) -> list[dict[str, Any]]:
    spans: list[dict[str, Any]] = []
    for t in range(draw(st.integers(1, 4))):
        ids = draw(st.lists(st.text("abcdef0123456789", min_size=4, max_size=8),
                            min_size=1, max_size=12, unique=True))
        for i, sid in enumerate(ids):
            parent = draw(st.sampled_from(ids[:i])) if i else None
            count = draw(st.none() | st.integers(0, 10**6))
            extra = {} if count is None else {"llm.token_count.prompt": count}
            spans.append(flat(f"trace{t}", sid, parent, **extra))
    return spans


@settings(max_examples=60, deadline=None)
@given(traces_of_spans(), st.data())
def test_any_order_and_any_buffer_size_give_the_same_union(
        spans: list[dict[str, Any]], data: st.DataObject) -> None:
    def union(items: list[Trace | InputError]) -> set[tuple[Any, ...]]:
        return {(t.id, s.id, s.parent_id, s.input_tokens) for t in traces_of(items)
                for s in t.steps}
    whole = union(list(span_records.read(records(spans), source="x")))
    assert whole == {(s["trace_id"], s["span_id"], s["parent_span_id"],
                      s["attributes"].get("llm.token_count.prompt")) for s in spans}
    shuffled = data.draw(st.permutations(spans))
    limit = data.draw(st.integers(1, 20))
    assert union(list(span_records.read(records(shuffled), source="x",
                                        buffer_limit=limit))) == whole
