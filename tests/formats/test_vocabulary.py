"""The attribute → Step mapping, for both vocabularies, against the specs' own examples."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tracegraph.errors import InputError
from tracegraph.formats.vocabulary import SpanEvent, flatten_attributes, step_from_span
from tracegraph.model import Status, Step, StepKind

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "formats"
PAIRS = SHARED / "openinference-otel-genai"


def step(attributes: dict[str, Any], *, status: Status = Status.UNSET,
         message: str | None = None, events: tuple[SpanEvent, ...] = ()) -> Step:
    return step_from_span(span_id="s1", parent_id=None, name="span", start_ns=1, end_ns=2,
                          status=status, status_message=message, attributes=attributes,
                          events=events, raw={"spanId": "s1"})


def shared(name: str) -> dict[str, Any]:
    if not PAIRS.is_dir():
        pytest.skip("../shared/formats not present (a user's clone)")
    value: dict[str, Any] = json.loads((PAIRS / name).read_text())
    return value


def parts(messages: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    """Messages without the fields one vocabulary has and the other lacks (finish_reason)."""
    return [(m["role"], m["parts"]) for m in messages]


@pytest.mark.parametrize("operation, kind", [
    ("chat", StepKind.LLM), ("text_completion", StepKind.LLM),
    ("generate_content", StepKind.LLM), ("embeddings", StepKind.LLM),
    ("retrieval", StepKind.RETRIEVAL), ("execute_tool", StepKind.TOOL_CALL),
    ("invoke_agent", StepKind.AGENT), ("create_agent", StepKind.AGENT),
    ("something_new", StepKind.CHAIN),
])
def test_genai_operation_names_map_to_kinds(operation: str, kind: StepKind) -> None:
    result = step({"gen_ai.operation.name": operation})
    assert result.kind == kind
    assert result.operation == operation


@pytest.mark.parametrize("span_kind, kind", [
    ("LLM", StepKind.LLM), ("EMBEDDING", StepKind.LLM), ("RETRIEVER", StepKind.RETRIEVAL),
    ("RERANKER", StepKind.RETRIEVAL), ("TOOL", StepKind.TOOL_CALL), ("AGENT", StepKind.AGENT),
    ("CHAIN", StepKind.CHAIN), ("GUARDRAIL", StepKind.CHAIN), ("EVALUATOR", StepKind.CHAIN),
    ("UNKNOWN", StepKind.CHAIN),
])
def test_openinference_span_kinds_map_to_kinds(span_kind: str, kind: StepKind) -> None:
    assert step({"openinference.span.kind": span_kind}).kind == kind


def test_lossy_span_kind_is_kept_as_attribute_lossless_one_is_consumed() -> None:
    assert step({"openinference.span.kind": "GUARDRAIL"}).attributes == \
        {"openinference.span.kind": "GUARDRAIL"}
    assert step({"openinference.span.kind": "LLM"}).attributes == {}


def test_kind_is_inferred_from_attributes_when_not_stated() -> None:
    assert step({"gen_ai.request.model": "gpt-4o"}).kind == StepKind.LLM
    assert step({"tool.name": "search"}).kind == StepKind.TOOL_CALL
    assert step({"gen_ai.retrieval.documents": [{"id": "d1"}]}).kind == StepKind.RETRIEVAL
    assert step({"http.method": "GET"}).kind == StepKind.CHAIN


def test_response_model_wins_and_a_different_request_model_is_kept() -> None:
    result = step({"gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06"})
    assert result.model == "gpt-4o-2024-08-06"
    assert result.attributes == {"gen_ai.request.model": "gpt-4o"}
    same = step({"gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o"})
    assert same.model == "gpt-4o" and same.attributes == {}


def test_provider_prefers_current_name_over_deprecated_system() -> None:
    assert step({"gen_ai.system": "openai", "gen_ai.provider.name": "azure.ai.openai"}).provider \
        == "azure.ai.openai"
    assert step({"gen_ai.system": "anthropic"}).provider == "anthropic"
    assert step({"llm.system": "openai", "llm.provider": "azure"}).provider == "azure"


def test_current_and_deprecated_token_names() -> None:
    current = step({"gen_ai.usage.input_tokens": 1843, "gen_ai.usage.output_tokens": 64,
                    "gen_ai.usage.cache_read.input_tokens": 1536,
                    "gen_ai.usage.cache_creation.input_tokens": 200,
                    "gen_ai.usage.reasoning.output_tokens": 12})
    assert (current.input_tokens, current.output_tokens, current.cached_input_tokens,
            current.cache_write_tokens, current.reasoning_tokens) == (1843, 64, 1536, 200, 12)
    old = step({"gen_ai.usage.prompt_tokens": "912", "gen_ai.usage.completion_tokens": 143,
                "gen_ai.usage.cache_read_input_tokens": 768})
    assert (old.input_tokens, old.output_tokens, old.cached_input_tokens) == (912, 143, 768)
    oi = step({"llm.token_count.prompt": 97, "llm.token_count.completion": 52,
               "llm.token_count.prompt_details.cache_read": 64,
               "llm.token_count.prompt_details.cache_write": 8,
               "llm.token_count.completion_details.reasoning": 5})
    assert (oi.input_tokens, oi.output_tokens, oi.cached_input_tokens, oi.cache_write_tokens,
            oi.reasoning_tokens) == (97, 52, 64, 8, 5)


@pytest.mark.parametrize("key, value", [
    ("gen_ai.usage.input_tokens", "abc"), ("gen_ai.usage.output_tokens", -3),
    ("llm.token_count.prompt", 1.5), ("gen_ai.usage.cache_read.input_tokens", True),
])
def test_bad_token_counts_name_the_attribute(key: str, value: Any) -> None:
    with pytest.raises(InputError) as info:
        step({key: value})
    assert info.value.field == key


def test_cost_only_when_the_source_states_one() -> None:
    assert step({"gen_ai.usage.input_tokens": 10}).cost is None
    assert step({"llm.cost.total": 0.000214}).cost == Decimal("0.000214")
    assert step({"gen_ai.usage.cost": "0.05"}).cost == Decimal("0.05")
    with pytest.raises(InputError) as info:
        step({"llm.cost.total": -1})
    assert info.value.field == "llm.cost.total"


def test_tool_call_fields_from_genai() -> None:
    result = step({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup_policy",
                   "gen_ai.tool.call.id": "call_1",
                   "gen_ai.tool.call.arguments": '{"policy_id": "P-1"}',
                   "gen_ai.tool.call.result": {"status": "active"}})
    assert (result.tool_name, result.tool_call_id) == ("lookup_policy", "call_1")
    assert result.arguments == {"policy_id": "P-1"}
    assert result.result == {"status": "active"}
    assert result.input is None


def test_openinference_tool_span_reads_arguments_and_result_from_input_output() -> None:
    result = step({"openinference.span.kind": "TOOL", "tool.name": "issue_refund",
                   "tool.id": "call_9", "input.value": '{"amount": 129.0}',
                   "input.mime_type": "application/json", "output.value": "ok",
                   "output.mime_type": "text/plain", "tool.parameters": '{"type": "object"}'})
    assert result.arguments == {"amount": 129.0}
    assert result.result == "ok"
    assert result.tool_call_id == "call_9"
    # tool.parameters is the tool's schema per the spec, not this call's arguments
    assert result.attributes == {"tool.parameters": '{"type": "object"}'}


def test_genai_retrieval_documents() -> None:
    result = step({"gen_ai.operation.name": "retrieval",
                   "gen_ai.retrieval.query.text": "hail coverage",
                   "gen_ai.retrieval.documents": json.dumps(
                       [{"id": "doc_123", "score": 0.95}, {"id": 7, "score": 0.5, "page": 3}])})
    assert [(d.id, d.score) for d in result.documents] == [("doc_123", 0.95), ("7", 0.5)]
    assert result.documents[1].metadata == {"page": 3}
    assert result.input == "hail coverage"


def test_openinference_documents_are_rebuilt_from_flattened_keys() -> None:
    result = step({"openinference.span.kind": "RETRIEVER",
                   "retrieval.documents.1.document.id": "b",
                   "retrieval.documents.0.document.id": "a",
                   "retrieval.documents.0.document.score": 0.9,
                   "retrieval.documents.0.document.content": "Section 7",
                   "retrieval.documents.0.document.metadata": '{"page": 12}',
                   "retrieval.documents.1.document.content": "other"})
    assert [d.id for d in result.documents] == ["a", "b"]
    first = result.documents[0]
    assert (first.score, first.content, first.metadata) == (0.9, "Section 7", {"page": 12})
    assert result.attributes == {}


def test_a_document_without_id_gets_a_stable_content_id() -> None:
    one = step({"retrieval.documents.0.document.content": "Glass is covered."})
    two = step({"retrieval.documents.0.document.content": "Glass is covered."})
    assert one.documents[0].id == two.documents[0].id
    assert one.documents[0].id.startswith("sha256:")


def test_system_instructions_become_the_first_input_message() -> None:
    result = step({"gen_ai.operation.name": "chat",
                   "gen_ai.system_instructions": '[{"type": "text", "content": "Be brief."}]',
                   "gen_ai.input.messages": [{"role": "user",
                                              "parts": [{"type": "text", "content": "Hi"}]}]})
    assert result.input == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]


def test_error_status_and_error_type() -> None:
    failed = step({"error.type": "TimeoutError"}, status=Status.ERROR, message="timed out")
    assert (failed.status, failed.error_type, failed.error) == \
        (Status.ERROR, "TimeoutError", "timed out")
    implied = step({"error.type": "RateLimitError"})
    assert implied.status == Status.ERROR


def test_exception_event_fills_the_error_of_a_failed_span_and_is_kept() -> None:
    event = SpanEvent("exception", 5, {"exception.type": "HTTPError",
                                       "exception.message": "502 from carrier"})
    result = step({}, status=Status.ERROR, events=(event,))
    assert (result.error_type, result.error) == ("HTTPError", "502 from carrier")
    assert result.attributes["events"][0]["name"] == "exception"


def test_old_content_events_give_input_and_output() -> None:
    events = (SpanEvent("gen_ai.content.prompt", 1, {"gen_ai.prompt": '[{"role": "user"}]'}),
              SpanEvent("gen_ai.content.completion", 2, {"gen_ai.completion": "Done."}))
    result = step({"gen_ai.operation.name": "chat"}, events=events)
    assert result.input == [{"role": "user"}]
    assert result.output == "Done."
    assert "events" not in result.attributes


def test_unknown_attributes_are_kept_and_raw_is_the_source() -> None:
    result = step({"gen_ai.operation.name": "chat", "claim.id": "CLM-1", "session.id": "s"})
    assert result.attributes == {"claim.id": "CLM-1", "session.id": "s"}
    assert result.raw == {"spanId": "s1"}


def test_openllmetry_indexed_prompt_and_completion() -> None:
    result = step({"gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "Where is my order?",
                   "gen_ai.completion.0.role": "assistant",
                   "gen_ai.completion.0.finish_reason": "tool_calls",
                   "gen_ai.completion.0.tool_calls.0.id": "call_1",
                   "gen_ai.completion.0.tool_calls.0.name": "track",
                   "gen_ai.completion.0.tool_calls.0.arguments": '{"id": 5}'})
    assert result.input == [{"role": "user",
                             "parts": [{"type": "text", "content": "Where is my order?"}]}]
    assert result.output == [{"role": "assistant", "finish_reason": "tool_calls", "parts": [
        {"type": "tool_call", "id": "call_1", "name": "track", "arguments": {"id": 5}}]}]


def test_flatten_nested_attributes_keeps_genai_structured_values() -> None:
    flat = flatten_attributes({
        "llm": {"model_name": "m", "input_messages": [{"message": {"role": "user"}}]},
        "gen_ai.input.messages": [{"role": "user", "parts": []}], "tag": {"tags": ["a"]}})
    assert flat == {"llm.model_name": "m", "llm.input_messages.0.message.role": "user",
                    "gen_ai.input.messages": [{"role": "user", "parts": []}],
                    "tag.tags": ["a"]}


def test_huge_attribute_is_kept_whole() -> None:
    big = "x" * 10_000_000
    result = step({"gen_ai.operation.name": "chat", "gen_ai.output.messages": big})
    assert result.output is big


# --- the same calls in both vocabularies (Arize-ai/openinference fixtures) -----------

def test_both_vocabularies_give_the_same_model_call() -> None:
    genai = step(shared("otel_genai_client_span_tool_calls.json"))
    oi = step(shared("openinference_client_span_tool_calls.json"))
    for field in ("kind", "model", "provider", "input_tokens", "output_tokens"):
        assert getattr(genai, field) == getattr(oi, field), field
    assert (genai.model, genai.input_tokens, genai.output_tokens) == ("gpt-4-0613", 97, 52)
    assert genai.input == oi.input
    assert parts(genai.output) == parts(oi.output)
    tool_call = genai.input[1]["parts"][1]
    assert tool_call == {"type": "tool_call", "id": "1234", "name": "get_weather",
                         "arguments": {"location": "Paris"}}
    assert genai.input[2]["parts"] == [{"type": "tool_call_response", "id": "1234",
                                        "response": "rainy, 57°F"}]


def test_deprecated_genai_names_give_the_same_call() -> None:
    current = step(shared("otel_genai_client_span_tool_calls.json"))
    old = step(shared("otel_genai_deprecated_client_span_tool_calls.json"))
    assert (old.model, old.provider, old.input_tokens, old.output_tokens) == \
        (current.model, current.provider, current.input_tokens, current.output_tokens)
    assert old.input == current.input
    assert old.output["text"] == current.output[0]["parts"][0]["content"]


def test_input_value_only_span_reads_messages_from_json_input() -> None:
    oi = step(shared("openinference_client_span_input_output_only.json"))
    genai = step(shared("otel_genai_client_span_tool_calls.json"))
    assert oi.input == genai.input
    assert oi.output == {"text": genai.output[0]["parts"][0]["content"],
                         "finish_reason": "stop"}


def test_tool_execution_span() -> None:
    tool = step(shared("otel_genai_tool_execution_span.json"))
    assert (tool.kind, tool.tool_name, tool.tool_call_id) == \
        (StepKind.TOOL_CALL, "get_weather", "1234")
    assert tool.attributes["gen_ai.tool.type"] == "function"
