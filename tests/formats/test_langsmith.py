"""The LangSmith reader against real SDK payloads, our fixtures, bad input and generated trees."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracegraph.errors import InputError
from tracegraph.formats import detect, langsmith, read_path
from tracegraph.formats.records import iter_json_records
from tracegraph.model import Outcome, Status, Step, StepKind, Trace, summarize

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "formats" / "langsmith"
FIXTURES = ROOT / "fixtures" / "langsmith"


def read_bytes(data: bytes, source: str = "runs.json") -> list[Trace | InputError]:
    return list(langsmith.read(iter_json_records(io.BytesIO(data), source=source),
                               source=source))


def read_value(value: Any, source: str = "runs.json") -> list[Trace | InputError]:
    """``value`` as an indented JSON file: one document (a one-line file is ``line 1``)."""
    return read_bytes(json.dumps(value, indent=1).encode(), source)


def traces(items: list[Trace | InputError]) -> list[Trace]:
    errors = [i for i in items if isinstance(i, InputError)]
    assert not errors, [str(e) for e in errors]
    return [i for i in items if isinstance(i, Trace)]


def errors(items: list[Trace | InputError]) -> list[InputError]:
    return [i for i in items if isinstance(i, InputError)]


def by_id(trace: Trace) -> dict[str, Step]:
    return {s.id: s for s in trace.steps}


def ns(iso: str) -> int:
    from tracegraph.formats.values import time_ns
    value = time_ns(iso)
    assert value is not None
    return value


# ---------------------------------------------------------------- real SDK payloads

REAL_CASES = {
    # file: (run id, model, input, output, reasoning tokens, start, end)
    "langsmith_js_wrap_openai_default.json": (
        "dc34609e-3eeb-459d-bc2a-6fedb01d2e6e", "gpt-4o-mini", 9, 9, 0,
        1728803137170 * 10**6, 1728803138285 * 10**6),
    "langsmith_js_wrap_openai_stream.json": (
        "33c08c32-435c-4788-b973-b5bee4a31f87", "gpt-4o-mini", 9, 9, 0,
        1728803135809 * 10**6, 1728803136663 * 10**6),
    "langsmith_py_wrap_openai_.json": (
        "d0d84d31-923d-4cb5-94a8-40a0a0087578", "gpt-4o-mini", 9, 9, 0,
        ns("2024-10-11T20:58:23.298773+00:00"), ns("2024-10-11T20:58:24.417106+00:00")),
    "langsmith_py_wrap_openai_reasoning.json": (
        "a8b34ded-ccd2-4fb7-bccb-9cd625066a14", "o1-mini", 43, 2497, 1408,
        ns("2024-10-11T20:58:24.544431+00:00"), ns("2024-10-11T20:58:39.682524+00:00")),
    "langsmith_py_wrap_openai_stream.json": (
        "fe8ffecb-72ce-4cd2-bdb7-01f34654c391", "gpt-4o-mini", 9, 9, 0,
        ns("2024-10-11T20:58:20.695375+00:00"), ns("2024-10-11T20:58:22.023816+00:00")),
}


def real_file(name: str) -> Path:
    if not REAL.parent.is_dir():
        pytest.skip("../shared/formats not present (a user's clone)")
    return REAL / name


def test_every_real_file_is_covered() -> None:
    if not REAL.parent.is_dir():
        pytest.skip("../shared/formats not present (a user's clone)")
    assert {p.name for p in REAL.glob("*.json")} == set(REAL_CASES)


@pytest.mark.parametrize("name", sorted(REAL_CASES))
def test_real_payload_reads_as_one_merged_llm_step(name: str) -> None:
    run_id, model, tokens_in, tokens_out, reasoning, start, end = REAL_CASES[name]
    path = real_file(name)
    assert detect(json.loads(path.read_bytes())) == "langsmith"
    (trace,) = traces(read_path(path))
    assert trace.id == run_id and trace.partial and trace.source_format == "langsmith"
    assert trace.workflow == "ChatOpenAI" and trace.attributes["project"] == "default"
    (step,) = trace.steps  # post and patch of the same run are one step
    assert step.id == run_id and step.parent_id is None
    assert step.kind == StepKind.LLM and step.operation == "chat"
    assert (step.model, step.provider) == (model, "openai")
    assert (step.input_tokens, step.output_tokens) == (tokens_in, tokens_out)
    assert (step.cached_input_tokens, step.reasoning_tokens) == (0, reasoning)
    assert step.cost is None  # no cost in the payload: unpriced, never $0
    assert (step.start_ns, step.end_ns, step.status) == (start, end, Status.OK)
    assert step.raw["start_time"] and step.raw["end_time"]  # the merged run
    assert step.output["choices"][0]["message"]["content"] == "Howdy! How can I assist you today?" \
        or model == "o1-mini"
    assert step.input["messages"][0]["role"] == "user"


def test_js_patch_without_id_is_matched_by_dotted_order() -> None:
    payload = json.loads(real_file("langsmith_js_wrap_openai_default.json").read_bytes())
    assert "id" not in payload["patch"][0]
    (trace,) = traces(read_value(payload))
    (step,) = trace.steps
    assert step.attributes["runtime"]["sdk"] == "langsmith-js"
    assert step.raw["outputs"]["id"] == "chatcmpl-AHmxWgRAkoZJCaH30D7gz5t1OCc30"


def test_streamed_run_keeps_chunk_count_and_first_token_time() -> None:
    (trace,) = traces(read_path(real_file("langsmith_py_wrap_openai_stream.json")))
    (step,) = trace.steps
    assert step.attributes["streamed_chunks"] == 12
    assert step.attributes["first_token_ns"] == ns("2024-10-11T20:58:21.933794+00:00")
    assert step.input["stream"] is True
    assert len(step.raw["events"]) == 12  # the chunks themselves stay in raw
    (js,) = traces(read_path(real_file("langsmith_js_wrap_openai_stream.json")))
    assert js.steps[0].output["object"] == "chat.completion.chunk"


# ---------------------------------------------------------------- our fixtures

TRIAGE = "0195e3a1-7c42-7d1e-9b8a-3f6c2d41a001"


def fixture(name: str) -> list[Trace]:
    return traces(read_path(FIXTURES / name))


def test_support_triage_batch() -> None:
    (trace,) = fixture("support_triage_batch.json")
    steps = by_id(trace)
    assert trace.id == TRIAGE and trace.workflow == "support_triage_agent"
    assert trace.session_id == "thr-48213"
    assert trace.attributes == {
        "project": "support-triage-prod", "ticket_priority": "high",
        "customer_tier": "business", "channel": "email", "thread_id": "thr-48213",
        "agent_version": "2026.03.2"}
    assert [s.name for s in trace.steps] == [
        "support_triage_agent", "kb_search", "ChatOpenAI", "RunnableRetry", "lookup_order",
        "lookup_order", "ChatAnthropic", "issue_refund", "ChatOpenAI"]
    assert [s.kind for s in trace.steps] == [
        StepKind.AGENT, StepKind.RETRIEVAL, StepKind.LLM, StepKind.CHAIN, StepKind.TOOL_CALL,
        StepKind.TOOL_CALL, StepKind.LLM, StepKind.TOOL_CALL, StepKind.LLM]
    root = steps[TRIAGE]
    assert root.status == Status.OK and root.output["resolution"] == "refund_issued"
    assert all(s.parent_id is not None for s in trace.steps[1:])

    retrieval = trace.steps[1]
    assert [d.id for d in retrieval.documents] == ["KB-1042", "KB-0877", "KB-1290"]
    assert retrieval.documents[0].title == "Refunds for duplicate card charges"
    assert retrieval.documents[0].score == pytest.approx(0.91)
    assert "500.00 USD" in (retrieval.documents[0].content or "")

    first, second, last = (s for s in trace.steps if s.kind == StepKind.LLM)
    assert (first.model, first.provider, first.input_tokens, first.output_tokens) == \
        ("gpt-4.1-mini", "openai", 1874, 96)
    assert first.cost == Decimal("0.0009032")
    assert (second.model, second.provider) == ("claude-sonnet-4-5", "anthropic")
    assert (second.input_tokens, second.cached_input_tokens, second.output_tokens) == \
        (2410, 1536, 188)
    assert second.cost == Decimal("0.0059028")
    assert (last.cached_input_tokens, last.cost) == (1792, Decimal("0.0005816"))
    assert "KB-1042" in last.output["choices"][0]["message"]["content"]

    failed, retried = (s for s in trace.steps if s.name == "lookup_order")
    assert failed.status == Status.ERROR and failed.error_type == "TimeoutError"
    assert failed.error and failed.error.startswith("TimeoutError('orders-api")
    assert failed.result is None and failed.arguments == {"order_id": "A-99172"}
    assert retried.status == Status.OK and retried.retry_of == failed.id
    assert retried.result["charges"][1]["charge_id"] == "ch_3Qx7Lo2eZvKYlo2C1q0xR7aT"
    assert retried.tool_call_id == "call_Yk2mS0dQf4nV8rTb1cLx" and retried.tool_name == "lookup_order"
    refund = trace.steps[7]
    assert refund.arguments["charge_id"] == "ch_3Qx7Lo2eZvKYlo2C1q0xR7aT"
    assert refund.result["status"] == "succeeded"

    summary = summarize(trace)
    assert summary.outcome == Outcome.SUCCESS and summary.error_count == 1
    assert summary.input_tokens == 1874 + 2410 + 2233


def test_failed_refund_export_is_a_failure_and_rollups_are_not_step_costs() -> None:
    (trace,) = fixture("failed_refund_export.json")
    root, llm, tool = trace.steps
    assert root.kind == StepKind.AGENT and root.status == Status.ERROR
    assert root.error_type == "PermissionError"
    # LangSmith rolls children's tokens and cost up into the root: not the root's own spend
    assert (root.input_tokens, root.cost) == (None, None)
    assert root.attributes["total_cost"] == "0.0008008"
    assert (llm.input_tokens, llm.output_tokens, llm.cost) == (1650, 88, Decimal("0.0008008"))
    assert llm.start_ns == ns("2026-03-12T15:02:11.400402")
    assert tool.status == Status.ERROR and tool.tool_call_id == "call_P0w7nB3xT9"
    assert tool.arguments == {"order_id": "B-20417", "amount": "640.00", "reason": "damaged"}
    summary = summarize(trace)
    assert summary.outcome == Outcome.FAILURE and "500.00 USD agent limit" in str(
        summary.outcome_reason)


def test_jsonl_export_split_across_lines_is_one_fragment_per_trace() -> None:
    router, other = fixture("ticket_export.jsonl")
    assert router.id == "0195e4f0-0a11-7e3b-9c2d-6a8f1b4e2c21" and len(router.steps) == 5
    assert other.id == "0195e4f0-4d7e-7b19-8a5c-2f9e6d3b1a31" and len(other.steps) == 2
    assert router.workflow == "ticket_router" and router.attributes["ticket_priority"] == "urgent"
    kinds = {s.name: (s.kind, s.operation) for s in router.steps}
    assert kinds == {"ticket_router": (StepKind.CHAIN, None),
                     "OpenAIEmbeddings": (StepKind.LLM, "embeddings"),
                     "ChatPromptTemplate": (StepKind.CHAIN, None),
                     "ChatOpenAI": (StepKind.LLM, "chat"),
                     "JsonOutputParser": (StepKind.CHAIN, None)}
    reasoning = next(s for s in router.steps if s.model == "o4-mini")
    assert (reasoning.input_tokens, reasoning.output_tokens, reasoning.reasoning_tokens) == \
        (486, 1260, 1216)
    assert reasoning.cost == Decimal("0.0060786")
    embed = next(s for s in router.steps if s.operation == "embeddings")
    assert (embed.model, embed.input_tokens, embed.cost) == \
        ("text-embedding-3-small", 11, Decimal("0.00000022"))
    nano = other.steps[1]
    assert (nano.model, nano.cost) == ("gpt-4.1-nano", Decimal("0.0000504"))


def test_small_flush_bound_gives_more_fragments_with_the_same_steps(
        monkeypatch: pytest.MonkeyPatch) -> None:
    whole = {s.id: s for t in fixture("ticket_export.jsonl") for s in t.steps}
    monkeypatch.setattr(langsmith, "FLUSH_RUNS", 1)
    pieces = fixture("ticket_export.jsonl")
    assert len(pieces) == 7
    assert {s.id: s for t in pieces for s in t.steps} == whole


def test_nested_child_runs_take_trace_and_parent_from_nesting() -> None:
    (trace,) = fixture("nested_child_runs.json")
    root, retriever, llm = trace.steps
    assert trace.session_id == "conv-77120" and trace.workflow == "faq_answer_chain"
    assert retriever.parent_id == root.id and llm.parent_id == root.id
    assert "trace_id" not in llm.raw and "child_runs" not in llm.attributes
    assert (llm.model, llm.provider) == ("claude-haiku-4-5", "anthropic")  # invocation_params
    assert (llm.input_tokens, llm.output_tokens, llm.cache_write_tokens) == (318, 41, 256)
    ids = [d.id for d in retriever.documents]
    assert len(set(ids)) == 2 and all(i.startswith("sha256:") for i in ids)
    assert retriever.documents[0].metadata == {"source": "handbook/accounts.pdf", "page": 4}


# ---------------------------------------------------------------- bad input

def run(run_id: str, trace_id: str, parent: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"id": run_id, "trace_id": trace_id, "parent_run_id": parent, "name": run_id,
            "run_type": "chain", "start_time": "2026-01-05T10:00:00Z", **fields}


def test_truncated_document_names_file_and_record() -> None:
    data = json.dumps({"post": [run("a", "a")]}, indent=1).encode()[:-7]
    (error,) = errors(read_bytes(data, "batch-07.json"))
    assert error.source == "batch-07.json" and error.record == "document"
    assert "invalid JSON" in error.message


def test_truncated_jsonl_line_does_not_stop_the_others() -> None:
    lines = [json.dumps(run("a", "a")), json.dumps(run("b", "b"))[:20], json.dumps(run("c", "c"))]
    items = read_bytes("\n".join(lines).encode(), "runs.jsonl")
    (error,) = errors(items)
    assert (error.source, error.record) == ("runs.jsonl", "line 2")
    assert sorted(t.id for t in items if isinstance(t, Trace)) == ["a", "c"]


@pytest.mark.parametrize("bad, field, message", [
    ({"start_time": "yesterday"}, "post[1].start_time", "ISO 8601"),
    ({"end_time": "2026-01-05T09:00:00Z"}, "post[1].end_time", "before start_time"),
    ({"inputs": ["not", "an", "object"]}, "post[1].inputs", "expected an object"),
    ({"name": 42}, "post[1].name", "expected a string"),
    ({"error": {"code": 500}}, "post[1].error", "expected a string"),
    ({"extra": {"metadata": "x"}}, "post[1].extra.metadata", "expected an object"),
    ({"id": None}, "post[1].id", "no id"),
    ({"dotted_order": "20260105T100000000000Zzzz"}, "post[1].dotted_order", "not this run's id"),
    ({"dotted_order": "garbage"}, "post[1].dotted_order", "not a dotted order"),
    ({"child_runs": {}}, "post[1].child_runs", "expected a list"),
    ({"run_type": "llm", "outputs": {"usage_metadata": {"input_tokens": "many"}}},
     "post[1].outputs.usage_metadata.input_tokens", "whole number"),
    ({"run_type": "llm", "total_cost": -0.5}, "post[1].total_cost", "negative"),
    ({"run_type": "retriever", "outputs": {"documents": ["text"]}},
     "post[1].outputs.documents[0]", "document object"),
])
def test_bad_run_rejects_its_trace_only(bad: dict[str, Any], field: str, message: str) -> None:
    batch = {"post": [run("good", "good"), {**run("b1", "bad"), **bad}, run("b2", "bad", "b1")]}
    items = read_value(batch, "batch.json")
    (error,) = errors(items)
    assert (error.source, error.record, error.field) == ("batch.json", "document", field)
    assert message in error.message and error.trace_id == "bad"
    assert [t.id for t in items if isinstance(t, Trace)] == ["good"]  # nothing of "bad"


def test_bad_patch_field_is_named_by_the_patch_path() -> None:
    batch = {"post": [run("a", "a")],
             "patch": [{"id": "x", "trace_id": "x"}, {"id": "a", "end_time": "soon"}]}
    errs = errors(read_value(batch))
    assert [(e.field, e.trace_id) for e in errs] == [("patch[1].end_time", "a")]


def test_duplicate_id_that_is_not_a_post_patch_pair() -> None:
    batch = {"post": [run("r", "t"), run("c", "t", "r"), run("c", "t", "r")]}
    (error,) = errors(read_value(batch))
    assert error.field == "post[2].id" and "duplicate run id 'c'" in error.message
    assert "post[1]" in error.message


def test_parent_cycle_across_records_is_rejected_where_it_closes() -> None:
    batch = [run("a", "t", "b"), run("z", "other"), run("b", "t", "a")]
    items = read_value(batch)
    (error,) = errors(items)
    assert (error.record, error.field, error.trace_id) == ("record 3", "parent_run_id", "t")
    assert "parent cycle" in error.message
    assert {t.id: [s.id for s in t.steps] for t in items if isinstance(t, Trace)} == \
        {"t": ["a"], "other": ["z"]}  # what earlier records said still comes through


def test_cycle_inside_one_record_names_the_field() -> None:
    (error,) = errors(read_value({"post": [run("a", "t", "b"), run("b", "t", "a")]}))
    assert error.field == "post[0].parent_run_id" and "parent cycle" in error.message


def test_missing_trace_id_of_a_child_without_dotted_order() -> None:
    child = run("c", "t", "p")
    del child["trace_id"]
    (error,) = errors(read_value({"post": [child]}))
    assert error.field == "post[0].trace_id"


def test_nested_error_path_goes_through_child_runs() -> None:
    root = run("r", "r", child_runs=[run("c1", "r", "r"),
                                     run("c2", "r", "r", start_time=True)])
    (error,) = errors(read_value(root, "one-run.json"))
    assert error.field == "child_runs[1].start_time" and error.trace_id == "r"


def test_a_record_that_is_not_a_run() -> None:
    (error,) = errors(read_bytes(b'"hello"', "x.json"))
    assert "expected a run" in error.message and error.record == "line 1"


def test_zero_cost_with_tokens_is_unpriced_not_free() -> None:
    llm = run("m", "m", run_type="llm", prompt_tokens=120, completion_tokens=8, total_cost=0)
    (trace,) = traces(read_value([llm]))
    assert trace.steps[0].cost is None and trace.steps[0].input_tokens == 120


def test_null_in_a_patch_does_not_erase_the_post() -> None:
    batch = {"post": [run("c", "t", "p"), run("p", "t")],
             "patch": [{"id": "c", "trace_id": "t", "parent_run_id": None, "name": None,
                        "end_time": "2026-01-05T10:00:01Z"}]}
    (trace,) = traces(read_value(batch))
    child = by_id(trace)["c"]
    assert (child.parent_id, child.name, child.status) == ("p", "c", Status.OK)


def test_sniff() -> None:
    assert langsmith.sniff({"post": [run("a", "a")]})
    assert langsmith.sniff({"patch": [{"dotted_order": "x", "trace_id": "y"}]})
    assert langsmith.sniff([run("a", "a")])
    assert langsmith.sniff(run("a", "a"))
    assert not langsmith.sniff({"trace_id": "t", "steps": []})
    assert not langsmith.sniff({"resourceSpans": []})
    assert not langsmith.sniff("post")


# ---------------------------------------------------------------- generated run trees

RUN_TYPES = ["chain", "llm", "chat_model", "tool", "retriever", "prompt", "parser", "embedding"]


@st.composite
def run_trees(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A trace of 1-12 finished runs, the first the root, parents always earlier."""
    count = draw(st.integers(1, 12))
    trace_id = f"{draw(st.uuids())}"
    ids = [trace_id] + [f"{draw(st.uuids())}" for _ in range(count - 1)]
    runs = []
    for i, run_id in enumerate(ids):
        run_type = "chain" if i == 0 else draw(st.sampled_from(RUN_TYPES))
        start = 1_767_000_000_000 + draw(st.integers(0, 10**7))
        item: dict[str, Any] = {
            "id": run_id, "trace_id": trace_id, "name": f"{run_type}-{i}",
            "parent_run_id": None if i == 0 else ids[draw(st.integers(0, i - 1))],
            "run_type": run_type, "start_time": start,
            "end_time": start + draw(st.integers(0, 60_000)), "inputs": {"i": i},
            "outputs": {"o": i}}
        if run_type in ("llm", "chat_model"):
            item["outputs"]["usage_metadata"] = {
                "input_tokens": draw(st.integers(1, 10**6)),
                "output_tokens": draw(st.integers(0, 10**5)),
                "input_token_details": {"cache_read": draw(st.integers(0, 1000))}}
            item["extra"] = {"metadata": {"ls_model_name": draw(st.sampled_from(
                ["gpt-4.1-mini", "claude-sonnet-4-5", "gemini-2.5-flash"]))}}
        if draw(st.booleans()):
            item["error"] = f"RuntimeError: run {i} failed"
        runs.append(item)
    return runs


