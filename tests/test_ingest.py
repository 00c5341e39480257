"""``POST /v1/traces`` without the server: OTLP protobuf and JSON bodies into a real store.

Requests are built with the opentelemetry-proto message classes (and, at the
end, by the OpenTelemetry SDK and its own OTLP encoder); the oracle is always
the same request imported as an OTLP/JSON file by ``tracegraph import``.
"""

from __future__ import annotations

import base64
import doctest
import gzip
import json
import math
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from google.protobuf.json_format import MessageToDict, ParseDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest, ExportTraceServiceResponse)
from opentelemetry.proto.common.v1.common_pb2 import (AnyValue, ArrayValue,
                                                      InstrumentationScope, KeyValue,
                                                      KeyValueList)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from tracegraph.errors import InputError
from tracegraph.formats import otlp_proto
from tracegraph.formats.otlp_proto import decode_request, encode_export_response, \
    encode_status
from tracegraph.model import Status as StepStatus
from tracegraph.model import StepKind, Trace
from tracegraph.services import ingest
from tracegraph.services.importing import import_paths
from tracegraph.services.ingest import BodyTooLarge, IngestResult, UnsupportedMedia, \
    ingest_otlp
from tracegraph.store import SQLiteStore

ROOT = Path(__file__).resolve().parents[1]
OTLP_FIXTURES = ROOT / "fixtures" / "otlp"

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

GENAI_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
ROOT_SPAN, CHAT_SPAN, TOOL_SPAN = "00f067aa0ba902b7", "b7ad6b7169203331", "c1a2b3c4d5e6f708"
OI_TRACE = "5c1e0a7d9b2f4e6a8c3d1f0b2a4e6c8d"
OI_ROOT, OI_LLM, OI_TOOL = "1111111111111111", "2222222222222222", "3333333333333333"
T0 = 1_780_000_000_000_000_000


# -- building requests -----------------------------------------------------------


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, dict):
        return AnyValue(kvlist_value=KeyValueList(values=attributes(value)))
    return AnyValue(string_value=value)


def attributes(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=any_value(value)) for key, value in values.items()]


def span(trace_id: str, span_id: str, parent: str | None, name: str, offset_ms: int,
         duration_ms: int, *, kind: int = Span.SPAN_KIND_INTERNAL, code: int = 1,
         message: str = "", **values: Any) -> Span:
    start = T0 + offset_ms * 1_000_000
    return Span(trace_id=bytes.fromhex(trace_id), span_id=bytes.fromhex(span_id),
                parent_span_id=bytes.fromhex(parent) if parent else b"", name=name,
                kind=kind, start_time_unix_nano=start,  # type: ignore[arg-type]
                end_time_unix_nano=start + duration_ms * 1_000_000,
                attributes=attributes({k.replace("__", "."): v for k, v in values.items()}),
                status=Status(code=code, message=message))  # type: ignore[arg-type]


def request(*spans: Span, service: str = "claims-service",
            scope: str = "opentelemetry.instrumentation.openai_v2") -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource=Resource(attributes=attributes({"service.name": service,
                                                 "deployment.environment.name": "test"})),
        scope_spans=[ScopeSpans(scope=InstrumentationScope(name=scope, version="2.1b0"),
                                spans=list(spans))])])


def genai_spans() -> list[Span]:
    """An agent run in GenAI attributes: a model call and a tool call, the root last."""
    chat = span(GENAI_TRACE, CHAT_SPAN, ROOT_SPAN, "chat gpt-4o-mini", 10, 1800,
                kind=Span.SPAN_KIND_CLIENT, gen_ai__operation__name="chat",
                gen_ai__provider__name="openai", gen_ai__request__model="gpt-4o-mini",
                gen_ai__response__model="gpt-4o-mini-2024-07-18",
                gen_ai__usage__input_tokens=1843, gen_ai__usage__output_tokens=64,
                gen_ai__usage__cache_read__input_tokens=1536,
                gen_ai__response__finish_reasons=["tool_calls"],
                gen_ai__request__temperature=0.2)
    chat.events.append(Span.Event(time_unix_nano=T0 + 20_000_000, name="gen_ai.choice",
                                  attributes=attributes({"index": 0})))
    tool = span(GENAI_TRACE, TOOL_SPAN, ROOT_SPAN, "execute_tool lookup_policy", 1820, 240,
                gen_ai__operation__name="execute_tool", gen_ai__tool__name="lookup_policy",
                gen_ai__tool__call__id="call_Qm2kV8tX1",
                gen_ai__tool__call__arguments='{"policy_id": "AUTO-2024-17"}',
                gen_ai__tool__call__result='{"status": "active", "deductible": 500}')
    root = span(GENAI_TRACE, ROOT_SPAN, None, "invoke_agent claims-triage", 0, 2100,
                kind=Span.SPAN_KIND_SERVER, gen_ai__operation__name="invoke_agent",
                gen_ai__agent__name="claims-triage", gen_ai__conversation__id="conv_88213",
                claim__type="auto", claim__amount=1830.5, claim__flagged=False)
    return [chat, tool, root]


