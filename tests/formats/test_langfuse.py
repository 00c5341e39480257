"""The Langfuse reader against real exports, our fixtures, broken input and generated trees."""

from __future__ import annotations

import io
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracegraph.errors import InputError
from tracegraph.formats import detect, langfuse, read_path, read_stream
from tracegraph.formats.records import JsonRecord, first_record
from tracegraph.model import Outcome, Status, StepKind, Trace, summarize

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "langfuse"
REAL = ROOT.parent / "shared" / "formats" / "langfuse"


def traces_of(path: Path) -> list[Trace]:
    items = read_path(path, format="langfuse")
    errors = [str(i) for i in items if isinstance(i, InputError)]
    assert not errors, errors
    return [i for i in items if isinstance(i, Trace)]


def read_bytes(data: bytes, source: str = "input.json") -> list[Trace | InputError]:
    _, items = read_stream(io.BytesIO(data), source=source, format="langfuse")
    return list(items)


def document(value: Any) -> bytes:
    """A JSON document over several lines (a one-line file is read as JSONL)."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2)


def only_error(items: list[Trace | InputError]) -> InputError:
    errors = [i for i in items if isinstance(i, InputError)]
    assert len(errors) == 1, items
    return errors[0]


def step(trace: Trace, step_id: str) -> Any:
    return next(s for s in trace.steps if s.id == step_id)


# --- the real exports from Langfuse's own repository -------------------------------

# file -> (trace id, workflow, kinds, models, {step id: (in, out, cached, cost, parent)})
REAL_EXPECTED: dict[str, tuple[str, str, dict[str, int], set[str],
                               dict[str, tuple[int | None, int | None, int | None,
                                               str | None, str | None]]]] = {
    "agno-2025-06-11.json": (
        "080130871f53145aecf7c29d5dfb6e4c", "Agent.run",
        {"agent": 1, "llm": 4, "tool_call": 1}, {"gpt-4o-mini"},
        {"b38a82eaa62b551e": (1568, 423, None, "0.000489", "1cffdfa6fe3412e6"),
         "fc7f61b57ecebbaf": (663, 225, None, "0.000234449999", "b38a82eaa62b551e")}),
    "autogen-2025-06-06.json": (
        "1b72c51fabed12ae7df83bfd4a09f545", "autogen-chat-trace",
        {"chain": 1, "llm": 1}, {"gpt-4o"},
        {"83517f9062f5ada4": (41, 3, None, "0.000025", "95f4f51edeb603d9")}),
    "google-adk-2025-08-28.json": (
        "b82a0bdc1994fc5d1c8576ca032543f7", "invocation [hello_app]",
        {"chain": 1, "agent": 1, "llm": 2, "tool_call": 1}, {"gemini-2.0-flash"},
        {"bded677884f031ce": (39, 6, None, "0.0000063", "6d8beb2e6a36b133"),
         "04290e4d82aba1bc": (None, None, None, None, "f6e4c65297e40c96")}),
    "google-vertex-tools-2025-09-19.json": (
        "vertex-gemini-trace-001", "Google Vertex AI Gemini Test Trace",
        {"llm": 1}, {"gemini-2.5-flash"},
        {"vertex-gemini-obs-001": (1200, 15, None, "0.00011", None)}),
    "langgraph-2025-08-22.json": (
        "e1fde3efec57ce8a69bafd3fb928a7eb", "LangGraph",
        {"chain": 6, "llm": 2, "tool_call": 1}, {"gpt-4o-2024-08-06"},
        {"4f6535aaebcda355": (60, 15, 0, "0.000075", "98d3e02591797c04"),
         "5ba09605e0929d78": (108, 51, 0, "0.000159", "3b239b11cbb2ac0b")}),
    "llamaindex-2025-06-05.json": (
        "12ea412956f99347b0503c1144acd0ec", "llama-index-trace",
        {"chain": 1, "llm": 1}, {"gpt-4o"},
        {"7ca8b22f6628d0c7": (13, 81, 0, "0.000842499999", "3344aabdd4e66110")}),
    "openai-agents-2025-09-30.json": (
        "fee618f96dc31e0ca38b2f7b26eb8b29", "Agent workflow",
        {"agent": 2, "llm": 2, "tool_call": 1}, {"gpt-4.1-2025-04-14"},
        {"90d94774e8e3724d": (85, 29, 0, "0.000402", "d950b668796240b5"),
         "98870087af69bf06": (55, 15, 0, "0.00023", "d950b668796240b5")}),
    "openai-assistants-2024-05-29.json": (
        "b3b7b128-5664-4f42-9fab-31999da9e2f1", "run_math_tutor",
        {"chain": 3, "llm": 1}, {"gpt-4"},
        {"0d8f5427-c91a-44c8-86c5-e12d806edd57":
            (49, 40, None, "0.00387", "0d6c73e1-be16-436d-a905-b4108912fa93"),
         "be59b862-98dd-4b0e-b92e-c150b9777c2f": (None, None, None, None, None)}),
    "pydantic-ai-tools-2025-12-04.json": (
        "7a38edd8123db47ad8dcb8aa4c5e3926", "joke-generator",
        {"chain": 2, "agent": 3, "llm": 4, "tool_call": 3}, {"gpt-4o-mini-2024-07-18"},
        {"eb0cc14cf7943ad5": (131, 69, None, "0.000061049999", "227eb5c856efa3d3"),
         "49ae06cbfa06611f": (None, None, None, None, "00d3f40ee8e3b716")}),
    "pydantic-ai-trace-2025-06-06.json": (
        "25f4bdeebaab60e6e1bee7e8469554bc", "pydantic-ai-qa-trace",
        {"chain": 2, "llm": 1}, {"gpt-4o"},
        {"5cb389a3bdd21a6e": (31, 96, None, "0.0010375", "0a4fac2553f22f2e")}),
}


@pytest.fixture(scope="module")
def real_dir() -> Path:
    if not REAL.is_dir():
        pytest.skip("../shared/formats not present (a user's clone)")
    return REAL


def test_every_real_export_reads_without_errors(real_dir: Path) -> None:
    files = sorted(real_dir.glob("*.json"))
    assert files
    for path in files:
        with open(path, "rb") as stream:
            assert detect(first_record(stream, source=str(path))) == "langfuse", path.name
        traces = traces_of(path)
        assert len(traces) == 1, path.name
        trace = traces[0]
        assert trace.source_format == "langfuse" and trace.partial is False
        summary = summarize(trace)
        assert summary.orphan_ids == () and summary.outcome == Outcome.SUCCESS
        assert all(s.raw["id"] == s.id for s in trace.steps)


@pytest.mark.parametrize("name", sorted(REAL_EXPECTED))
def test_real_export_values(real_dir: Path, name: str) -> None:
    trace_id, workflow, kinds, models, expected = REAL_EXPECTED[name]
    (trace,) = traces_of(real_dir / name)
    assert trace.id == trace_id and trace.workflow == workflow
    assert Counter(s.kind.value for s in trace.steps) == kinds
    assert {s.model for s in trace.steps if s.model} == models
    for step_id, (tokens_in, tokens_out, cached, cost, parent) in expected.items():
        s = step(trace, step_id)
        assert (s.input_tokens, s.output_tokens, s.cached_input_tokens) == \
            (tokens_in, tokens_out, cached), step_id
        assert s.cost == (Decimal(cost) if cost else None), step_id
        assert s.parent_id == parent, step_id


def test_real_tool_spans_and_metadata_hints(real_dir: Path) -> None:
    (adk,) = traces_of(real_dir / "google-adk-2025-08-28.json")
    tool = step(adk, "04290e4d82aba1bc")
    assert (tool.tool_name, tool.tool_call_id) == \
        ("say_hello", "adk-8bd8dc65-717d-4102-858b-3a1dd6b75a00")
    assert tool.result["response"] == {"greeting": "Hello Langfuse 👋"}  # from output.value
    assert step(adk, "bded677884f031ce").provider == "google"
    (graph,) = traces_of(real_dir / "langgraph-2025-08-22.json")
    search = step(graph, "21441266a9f21251")  # a SPAN whose output is a ToolMessage
    assert search.kind == StepKind.TOOL_CALL and search.tool_name == "Web-Search"
    assert search.tool_call_id == "call_1oGK863sxQHlPreFhDdEs3yl"
    assert step(graph, "b024c7ee7680b708").attributes["thread_id"] == "demo-thread-1"
    (agno,) = traces_of(real_dir / "agno-2025-06-11.json")
    assert step(agno, "6581e147aec6793a").kind == StepKind.TOOL_CALL  # openinference TOOL
    assert agno.session_id == "35cc6c90-b657-4819-b66c-c931c03ad569"
    (assistants,) = traces_of(real_dir / "openai-assistants-2024-05-29.json")
    assert len(summarize(assistants).root_ids) == 3  # three top-level spans, no parent
    assert step(assistants, "0d8f5427-c91a-44c8-86c5-e12d806edd57").end_ns is None
    (autogen,) = traces_of(real_dir / "autogen-2025-06-06.json")
    assert autogen.attributes["langfuse.userId"] == "user_123"
    assert autogen.attributes["email"] == "user@langfuse.com"  # metadata was JSON text
    assert autogen.attributes["langfuse.tags"] == ["autogen", "dev"]


# --- our fixtures ----------------------------------------------------------------------

def test_invoice_export_retry_tool_retriever_and_cached_tokens() -> None:
    (trace,) = traces_of(FIXTURES / "invoice-retry-export.json")
    assert trace.id == "5a0c7e2b19d84f63b7e1c94d2a6f8e31"
    assert trace.workflow == "invoice-processing" and trace.outcome is None
    assert trace.session_id == "ap-batch-2026-03-02-am"
    assert trace.attributes["vendor_id"] == "V-10442"
    assert trace.attributes["langfuse.release"] == "2026.03.1"
    assert trace.attributes["resource.service.name"] == "invoice-agent"
    failed, retried = step(trace, "c3e5071a2b4d6f81"), step(trace, "d4f6182b3c5e7092")
    assert failed.status == Status.ERROR and "decimal_parsing" in (failed.error or "")
    assert (failed.input_tokens, failed.cost) == (3484, Decimal("0.009376"))
    assert retried.status == Status.UNSET and retried.error is None
    assert (retried.input_tokens, retried.cached_input_tokens, retried.output_tokens) == \
        (3484, 3072, 286)
    assert retried.cost == Decimal("0.004648")
    assert (retried.model, retried.provider, retried.operation) == \
        ("gpt-4.1-2025-04-14", "openai", "chat")
    decide = step(trace, "f6182b4d5e708114")
    assert (decide.input_tokens, decide.cached_input_tokens, decide.cache_write_tokens) == \
        (3228, 2048, 0)
    assert decide.provider == "anthropic" and decide.cost == Decimal("0.0020948")
    retrieval = step(trace, "b2d4f6081a3c5e70")
    assert retrieval.kind == StepKind.RETRIEVAL
    assert [d.id for d in retrieval.documents] == \
        ["contract-V-10442-2025-msa", "pricelist-V-10442-2026q1", "po-PO-2026-00417"]
    assert retrieval.documents[0].score == 0.91
    assert retrieval.documents[0].title == "Nordhavn MSA 2025"
    lookup = step(trace, "e5071a3c4d6f8103")
    assert lookup.tool_name == "lookup_purchase_order"
    assert lookup.arguments == {"po_number": "PO-2026-00417", "vendor_id": "V-10442"}
    assert lookup.result["amount_usd"] == "17020.00"
    post = step(trace, "07192c5e6f819225")
    assert post.arguments["amount_usd"] == "18240.50"  # JSON text decoded
    event = step(trace, "182a3d6f70a2a336")
    assert event.kind == StepKind.EVENT
    assert event.attributes["langfuse.statusMessage"] == "policy AP-7 applied"
    assert event.attributes["langfuse.level"] == "DEBUG"
    assert sum((s.cost or Decimal(0) for s in trace.steps), Decimal(0)) == Decimal("0.0161188")
    assert summarize(trace).outcome == Outcome.SUCCESS


def test_failed_api_trace_is_a_failure_by_its_root() -> None:
    (trace,) = traces_of(FIXTURES / "invoice-failed-api-trace.json")
    assert trace.id == "9c41d2e07a6b4f3e8d1a5b2c7e9f0a13" and trace.outcome is None
    summary = summarize(trace)
    assert summary.outcome == Outcome.FAILURE and summary.error_count == 2
    assert "already posted" in (summary.outcome_reason or "")
    root = step(trace, "5a7c9e1b3d5f7a90")
    assert root.cost is None and root.input_tokens is None  # zeros are not stated costs
    check = step(trace, "7c9e1a3d5f7b9c12")  # legacy ``usage`` object, WARNING level
    assert (check.input_tokens, check.output_tokens, check.status) == (2870, 31, Status.UNSET)
    assert check.attributes["langfuse.statusMessage"].startswith("possible duplicate")
    assert step(trace, "6b8d0f2c4e6a8b01").cost == Decimal("0.004612")
    assert trace.attributes["langfuse.htmlPath"].endswith(trace.id)


def test_multi_trace_export() -> None:
    first, second = traces_of(FIXTURES / "ap-batch-multi-trace.json")
    assert first.outcome == Outcome.SUCCESS  # stated in the trace's metadata
    assert [s.id for s in first.steps] == \
        ["31a4c6e8f0b2d4e6", "42b5d7f9a1c3e5f7", "53c6e8a0b2d4f608"]
    assert step(first, "53c6e8a0b2d4f608").kind == StepKind.TOOL_CALL
    assert step(first, "42b5d7f9a1c3e5f7").provider == "openai"  # LangChain ls_provider
    assert second.attributes["question_id"] == "Q-5521" and len(second.steps) == 5
    embed = step(second, "75e8a0c2d4f6b82a")
    assert (embed.kind, embed.operation, embed.cost) == \
        (StepKind.LLM, "embeddings", Decimal("0.00000028"))
    assert [d.id for d in step(second, "86f9b1d3e5a7c93b").documents] == \
        ["policy-AP-11", "policy-AP-3"]
    guard = step(second, "970a1c2e4f6b8d4c")
    assert guard.kind == StepKind.CHAIN and guard.attributes["langfuse.type"] == "GUARDRAIL"
    answer = step(second, "a81b2d3f5a7c9e5d")
    assert answer.cost is None and answer.input_tokens == 655  # unpriced, not free


@pytest.mark.parametrize("name", ["invoice-retry-export.json", "invoice-failed-api-trace.json",
                                  "ap-batch-multi-trace.json"])
def test_fixtures_are_detected(name: str) -> None:
    with open(FIXTURES / name, "rb") as stream:
        assert detect(first_record(stream, source=name)) == "langfuse"


@pytest.mark.parametrize(("usage", "expected"), [
    # Langfuse's additive types: input excludes the cache read, total sums them all
    ({"input": 200, "cache_read_input_tokens": 800, "output": 10, "total": 1010},
     (1000, 10, 800)),
    # a total of input + output only: input already holds the cached part
    ({"input": 1000, "cache_read_input_tokens": 800, "output": 10, "total": 1010},
     (1000, 10, 800)),
    ({"input": 5, "output_reasoning": 40, "output": 60}, (5, 100, None)),
])
def test_cached_tokens_are_part_of_input_tokens(
        usage: dict[str, int], expected: tuple[int, int, int | None]) -> None:
    export = small_export("u", 1)
    export["observations"][0].update(type="GENERATION", usageDetails=usage)
    (trace,) = read_bytes(document(export))
    assert isinstance(trace, Trace)
    s = trace.steps[0]
    assert (s.input_tokens, s.output_tokens, s.cached_input_tokens) == expected


# --- containers -------------------------------------------------------------------------

def small_export(trace_id: str, n: int = 2) -> dict[str, Any]:
    observations = [{"id": f"{trace_id}-o{i}", "traceId": trace_id, "type": "SPAN",
                     "name": f"step {i}", "startTime": f"2026-01-05T10:00:0{i}Z",
                     "parentObservationId": f"{trace_id}-o{i - 1}" if i else None}
                    for i in range(n)]
    return {"trace": {"id": trace_id, "name": "wf"}, "observations": observations}


def test_array_and_jsonl_of_exports() -> None:
    array = orjson.dumps([small_export("t1"), small_export("t2", 3)])
    assert [(t.id, len(t.steps)) for t in read_bytes(array) if isinstance(t, Trace)] == \
        [("t1", 2), ("t2", 3)]
    jsonl = b"\n".join(orjson.dumps(small_export(t)) for t in ("a", "b"))
    assert [t.id for t in read_bytes(jsonl) if isinstance(t, Trace)] == ["a", "b"]


def test_bare_observations_are_grouped_by_trace_across_lines() -> None:
    rows = small_export("t1", 3)["observations"] + small_export("t2", 1)["observations"]
    rows[0], rows[2] = rows[2], rows[0]  # a child before its parent
    jsonl = b"\n".join(orjson.dumps(r) for r in rows)
    with io.BytesIO(jsonl) as stream:
        assert detect(first_record(stream, source="x")) == "langfuse"
    traces = read_bytes(jsonl)
    assert [(t.id, len(t.steps)) for t in traces if isinstance(t, Trace)] == \
        [("t1", 3), ("t2", 1)]


def test_sniff_rejects_other_formats() -> None:
    assert not langfuse.sniff({"trace_id": "x", "steps": []})
    assert not langfuse.sniff({"resourceSpans": []})
    assert not langfuse.sniff({"id": "r1", "run_type": "llm", "trace_id": "t"})
    assert langfuse.sniff([small_export("t")])


# --- bad input --------------------------------------------------------------------------

def broken(mutate: Any, n: int = 3) -> list[Trace | InputError]:
    export = small_export("bad", n)
    mutate(export["observations"])
    return read_bytes(document(export), source="export.json")


@pytest.mark.parametrize(("mutate", "field", "words"), [
    (lambda o: o[1].update(startTime="yesterday"), "observations[1].startTime", "ISO 8601"),
    (lambda o: o[2].update(startTime=True), "observations[2].startTime", "time"),
    (lambda o: o[1].pop("id"), "observations[1].id", "missing"),
    (lambda o: o[0].update(id=17), "observations[0].id", "string"),
    (lambda o: o[2].update(id="bad-o1", parentObservationId=None), "observations[2].id",
     "duplicate"),
    (lambda o: o[0].update(parentObservationId="bad-o2"), "observations[0].parentObservationId",
     "cycle"),
    (lambda o: o[1].update(parentObservationId="gone"), "observations[1].parentObservationId",
     "no observation 'gone'"),
    (lambda o: o[1].update(usageDetails={"input": "many"}), "observations[1].usageDetails.input",
     "whole number"),
    (lambda o: o[1].update(costDetails={"total": -1}), "observations[1].costDetails.total",
     "negative"),
    (lambda o: o[1].update(level="FATAL"), "observations[1].level", "unknown level"),
    (lambda o: o[1].update(endTime="2026-01-05T09:00:00Z"), "observations[1].endTime", "before"),
    (lambda o: o[1].update(traceId="other"), "observations[1].traceId", "belongs to trace"),
])
def test_bad_observation_names_source_record_field_and_trace(
        mutate: Any, field: str, words: str) -> None:
    items = broken(mutate)
    error = only_error(items)
    assert not [i for i in items if isinstance(i, Trace)]  # nothing of that trace
    assert (error.source, error.record, error.field, error.trace_id) == \
        ("export.json", "document", field, "bad")
    assert words in error.message and "'bad'" in str(error)


def test_truncated_json_is_one_error_naming_the_file() -> None:
    data = document(small_export("t1"))[:-20]
    error = only_error(read_bytes(data, source="cut.json"))
    assert error.source == "cut.json" and error.record == "document"
    assert "invalid JSON" in error.message


def test_truncated_array_keeps_the_records_before_the_break() -> None:
    data = orjson.dumps([small_export("t1"), small_export("t2")])[:-30]
    items = read_bytes(data)
    assert [i.id for i in items if isinstance(i, Trace)] == ["t1"]
    assert only_error(items).record == "record 2"


def test_a_bad_trace_does_not_stop_the_others_of_the_export() -> None:
    export = {"traces": [{"id": "good"}, {"id": "bad"}],
              "observations": small_export("good")["observations"]
              + small_export("bad")["observations"]}
    export["observations"][3]["startTime"] = "not-a-time"
    items = read_bytes(document(export), source="multi.json")
    assert [i.id for i in items if isinstance(i, Trace)] == ["good"]
    error = only_error(items)
    assert (error.trace_id, error.field) == ("bad", "observations[3].startTime")


def test_observation_of_an_unlisted_trace_and_id_only_lists_are_rejected() -> None:
    export = {"traces": [{"id": "a"}, {"id": "b"}],
              "observations": small_export("c")["observations"]}
    error = only_error(read_bytes(orjson.dumps(export)))
    assert error.trace_id == "c" and error.field == "observations[0].traceId"
    listed = {"id": "t9", "observations": ["o1", "o2"]}
    error = only_error(read_bytes(orjson.dumps(listed)))
    assert error.field == "observations[0]" and "/api/public/traces/{id}" in error.message


def test_line_of_a_jsonl_file_is_named() -> None:
    lines = [orjson.dumps(small_export("ok")), b'{"trace": {"id": ""}, "observations": []}']
    items = read_bytes(b"\n".join(lines), source="x.jsonl")
    error = only_error(items)
    assert (error.record, error.field) == ("line 2", "trace.id")


# --- generated trees --------------------------------------------------------------------

@st.composite
def observation_trees(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    trace_id = draw(st.text("0123456789abcdef", min_size=8, max_size=32))
    ids = draw(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=12,
                        unique=True))
    observations = []
    for i, obs_id in enumerate(ids):
        parent = draw(st.none() | st.sampled_from(ids[:i])) if i else None
        kind = draw(st.sampled_from(sorted(langfuse.OBSERVATION_TYPES)))
        obs: dict[str, Any] = {"id": obs_id, "traceId": trace_id, "type": kind,
                               "parentObservationId": parent,
                               "startTime": f"2026-02-{1 + i:02d}T12:00:00.250Z"}
        if kind == "GENERATION":
            usage = {"input": draw(st.integers(0, 10**6)), "output": draw(st.integers(0, 10**5)),
                     "input_cached_tokens": draw(st.integers(0, 10**6))}
            if draw(st.booleans()):
                usage["total"] = sum(usage.values())
            micro = draw(st.integers(1, 10**8))
            obs.update(model="gpt-4.1-mini", usageDetails=usage,
                       costDetails={"total": float(Decimal(micro) / 10**6)})
        observations.append(obs)
    return trace_id, draw(st.permutations(observations))


@settings(max_examples=150, deadline=None)
@given(observation_trees())
def test_generated_trees_read_back(tree: tuple[str, list[dict[str, Any]]]) -> None:
    trace_id, observations = tree
    data = orjson.dumps({"trace": {"id": trace_id}, "observations": observations})
    (trace,) = list(langfuse.read(iter([JsonRecord(label="document", data=data)]),
                                  source="gen.json"))
    assert isinstance(trace, Trace) and trace.id == trace_id
    assert [s.id for s in trace.steps] == [o["id"] for o in observations]
    for s, obs in zip(trace.steps, observations):
        assert s.parent_id == obs["parentObservationId"]
        usage = obs.get("usageDetails")
        if usage:
            assert s.input_tokens == usage["input"] + usage["input_cached_tokens"]
            assert (s.output_tokens, s.cached_input_tokens) == \
                (usage["output"], usage["input_cached_tokens"])
            assert s.cost == Decimal(repr(obs["costDetails"]["total"]))
        else:
            assert s.cost is None and s.input_tokens is None
