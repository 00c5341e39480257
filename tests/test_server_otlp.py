"""POST /v1/traces over real HTTP: an OpenTelemetry SDK exporter, malformed bodies, auth."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Iterator

import httpx
import orjson
import pytest

from tracegraph.store import SQLiteStore

from .conftest import FIXTURES
from .server import TOKENS, config_with_tokens, gql, running


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    db = tmp_path / "otlp.db"
    SQLiteStore(db).close()
    with running(db, config_with_tokens()) as url:
        yield url, db


def _count(db: Path) -> int:
    store = SQLiteStore(db)
    try:
        return store.counts().traces
    finally:
        store.close()


def _headers(role: str, content_type: str = "application/json") -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}", "Content-Type": content_type}


def test_an_opentelemetry_sdk_exporter_sends_a_genai_trace(served: tuple[str, Path]) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    url, _ = served
    provider = TracerProvider(resource=Resource.create({"service.name": "claims-agent"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
        endpoint=f"{url}/v1/traces", headers={"Authorization": f"Bearer {TOKENS['ingest']}"})))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("invoke_agent claims-triage") as root:
        root.set_attribute("gen_ai.operation.name", "invoke_agent")
        root.set_attribute("gen_ai.agent.name", "claims-triage")
        with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
            chat.set_attribute("gen_ai.operation.name", "chat")
            chat.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            chat.set_attribute("gen_ai.usage.input_tokens", 1200)
            chat.set_attribute("gen_ai.usage.output_tokens", 80)
        with tracer.start_as_current_span("execute_tool lookup_policy") as tool:
            tool.set_attribute("gen_ai.operation.name", "execute_tool")
            tool.set_attribute("gen_ai.tool.name", "lookup_policy")
        trace_id = format(root.get_span_context().trace_id, "032x")
    provider.shutdown()
    found = gql(url, '{ trace(id: "%s") { stepCount steps { __typename kind role '
                     '... on LlmStep { model inputTokens } ... on ToolCallStep { tool } } } }'
                % trace_id).json()
    trace = found["data"]["trace"]
    assert trace["stepCount"] == 3
    llm = next(s for s in trace["steps"] if s["__typename"] == "LlmStep")
    assert (llm["model"], llm["inputTokens"]) == ("gpt-4o-mini", 1200)
    assert llm["role"] is not None  # analysed when first asked for
    assert any(s.get("tool") == "lookup_policy" for s in trace["steps"])


def test_json_and_gzip_bodies_are_accepted_and_idempotent(served: tuple[str, Path]) -> None:
    url, db = served
    body = (FIXTURES / "otlp" / "claims_triage_genai.json").read_bytes()
    first = httpx.post(f"{url}/v1/traces", content=body, headers=_headers("ingest"))
    assert first.status_code == 200 and first.json() == {}
    zipped = httpx.post(f"{url}/v1/traces", content=gzip.compress(body),
                        headers={**_headers("ingest"), "Content-Encoding": "gzip"})
    assert zipped.status_code == 200
    assert _count(db) == 1


def test_a_malformed_body_is_a_clear_400_and_writes_nothing(served: tuple[str, Path]) -> None:
    url, db = served
    body = orjson.loads((FIXTURES / "otlp" / "claims_triage_genai.json").read_bytes())
    truncated = orjson.dumps(body)[:-40]
    answer = httpx.post(f"{url}/v1/traces", content=truncated, headers=_headers("ingest"))
    assert answer.status_code == 400 and answer.json()["message"]
    garbage = httpx.post(f"{url}/v1/traces", content=b"\x0a\xff\xff\xff",
                         headers=_headers("ingest", "application/x-protobuf"))
    assert garbage.status_code == 400
    assert _count(db) == 0


def test_ingestion_checks_role_media_type_and_size(served: tuple[str, Path]) -> None:
    url, _ = served
    body = (FIXTURES / "otlp" / "claims_triage_genai.json").read_bytes()
    assert httpx.post(f"{url}/v1/traces", content=body).status_code == 401
    assert httpx.post(f"{url}/v1/traces", content=body,
                      headers=_headers("reader")).status_code == 403
    assert httpx.post(f"{url}/v1/traces", content=body,
                      headers=_headers("ingest", "text/plain")).status_code == 415
    huge = httpx.post(f"{url}/v1/traces", content=b" " * (33 * 2**20),
                      headers=_headers("ingest"))
    assert huge.status_code == 413


def test_a_body_without_a_length_is_refused_before_it_is_read(served: tuple[str, Path]) -> None:
    url, _ = served

    def chunks() -> Iterator[bytes]:
        yield b'{"resourceSpans": []}'

    answer = httpx.post(f"{url}/v1/traces", content=chunks(), headers=_headers("ingest"))
    assert answer.status_code == 411


def test_values_nested_too_deep_reject_their_span_not_the_server(
        served: tuple[str, Path]) -> None:
    url, db = served
    body = orjson.loads((FIXTURES / "otlp" / "claims_triage_genai.json").read_bytes())
    deep: dict[str, object] = {"stringValue": "bottom"}
    for _ in range(300):
        deep = {"arrayValue": {"values": [deep]}}
    body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"].append(
        {"key": "deep", "value": deep})
    import json  # orjson itself refuses to write 300 levels
    answer = httpx.post(f"{url}/v1/traces", content=json.dumps(body).encode(),
                        headers=_headers("ingest"))
    assert answer.status_code == 200
    assert int(answer.json()["partialSuccess"]["rejectedSpans"]) >= 1
    assert "nested more than 64 levels" in answer.json()["partialSuccess"]["errorMessage"]