def openinference_spans() -> list[Span]:
    """The same shape in OpenInference attributes, as Phoenix instrumentations write them."""
    llm = span(OI_TRACE, OI_LLM, OI_ROOT, "ChatCompletion", 5, 900,
               openinference__span__kind="LLM", llm__model_name="claude-sonnet-4",
               llm__provider="anthropic", llm__token_count__prompt=912,
               llm__token_count__completion=143,
               llm__input_messages__0__message__role="user",
               llm__input_messages__0__message__content="Inspect the roof damage at 12 Elm St",
               llm__output_messages__0__message__role="assistant",
               llm__output_messages__0__message__content="Scheduling an inspection.")
    tool = span(OI_TRACE, OI_TOOL, OI_ROOT, "schedule_inspection", 910, 120,
                openinference__span__kind="TOOL", tool__name="schedule_inspection",
                input__value='{"claim_id": "CLM-90417", "within_days": 14}',
                input__mime_type="application/json", output__value="booked")
    root = span(OI_TRACE, OI_ROOT, None, "home-claims agent", 0, 1100,
                openinference__span__kind="AGENT", agent__name="home-claims",
                session__id="sess_9f2c1")
    return [llm, tool, root]


def otlp_json(message: Any) -> dict[str, Any]:
    """The OTLP/JSON encoding by the protobuf library: its JSON mapping, ids made hex."""
    document: dict[str, Any] = MessageToDict(message, use_integers_for_enums=True)

    def hex_ids(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("traceId", "spanId", "parentSpanId"):
                    node[key] = base64.b64decode(value).hex()
                else:
                    hex_ids(value)
        elif isinstance(node, list):
            for item in node:
                hex_ids(item)

    hex_ids(document)
    return document


def from_otlp_json(document: dict[str, Any]) -> ExportTraceServiceRequest:
    """An OTLP/JSON document as the protobuf message (hex ids back to bytes)."""
    def base64_ids(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: base64.b64encode(bytes.fromhex(value)).decode()
                    if key in ("traceId", "spanId", "parentSpanId") and value
                    else base64_ids(value) for key, value in node.items()}
        if isinstance(node, list):
            return [base64_ids(item) for item in node]
        return node

    message = ExportTraceServiceRequest()
    ParseDict(base64_ids(document), message)
    return message


def body_of(message: ExportTraceServiceRequest, media: str, *, gzipped: bool = False) -> bytes:
    data = message.SerializeToString() if media == PROTOBUF else orjson.dumps(otlp_json(message))
    return gzip.compress(data) if gzipped else data


def imported_as_json_file(tmp_path: Path, *documents: dict[str, Any]) -> SQLiteStore:
    """The oracle: the same request(s) imported by ``tracegraph import`` from a JSONL file."""
    path = tmp_path / "oracle" / "request.jsonl"
    path.parent.mkdir()
    path.write_bytes(b"\n".join(orjson.dumps(d) for d in documents) + b"\n")
    store = SQLiteStore(tmp_path / "oracle" / "tracegraph.db")
    report = import_paths(store, [path])
    assert report.ok, [str(e) for f in report.files for e in f.rejected]
    return store


def snapshot(store: SQLiteStore) -> list[Any]:
    return [store.counts(), store.list_traces(),
            [store.get_trace(row.trace_id) for row in store.list_traces()]]


# -- the protobuf conversion -----------------------------------------------------


def every_field_request() -> ExportTraceServiceRequest:
    """Every field of the trace messages set, and the odd values: empty, NaN, bytes, nesting."""
    first = span(GENAI_TRACE, CHAT_SPAN, ROOT_SPAN, "chat", 1, 2, kind=Span.SPAN_KIND_CLIENT,
                 code=2, message="rate limited", text="", count=-(2 ** 63), ratio=math.nan,
                 big=math.inf, small=-math.inf, half=0.5, blob=b"\x00\xffbinary", yes=True,
                 nested={"list": [1, "two", 3.0, False, [b"\x01"]], "empty": {}}, none=[])
    first.trace_state = "vendor=1"
    first.flags = 0x101
    first.dropped_attributes_count = 1
    first.dropped_events_count = 2
    first.dropped_links_count = 3
    first.events.append(Span.Event(time_unix_nano=T0 + 5, name="exception",
                                   attributes=attributes({"exception.type": "RateLimit"}),
                                   dropped_attributes_count=4))
    first.links.append(Span.Link(trace_id=bytes.fromhex(OI_TRACE),
                                 span_id=bytes.fromhex(OI_ROOT), trace_state="k=v",
                                 attributes=attributes({"link.kind": "follows"}),
                                 dropped_attributes_count=5, flags=1))
    first.attributes.append(KeyValue(key="unset"))  # a value of no kind
    first.attributes.append(KeyValue(key="absent", value=AnyValue()))
    bare = Span(trace_id=bytes.fromhex(GENAI_TRACE), span_id=bytes.fromhex(ROOT_SPAN))
    bare.status.SetInParent()  # present, all defaults
    message = request(first, bare)
    message.resource_spans[0].schema_url = "https://opentelemetry.io/schemas/1.26.0"
    message.resource_spans[0].resource.dropped_attributes_count = 6
    message.resource_spans[0].scope_spans[0].schema_url = "https://example.com/s"
    message.resource_spans[0].scope_spans[0].scope.attributes.extend(attributes({"a": 1}))
    message.resource_spans.append(ResourceSpans())  # no resource, no scopes
    return message


def test_protobuf_becomes_the_otlp_json_encoding_field_by_field() -> None:
    message = every_field_request()
    decoded = decode_request(message.SerializeToString(), source="test")
    expected = otlp_json(message)
    assert decoded == expected
    # the same keys in the same order: the stored raw span is byte-identical
    assert orjson.dumps(decoded) == orjson.dumps(expected)
    attrs = {kv["key"]: kv.get("value") for kv in decoded["resourceSpans"][0]["scopeSpans"][0]
             ["spans"][0]["attributes"]}
    assert attrs["count"] == {"intValue": str(-(2 ** 63))}
    assert attrs["ratio"] == {"doubleValue": "NaN"} and attrs["big"] == {"doubleValue": "Infinity"}
    assert attrs["blob"] == {"bytesValue": base64.b64encode(b"\x00\xffbinary").decode()}
    assert attrs["text"] == {"stringValue": ""}
    assert attrs["absent"] == {} and attrs["unset"] is None
    first = decoded["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert (first["traceId"], first["spanId"], first["parentSpanId"]) == (
        GENAI_TRACE, CHAT_SPAN, ROOT_SPAN)
    assert first["links"][0]["traceId"] == OI_TRACE
    assert (first["kind"], first["status"]) == (3, {"message": "rate limited", "code": 2})
    assert first["startTimeUnixNano"] == str(T0 + 1_000_000)


def test_every_field_request_is_read_by_the_json_reader(store: SQLiteStore,
                                                        tmp_path: Path) -> None:
    message = every_field_request()
    result = ingest_otlp(store, message.SerializeToString(), content_type=PROTOBUF,
                         content_encoding=None)
    assert (result.accepted_spans, result.rejected_spans) == (2, 0), result.error_message
    chat = {s.id: s for s in store.get_trace(GENAI_TRACE).steps}[CHAT_SPAN]
    assert (chat.status, chat.error, chat.error_type) == (
        StepStatus.ERROR, "rate limited", "RateLimit")
    assert chat.attributes["nested"] == {"list": [1, "two", 3.0, False, ["AQ=="]], "empty": {}}
    assert chat.attributes["count"] == -(2 ** 63)
    oracle = imported_as_json_file(tmp_path, otlp_json(message))
    assert store.get_trace(GENAI_TRACE) == oracle.get_trace(GENAI_TRACE)


def test_empty_protobuf_body_is_an_empty_request() -> None:
    assert decode_request(b"", source="test") == {}
    store = SQLiteStore(":memory:")
    assert ingest_otlp(store, b"", content_type=PROTOBUF, content_encoding=None) == \
        IngestResult(accepted_spans=0, rejected_spans=0)


# -- the stored trace is the one the JSON file import gives ---------------------


@pytest.mark.parametrize("spans, trace_id", [(genai_spans, GENAI_TRACE),
                                             (openinference_spans, OI_TRACE)],
                         ids=["genai", "openinference"])
@pytest.mark.parametrize("media, gzipped", [(PROTOBUF, False), (PROTOBUF, True), (JSON, False),
                                            (JSON, True)],
                         ids=["protobuf", "protobuf-gzip", "json", "json-gzip"])
def test_ingested_trace_equals_the_imported_json_file(
        store: SQLiteStore, tmp_path: Path, spans: Any, trace_id: str, media: str,
        gzipped: bool) -> None:
    message = request(*spans())
    result = ingest_otlp(store, body_of(message, media, gzipped=gzipped), content_type=media,
                         content_encoding="gzip" if gzipped else None)
    assert result == IngestResult(accepted_spans=3, rejected_spans=0, traces=[trace_id])
    oracle = imported_as_json_file(tmp_path, otlp_json(message))
    assert store.get_trace(trace_id) == oracle.get_trace(trace_id)
    assert store.trace_row(trace_id) == oracle.trace_row(trace_id)
    assert store.counts() == oracle.counts()


def test_genai_request_over_protobuf(store: SQLiteStore) -> None:
    ingest_otlp(store, body_of(request(*genai_spans()), PROTOBUF, gzipped=True),
                content_type="application/x-protobuf", content_encoding="gzip")
    trace = store.get_trace(GENAI_TRACE)
    assert (trace.source_format, trace.workflow, trace.session_id) == (
        "otlp", "claims-triage", "conv_88213")
    assert trace.attributes["claim.type"] == "auto"
    assert trace.attributes["claim.amount"] == 1830.5
    assert trace.attributes["service.name"] == "claims-service"
    steps = {s.id: s for s in trace.steps}
    assert set(steps) == {ROOT_SPAN, CHAT_SPAN, TOOL_SPAN}
    root, chat, tool = steps[ROOT_SPAN], steps[CHAT_SPAN], steps[TOOL_SPAN]
    assert root.parent_id is None and root.kind == StepKind.AGENT
    assert chat.parent_id == tool.parent_id == ROOT_SPAN
    assert (chat.kind, chat.model, chat.provider) == (
        StepKind.LLM, "gpt-4o-mini-2024-07-18", "openai")
    assert (chat.input_tokens, chat.output_tokens, chat.cached_input_tokens) == (1843, 64, 1536)
    assert chat.attributes["gen_ai.response.finish_reasons"] == ["tool_calls"]
    assert chat.start_ns == T0 + 10_000_000 and chat.end_ns == T0 + 1_810_000_000
    assert (tool.kind, tool.tool_name, tool.tool_call_id) == (
        StepKind.TOOL_CALL, "lookup_policy", "call_Qm2kV8tX1")
    assert tool.arguments == {"policy_id": "AUTO-2024-17"}
    assert tool.result == {"status": "active", "deductible": 500}
    assert chat.raw["spanId"] == CHAT_SPAN and chat.raw["kind"] == 3
    row = store.trace_row(GENAI_TRACE)
    assert (row.steps, row.input_tokens, row.output_tokens) == (3, 1843, 64)


def test_openinference_request_over_protobuf(store: SQLiteStore) -> None:
    ingest_otlp(store, body_of(request(*openinference_spans(), service="home"), PROTOBUF),
                content_type=PROTOBUF, content_encoding="identity")
    trace = store.get_trace(OI_TRACE)
    assert (trace.workflow, trace.session_id) == ("home-claims", "sess_9f2c1")
    steps = {s.id: s for s in trace.steps}
    llm, tool = steps[OI_LLM], steps[OI_TOOL]
    assert (llm.kind, llm.model, llm.provider, llm.input_tokens, llm.output_tokens) == (
        StepKind.LLM, "claude-sonnet-4", "anthropic", 912, 143)
    assert llm.parent_id == OI_ROOT
    assert llm.input[0]["role"] == "user"
    assert (tool.kind, tool.tool_name, tool.arguments, tool.result) == (
        StepKind.TOOL_CALL, "schedule_inspection", {"claim_id": "CLM-90417", "within_days": 14},
        "booked")


def fixture_requests() -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(OTLP_FIXTURES.iterdir()):
        lines = path.read_text().splitlines() if path.suffix == ".jsonl" \
            else [path.read_text()]
        found.extend((f"{path.name}:{i}", json.loads(line)) for i, line in enumerate(lines, 1)
                     if line.strip())
    return found


@pytest.mark.parametrize("name, document", fixture_requests(),
                         ids=[name for name, _ in fixture_requests()])
def test_otlp_fixtures_sent_as_protobuf_give_the_same_steps(
        tmp_path: Path, name: str, document: dict[str, Any]) -> None:
    """Real-shaped OTLP/JSON requests, encoded as protobuf, read as the file import reads them.

    The raw span differs only in its encoding (the fixtures write some numbers
    as JSON numbers), so steps are compared without it.
    """
    store = SQLiteStore(tmp_path / "ingested.db")
    result = ingest_otlp(store, from_otlp_json(document).SerializeToString(),
                         content_type=PROTOBUF, content_encoding=None)
    assert result.rejected_spans == 0, result.error_message
    oracle = imported_as_json_file(tmp_path, document)
    assert sorted(result.traces) == sorted(row.trace_id for row in oracle.list_traces())

    def without_raw(trace: Trace) -> Trace:
        return msgspec.structs.replace(trace, steps=tuple(
            msgspec.structs.replace(s, raw=None) for s in trace.steps))

    for trace_id in result.traces:
        assert without_raw(store.get_trace(trace_id)) == without_raw(oracle.get_trace(trace_id))


# -- merging, idempotence --------------------------------------------------------


def test_a_trace_split_over_two_requests_root_last_is_one_trace(
        store: SQLiteStore, tmp_path: Path) -> None:
    chat, tool, root = genai_spans()
    first = ingest_otlp(store, body_of(request(chat, tool), PROTOBUF), content_type=PROTOBUF,
                        content_encoding=None)
    assert (first.accepted_spans, store.trace_row(GENAI_TRACE).workflow) == (2, None)
    second = ingest_otlp(store, body_of(request(root), JSON, gzipped=True), content_type=JSON,
                         content_encoding="gzip")
    assert (second.accepted_spans, second.traces) == (1, [GENAI_TRACE])
    whole = imported_as_json_file(tmp_path, otlp_json(request(chat, tool, root)))
    assert store.get_trace(GENAI_TRACE) == whole.get_trace(GENAI_TRACE)
    assert store.trace_row(GENAI_TRACE).workflow == "claims-triage"
    assert store.counts().traces == 1


def test_the_same_request_twice_leaves_the_store_as_once(store: SQLiteStore) -> None:
    body = body_of(request(*genai_spans(), *openinference_spans()), PROTOBUF, gzipped=True)
    first = ingest_otlp(store, body, content_type=PROTOBUF, content_encoding="gzip")
    once = snapshot(store)
    again = ingest_otlp(store, body, content_type=PROTOBUF, content_encoding="gzip")
    assert snapshot(store) == once
    assert first == again == IngestResult(accepted_spans=6, rejected_spans=0,
                                          traces=[GENAI_TRACE, OI_TRACE])
    # and the JSON encoding of the same request changes nothing either
    ingest_otlp(store, body_of(request(*genai_spans(), *openinference_spans()), JSON),
                content_type=JSON, content_encoding=None)
    assert snapshot(store) == once


# -- bad bodies: refused whole, nothing written ----------------------------------


@pytest.fixture
def filled(store: SQLiteStore) -> SQLiteStore:
    ingest_otlp(store, body_of(request(*openinference_spans()), PROTOBUF),
                content_type=PROTOBUF, content_encoding=None)
    return store


def test_truncated_protobuf_is_refused_and_the_store_is_unchanged(filled: SQLiteStore) -> None:
    before = snapshot(filled)
    body = body_of(request(*genai_spans()), PROTOBUF)
    with pytest.raises(InputError) as caught:
        ingest_otlp(filled, body[: len(body) - 7], content_type=PROTOBUF,
                    content_encoding=None, source="POST /v1/traces from 10.0.0.7")
    assert type(caught.value) is InputError
    message = str(caught.value)
    assert message.startswith("POST /v1/traces from 10.0.0.7: not a protobuf "
                              "ExportTraceServiceRequest"), message
    assert snapshot(filled) == before


@pytest.mark.parametrize("body, encoding, media, expected", [
    (b"\x0a\xff\xff\xff\xff\x0f", None, PROTOBUF, "not a protobuf ExportTraceServiceRequest"),
    (b"{not json", None, JSON, "invalid JSON"),
    (b"[]", None, JSON, "expected an ExportTraceServiceRequest object, got list"),
    (b'{"resourceSpans": {}}', None, JSON, "field resourceSpans: expected a resourceSpans list"),
    (b'{"spans": []}', None, JSON, "expected a resourceSpans list"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": {"traceId": "x"}}]}]}', None, JSON,
     "field resourceSpans[0].scopeSpans[0].spans: expected a spans list"),
    (b'{"resourceSpans": [{"scopeSpans": [7]}]}', None, JSON,
     "field resourceSpans[0].scopeSpans[0]: expected an object, got int"),
    (b'{"resourceSpans": [[]]}', None, JSON, "field resourceSpans[0]: expected an object"),
    (b"\x1f\x8b\x08\x00not really gzip", "gzip", PROTOBUF, "the body is not valid gzip"),
    (gzip.compress(b'{"resourceSpans": []}')[:-12], "gzip", JSON, "the gzip body is truncated"),
    (b'{"resourceSpans": []}', "gzip", JSON, "the body is not valid gzip"),
], ids=["protobuf", "json", "array", "resource-spans-object", "no-resource-spans",
        "spans-object", "scope-not-object", "resource-not-object", "gzip-corrupt",
        "gzip-truncated", "not-gzipped"])
def test_malformed_bodies_are_refused_whole(filled: SQLiteStore, body: bytes,
                                            encoding: str | None, media: str,
                                            expected: str) -> None:
    before = snapshot(filled)
    with pytest.raises(InputError) as caught:
        ingest_otlp(filled, body, content_type=media, content_encoding=encoding)
    assert type(caught.value) is InputError
    assert str(caught.value).startswith("POST /v1/traces")
    assert expected in str(caught.value)
    assert snapshot(filled) == before


def test_a_json_request_whose_valid_parts_are_well_formed_but_empty_is_accepted(
        store: SQLiteStore) -> None:
    for body in (b"{}", b'{"resourceSpans": []}',
                 b'{"resourceSpans": [{"scopeSpans": [{"scope": {"name": "x"}}]}]}'):
        assert ingest_otlp(store, body, content_type=JSON, content_encoding=None) == \
            IngestResult(accepted_spans=0, rejected_spans=0)
    assert store.counts().traces == 0


# -- partial success -------------------------------------------------------------


def test_json_request_with_one_bad_span_is_a_partial_success(store: SQLiteStore) -> None:
    document = otlp_json(request(*genai_spans(), *openinference_spans()))
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[4]["spanId"] = "not-a-span-id"  # the OpenInference tool span
    result = ingest_otlp(store, orjson.dumps(document), content_type=JSON,
                         content_encoding=None)
    assert (result.accepted_spans, result.rejected_spans, result.traces) == (3, 3, [GENAI_TRACE])
    assert result.error_message == (
        f"3 of 6 spans rejected: trace {OI_TRACE}: field "
        "resourceSpans[0].scopeSpans[0].spans[4].spanId: spanId 'not-a-span-id' is not "
        "16 hex digits")
    assert [row.trace_id for row in store.list_traces()] == [GENAI_TRACE]


def test_protobuf_request_with_bad_spans_is_a_partial_success(store: SQLiteStore) -> None:
    chat, tool, root = genai_spans()
    short_id = span(OI_TRACE, OI_ROOT, None, "root", 0, 5)
    short_id.span_id = b"\x01\x02\x03\x04\x05"
    bad_tokens = span(OI_TRACE[::-1], OI_LLM, None, "chat", 0, 5,
                      gen_ai__usage__input_tokens="many")
    no_trace = span(GENAI_TRACE, "4444444444444444", None, "orphan", 0, 5)
    no_trace.trace_id = b""
    unknown_code = span(GENAI_TRACE[::-1], OI_TOOL, None, "odd", 0, 5, code=7)
    message = request(chat, short_id, tool, bad_tokens, root, no_trace, unknown_code)
    result = ingest_otlp(store, gzip.compress(message.SerializeToString()),
                         content_type="Application/X-Protobuf; proto=otlp",
                         content_encoding="GZIP")
    assert (result.accepted_spans, result.rejected_spans, result.traces) == (3, 4, [GENAI_TRACE])
    assert result.error_message.startswith("4 of 7 spans rejected: ")
    assert "field resourceSpans[0].scopeSpans[0].spans[5].traceId: missing traceId" \
        in result.error_message
    assert "spans[1].spanId: spanId '0102030405' is not 16 hex digits" in result.error_message
    assert "spans[3].attributes[gen_ai.usage.input_tokens]" in result.error_message
    assert result.error_message.endswith("; 1 more")
    assert store.counts().traces == 1 and len(store.get_trace(GENAI_TRACE).steps) == 3


def test_a_trace_the_store_rejects_is_counted_as_rejected(store: SQLiteStore) -> None:
    """Two requests that each hold half of a parent cycle: the merge is refused."""
    a = span(GENAI_TRACE, CHAT_SPAN, TOOL_SPAN, "a", 0, 5)
    b = span(GENAI_TRACE, TOOL_SPAN, CHAT_SPAN, "b", 0, 5)
    assert ingest_otlp(store, body_of(request(a), PROTOBUF), content_type=PROTOBUF,
                       content_encoding=None).accepted_spans == 1
    result = ingest_otlp(store, body_of(request(b, *openinference_spans()), PROTOBUF),
                         content_type=PROTOBUF, content_encoding=None)
    assert (result.accepted_spans, result.rejected_spans, result.traces) == (3, 1, [OI_TRACE])
    assert result.error_message.startswith(f"1 of 4 spans rejected: trace {GENAI_TRACE}: ")
    assert "once merged with the other spans of this trace" in result.error_message


# -- what the endpoint does not read ---------------------------------------------


@pytest.mark.parametrize("content_type, encoding, expected", [
    ("text/plain", None, "Content-Type 'text/plain': send OTLP as application/x-protobuf or "
                         "application/json"),
    ("", None, "no Content-Type"),
    (None, None, "no Content-Type"),
    ("application/grpc", None, "Content-Type 'application/grpc'"),
    ("application/json; charset=latin-1", None, "charset 'latin-1'"),
    (PROTOBUF, "br", "Content-Encoding 'br': send gzip or identity"),
    (PROTOBUF, "deflate, gzip", "Content-Encoding 'deflate'"),
])
def test_unsupported_media_is_refused_before_reading(
        store: SQLiteStore, content_type: str | None, encoding: str | None,
        expected: str) -> None:
    body = body_of(request(*genai_spans()), PROTOBUF)
    with pytest.raises(UnsupportedMedia) as caught:
        ingest_otlp(store, gzip.compress(body) if encoding else body,
                    content_type=content_type, content_encoding=encoding)
    assert isinstance(caught.value, InputError)
    assert expected in str(caught.value)
    assert store.counts().traces == 0


def test_json_media_type_parameters_are_understood(store: SQLiteStore) -> None:
    body = body_of(request(*genai_spans()), JSON)
    for content_type in ("application/json; charset=utf-8", 'APPLICATION/JSON;charset="UTF-8"'):
        assert ingest_otlp(store, body, content_type=content_type,
                           content_encoding=" identity ").accepted_spans == 3


def test_gzip_in_several_members_and_codings_in_order(store: SQLiteStore) -> None:
    body = body_of(request(*genai_spans()), PROTOBUF)
    members = gzip.compress(body[:100]) + gzip.compress(body[100:])
    assert ingest_otlp(store, members, content_type=PROTOBUF,
                       content_encoding="x-gzip").accepted_spans == 3
    assert ingest_otlp(store, gzip.compress(gzip.compress(body)), content_type=PROTOBUF,
                       content_encoding="gzip, identity, gzip").accepted_spans == 3


def test_a_gzip_bomb_stops_at_max_bytes(store: SQLiteStore) -> None:
    bomb = gzip.compress(b"\x00" * (64 << 20), compresslevel=9)  # 64 MiB of zeros in ~64 KB
    assert len(bomb) < 100_000
    with pytest.raises(BodyTooLarge) as caught:
        ingest_otlp(store, bomb, content_type=PROTOBUF, content_encoding="gzip",
                    max_bytes=1 << 20)
    assert isinstance(caught.value, InputError)
    assert "decompresses to more than 1,048,576 bytes" in str(caught.value)
    assert store.counts().traces == 0


def test_a_body_over_max_bytes_is_refused_before_decoding(store: SQLiteStore) -> None:
    body = body_of(request(*genai_spans()), PROTOBUF)
    with pytest.raises(BodyTooLarge, match=f"the body is {len(body):,} bytes, over the limit "
                                           "of 100"):
        ingest_otlp(store, body, content_type=PROTOBUF, content_encoding=None, max_bytes=100)
    assert ingest_otlp(store, body, content_type=PROTOBUF, content_encoding=None,
                       max_bytes=len(body)).accepted_spans == 3


# -- the response bodies ---------------------------------------------------------


def test_export_response_bodies() -> None:
    assert encode_export_response() == b""  # all accepted: partial_success unset
    assert encode_export_response(json=True) == b"{}"
    body = encode_export_response(rejected_spans=3, error_message="3 of 6 spans rejected")
    response = ExportTraceServiceResponse.FromString(body)
    assert (response.partial_success.rejected_spans,
            response.partial_success.error_message) == (3, "3 of 6 spans rejected")
    assert orjson.loads(encode_export_response(rejected_spans=3, error_message="x", json=True)) \
        == {"partialSuccess": {"rejectedSpans": "3", "errorMessage": "x"}}


def test_status_bodies_decode_as_google_rpc_status() -> None:
    status_pb2 = pytest.importorskip("google.rpc.status_pb2")
    for message, code in (("bad body ✗", 3), ("", 3), ("x" * 300, 8), ("negative", -1)):
        decoded = status_pb2.Status.FromString(encode_status(message, code=code))
        assert (decoded.code, decoded.message) == (code, message)
    assert orjson.loads(encode_status("no", json=True)) == {"code": 3, "message": "no"}


def test_the_docstring_example_runs() -> None:
    assert doctest.testmod(ingest).failed == 0
    assert doctest.testmod(otlp_proto).failed == 0


# -- the most realistic body: the OpenTelemetry SDK and its own OTLP encoder -----


def test_spans_from_the_opentelemetry_sdk_encoded_by_its_exporter(
        store: SQLiteStore, tmp_path: Path) -> None:
    sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource as SdkResource
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id

    exporter = InMemorySpanExporter()
    provider = sdk_trace.TracerProvider(resource=SdkResource.create(
        {"service.name": "sdk-claims"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tracegraph.tests", "1.0")
    with tracer.start_as_current_span("invoke_agent claims", kind=SpanKind.SERVER,
                                      attributes={"gen_ai.operation.name": "invoke_agent",
                                                  "gen_ai.agent.name": "claims-sdk",
                                                  "claim.type": "home"}) as root:
        with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT, attributes={
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                "gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": 1200,
                "gen_ai.usage.output_tokens": 80,
                "gen_ai.response.finish_reasons": ("tool_calls",)}) as chat:
            pass
        with tracer.start_as_current_span("execute_tool lookup_policy", attributes={
                "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup_policy",
                "gen_ai.tool.call.id": "call_1"}, record_exception=False,
                set_status_on_exception=False) as tool:
            tool.record_exception(TimeoutError("policy service did not answer"))
            tool.set_status(StatusCode.ERROR, "timed out")
    provider.shutdown()
    finished = exporter.get_finished_spans()
    assert len(finished) == 3

    message = encode_spans(finished)
    result = ingest_otlp(store, gzip.compress(message.SerializeToString()),
                         content_type=PROTOBUF, content_encoding="gzip")
    trace_id = format_trace_id(root.get_span_context().trace_id)
    assert result == IngestResult(accepted_spans=3, rejected_spans=0, traces=[trace_id])
    trace = store.get_trace(trace_id)
    steps = {s.id: s for s in trace.steps}
    root_id = format_span_id(root.get_span_context().span_id)
    chat_step = steps[format_span_id(chat.get_span_context().span_id)]
    tool_step = steps[format_span_id(tool.get_span_context().span_id)]
    assert trace.workflow == "claims-sdk" and trace.attributes["claim.type"] == "home"
    assert trace.attributes["telemetry.sdk.language"] == "python"
    assert steps[root_id].parent_id is None
    assert chat_step.parent_id == tool_step.parent_id == root_id
    assert (chat_step.model, chat_step.input_tokens, chat_step.output_tokens) == (
        "gpt-4o", 1200, 80)
    assert (tool_step.tool_name, tool_step.status, tool_step.error, tool_step.error_type) == (
        "lookup_policy", StepStatus.ERROR, "timed out", "TimeoutError")
    oracle = imported_as_json_file(tmp_path, otlp_json(message))
    assert trace == oracle.get_trace(trace_id)
