"""The OTLP/JSON reader: fixtures, fragments, bad input, and round-trip properties."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracegraph.errors import InputError
from tracegraph.formats import detect, read_path, read_stream
from tracegraph.formats.otlp_json import decode_any_value, normalize_id, SpanDecodeError
from tracegraph.model import Outcome, Status, StepKind, Trace, summarize

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "otlp"


def traces_of(items: list[Trace | InputError]) -> list[Trace]:
    assert not [i for i in items if isinstance(i, InputError)], items
    return [i for i in items if isinstance(i, Trace)]


def read_bytes(data: bytes, source: str = "test.jsonl") -> list[Trace | InputError]:
    _, items = read_stream(io.BytesIO(data), source=source, format="otlp")
    return list(items)


def av(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": value}


def span(trace_id: str, span_id: str, parent: str | None = None, **attributes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"traceId": trace_id, "spanId": span_id, "name": "s",
                           "startTimeUnixNano": "1780000000000000000",
                           "endTimeUnixNano": "1780000001000000000",
                           "attributes": [{"key": k.replace("__", "."), "value": av(v)}
                                          for k, v in attributes.items()]}
    if parent:
        out["parentSpanId"] = parent
    return out


def request(*spans: dict[str, Any], service: str = "svc") -> dict[str, Any]:
    return {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "t"}, "spans": list(spans)}]}]}


T1 = "4bf92f3577b34da6a3ce929d0e0e4736"
T2 = "5c1e0a7d9b2f4e6a8c3d1f0b2a4e6c8d"


def test_claims_triage_fixture() -> None:
    (trace,) = traces_of(read_path(FIXTURES / "claims_triage_genai.json"))
    assert trace.partial and trace.source_format == "otlp"
    assert trace.workflow == "claims-triage"
    assert trace.session_id == "conv_CLM-88213"
    assert trace.attributes["service.name"] == "claims-service"
    by_id = {s.id: s for s in trace.steps}
    retrieval = by_id["a3ce929d0e0e4736"]
    assert retrieval.kind == StepKind.RETRIEVAL
    assert [d.id for d in retrieval.documents] == [
        "policy/AUTO-2024-17#s4", "policy/AUTO-2024-17#s2", "kb/claims-faq#windshield"]
    first = by_id["b7ad6b7169203331"]
    assert (first.model, first.provider, first.input_tokens, first.output_tokens,
            first.cached_input_tokens) == ("gpt-4o-mini-2024-07-18", "openai", 1843, 64, 1536)
    assert first.input[0]["role"] == "system"
    failed, retry = by_id["c1a2b3c4d5e6f708"], by_id["d2b3c4d5e6f70819"]
    assert (failed.status, failed.error_type, failed.error) == (
        Status.ERROR, "TimeoutError", "policy service did not answer within 5s")
    assert failed.tool_call_id == retry.tool_call_id == "call_Qm2kV8tX1"
    assert retry.result == {"policy_id": "AUTO-2024-17", "collision_deductible": 500,
                            "status": "active"}
    final = by_id["e3c4d5e6f708192a"]
    assert (final.model, final.cache_write_tokens) == ("claude-sonnet-4-20250514", 310)
    assert "policy/AUTO-2024-17#s4" in final.output[0]["parts"][0]["content"]
    root = by_id["00f067aa0ba902b7"]
    assert root.parent_id is None and root.attributes["claim.type"] == "auto"
    assert first.start_ns == 1773064931000000000 + 430_000_000
    summary = summarize(trace)
    assert summary.outcome == Outcome.SUCCESS
    assert summary.input_tokens == 1843 + 2412


def test_failed_support_ticket_with_deprecated_names() -> None:
    (trace,) = traces_of(read_path(FIXTURES / "support_ticket_failed_deprecated.json"))
    assert trace.workflow == "support-triage"
    summary = summarize(trace)
    assert summary.outcome == Outcome.FAILURE
    assert summary.outcome_reason == "escalated to a human: tool permission denied"
    chat = trace.steps[0]
    assert (chat.provider, chat.input_tokens, chat.output_tokens, chat.cached_input_tokens) == \
        ("openai", 912, 143, 768)
    assert chat.input[1]["content"].startswith("Ticket TCK-4471")
    assert trace.outcome is None  # the root's status decides, in summarize


def test_openinference_vocabulary_over_otlp() -> None:
    (trace,) = traces_of(read_path(FIXTURES / "openinference_home_claim.json"))
    assert trace.workflow == "home-claims"
    assert trace.session_id == "sess_9f2c1"
    kinds = [s.kind for s in trace.steps]
    assert kinds == [StepKind.RETRIEVAL, StepKind.LLM, StepKind.TOOL_CALL, StepKind.AGENT]
    llm = trace.steps[1]
    assert str(llm.cost) == "0.000214"
    assert llm.output[0]["parts"][0]["name"] == "schedule_inspection"
    assert trace.steps[2].arguments == {"claim_id": "CLM-90417", "within_days": 14}


def test_split_jsonl_root_last_gives_fragments_whose_union_is_the_trace() -> None:
    items = traces_of(read_path(FIXTURES / "invoice_split_root_last.jsonl"))
    split = [t for t in items if t.id == "7e3a2c9f1d4b6a8e0f5c3b2d4a6e8f0a"]
    assert [len(t.steps) for t in split] == [2, 1, 1]
    assert [t.workflow for t in split] == [None, None, "invoice-matching"]
    union = [s for t in split for s in t.steps]
    assert len({s.id for s in union}) == 4
    merged = Trace(id=split[0].id, source_format="otlp", steps=tuple(union),
                   workflow=split[-1].workflow)
    assert summarize(merged).root_ids == ("8b9cadbecfd0e1f2",)
    assert summarize(merged).outcome == Outcome.SUCCESS


def test_detects_otlp() -> None:
    assert detect(json.loads((FIXTURES / "claims_triage_genai.json").read_text())) == "otlp"


def test_ids_are_normalised_from_base64_and_uppercase_hex() -> None:
    raw = bytes.fromhex(T1)
    assert normalize_id(base64.b64encode(raw).decode(), 16, "traceId") == T1
    assert normalize_id(T1.upper(), 16, "traceId") == T1
    with pytest.raises(SpanDecodeError):
        normalize_id("0" * 16, 8, "spanId")
    with pytest.raises(SpanDecodeError):
        normalize_id("zz" * 8, 8, "spanId")


def test_any_values() -> None:
    assert decode_any_value({"intValue": "42"}) == 42
    assert decode_any_value({"doubleValue": "NaN"}) != decode_any_value({"doubleValue": "NaN"})
    assert decode_any_value({"arrayValue": {"values": [{"boolValue": True},
                                                       {"stringValue": "a"}]}}) == [True, "a"]
    assert decode_any_value({"kvlistValue": {"values": [
        {"key": "k", "value": {"intValue": 3}}]}}) == {"k": 3}
    assert decode_any_value({"bytesValue": "AQI="}) == "AQI="
    assert decode_any_value({}) is None


def test_status_code_strings_and_numbers() -> None:
    a = span(T1, "00000000000000a1")
    a["status"] = {"code": "STATUS_CODE_ERROR", "message": "boom"}
    b = span(T1, "00000000000000b2")
    b["status"] = {"code": 1}
    (trace,) = traces_of(read_bytes(orjson.dumps(request(a, b))))
    assert [s.status for s in trace.steps] == [Status.ERROR, Status.OK]
    assert trace.steps[0].error == "boom"


@pytest.mark.parametrize("mutate, field", [
    (lambda s: s.pop("spanId"), "spanId"),
    (lambda s: s.update(spanId="not-hex-at-all!"), "spanId"),
    (lambda s: s.update(startTimeUnixNano="yesterday"), "startTimeUnixNano"),
    (lambda s: s.update(attributes=[{"key": "a", "value": {"intValue": "x1"}}]),
     "attributes[0].value.intValue"),
    (lambda s: s.update(attributes={"a": 1}), "attributes"),
    (lambda s: s.update(status={"code": 9}), "status.code"),
    (lambda s: s.update(attributes=[{"key": "gen_ai.usage.input_tokens",
                                     "value": {"stringValue": "abc"}}]),
     "attributes[gen_ai.usage.input_tokens]"),
])
def test_a_bad_span_rejects_its_trace_from_the_record_only(mutate: Any, field: str) -> None:
    bad = span(T1, "00000000000000a3")
    mutate(bad)
    data = orjson.dumps(request(span(T1, "00000000000000a1"), span(T2, "00000000000000b1"),
                                bad))
    items = read_bytes(data, source="spans.jsonl")
    errors = [i for i in items if isinstance(i, InputError)]
    traces = [i for i in items if isinstance(i, Trace)]
    assert [t.id for t in traces] == [T2]
    (error,) = errors
    assert error.source == "spans.jsonl" and error.record == "line 1"
    assert error.field == f"resourceSpans[0].scopeSpans[0].spans[2].{field}"
    assert error.trace_id == T1


def test_duplicate_span_id_in_a_record() -> None:
    items = read_bytes(orjson.dumps(request(span(T1, "00000000000000a1"),
                                            span(T1, "00000000000000a1"))))
    (error,) = items
    assert isinstance(error, InputError)
    assert "duplicate span id" in error.message
    assert error.field == "resourceSpans[0].scopeSpans[0].spans[1].spanId"


def test_invalid_json_line_is_reported_and_the_next_line_is_read() -> None:
    first = orjson.dumps(request(span(T1, "00000000000000a1")))
    good = orjson.dumps(request(span(T2, "00000000000000b1")))
    items = read_bytes(first + b"\n" + good[:40] + b"\n" + good + b"\n")
    assert isinstance(items[0], Trace) and items[0].id == T1
    assert isinstance(items[1], InputError) and items[1].record == "line 2"
    assert "invalid JSON" in items[1].message
    assert isinstance(items[2], Trace) and items[2].id == T2


def test_not_a_request() -> None:
    (error,) = read_bytes(b'{"resourceSpans": 3}\n{"resourceSpans": []}\n')
    assert isinstance(error, InputError) and error.field == "resourceSpans"


def test_a_10_mb_attribute_is_accepted() -> None:
    big = "y" * 10_000_000
    (trace,) = traces_of(read_bytes(orjson.dumps(request(
        span(T1, "00000000000000a1", gen_ai__operation__name="chat",
             gen_ai__output__messages=big)))))
    assert trace.steps[0].output == big


def test_outcome_is_set_only_when_an_attribute_says_so() -> None:
    (trace,) = traces_of(read_bytes(orjson.dumps(request(
        span(T1, "00000000000000a1", tracegraph__outcome="failure")))))
    assert trace.outcome == Outcome.FAILURE


# --- properties ------------------------------------------------------------------

span_ids = st.integers(min_value=1, max_value=2**64 - 1).map(lambda n: f"{n:016x}")
tokens = st.none() | st.integers(min_value=0, max_value=2_000_000)


@st.composite
def generated_spans(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(span_ids, min_size=1, max_size=30, unique=True))
    spans = []
    for i, sid in enumerate(ids):
        parent = draw(st.sampled_from([None] + ids[:i])) if i else None
        attrs: dict[str, Any] = {"gen_ai.operation.name": "chat"}
        inp, out = draw(tokens), draw(tokens)
        if inp is not None:
            attrs["gen_ai.usage.input_tokens"] = inp
        if out is not None:
            attrs["gen_ai.usage.output_tokens"] = out
        s = span(T1, sid, parent)
        s["attributes"] = [{"key": k, "value": av(v)} for k, v in attrs.items()]
        spans.append(s)
    return spans


def facts(traces: list[Trace]) -> set[tuple[Any, ...]]:
    return {(s.id, s.parent_id, s.input_tokens, s.output_tokens)
            for t in traces for s in t.steps}


@settings(max_examples=60, deadline=None)
@given(generated_spans())
def test_generated_spans_read_back(spans: list[dict[str, Any]]) -> None:
    traces = traces_of(read_bytes(orjson.dumps(request(*spans))))
    expected = set()
    for s in spans:
        attrs = {a["key"]: int(a["value"]["intValue"]) for a in s["attributes"]
                 if "intValue" in a["value"]}
        expected.add((s["spanId"], s.get("parentSpanId"), attrs.get("gen_ai.usage.input_tokens"),
                      attrs.get("gen_ai.usage.output_tokens")))
    assert facts(traces) == expected


@settings(max_examples=60, deadline=None)
@given(generated_spans(), st.data())
def test_splitting_spans_over_records_in_any_order_keeps_the_union(
        spans: list[dict[str, Any]], data: st.DataObject) -> None:
    whole = facts(traces_of(read_bytes(orjson.dumps(request(*spans)))))
    shuffled = data.draw(st.permutations(spans))
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(spans) - 1)), max_size=4)))
    chunks = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(spans)]) if shuffled[a:b]]
    lines = b"".join(orjson.dumps(request(*chunk)) + b"\n" for chunk in chunks)
    fragments = traces_of(read_bytes(lines))
    assert all(t.partial for t in fragments)
    assert facts(fragments) == whole