def expected(runs: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    out = {}
    for r in runs:
        usage = r["outputs"].get("usage_metadata", {})
        out[r["id"]] = (r["parent_run_id"], usage.get("input_tokens"),
                        usage.get("output_tokens"),
                        usage.get("input_token_details", {}).get("cache_read"),
                        Status.ERROR if "error" in r else Status.OK)
    return out


def observed(items: list[Trace | InputError]) -> dict[str, tuple[Any, ...]]:
    return {s.id: (s.parent_id, s.input_tokens, s.output_tokens, s.cached_input_tokens, s.status)
            for t in traces(items) for s in t.steps}


def nest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    copies = {r["id"]: {**r, "child_runs": []} for r in runs}
    for r in runs[1:]:
        copies[r["parent_run_id"]]["child_runs"].append(copies[r["id"]])
    return copies[runs[0]["id"]]


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(run_trees(), st.sampled_from(["array", "jsonl", "batch", "split", "nested"]))
def test_generated_trees_read_back(runs: list[dict[str, Any]], shape: str) -> None:
    if shape == "array":
        data = json.dumps(runs).encode()
    elif shape == "jsonl":
        data = "\n".join(json.dumps(r) for r in reversed(runs)).encode()
    elif shape == "batch":
        data = json.dumps({"post": runs}).encode()
    elif shape == "split":
        late = ("end_time", "outputs", "error")
        data = json.dumps({
            "patch": [{"id": r["id"], **{k: r[k] for k in late if k in r}} for r in runs],
            "post": [{k: v for k, v in r.items() if k not in late} for r in runs]}).encode()
    else:
        data = json.dumps(nest(runs)).encode()
    items = read_bytes(data)
    assert len(traces(items)) == 1 and traces(items)[0].id == runs[0]["trace_id"]
    assert observed(items) == expected(runs)


@FAST
@given(run_trees(), st.data())
def test_post_plus_patch_equals_the_merged_run(runs: list[dict[str, Any]],
                                                data: st.DataObject) -> None:
    full = runs[-1]
    patch_keys = data.draw(st.sets(st.sampled_from(sorted(set(full) - {"id"}))))
    post = {k: v for k, v in full.items() if k not in patch_keys or data.draw(st.booleans())}
    patch = {"id": full["id"], **{k: full[k] for k in patch_keys}}
    stale = {**post, **{k: "stale" for k in ("name",) if k in patch_keys and k in post}}
    merged = read_value({"post": runs[:-1] + [stale], "patch": [patch]})
    single = read_value({"post": runs})
    assert traces(merged) == traces(single)
