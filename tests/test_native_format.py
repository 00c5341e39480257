"""The native format: every documented field read, every documented fault rejected."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from tracegraph.errors import InputError
from tracegraph.formats import detect, read_path, read_stream
from tracegraph.formats.native import SCHEMA_PATH, schema_text
from tracegraph.model import Outcome, Status, StepKind, Trace

from .conftest import FIXTURES


def _read_one(record: dict[str, Any]) -> Trace | InputError:
    _, items = read_stream(io.BytesIO(orjson.dumps(record) + b"\n" + orjson.dumps(record)),
                           source="t.jsonl", format="native")
    return list(items)[0]


def _trace(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"trace_id": "t1", "steps": [
        {"id": "a", "kind": "llm", "model": "gpt-4o", "input_tokens": 10},
        {"id": "b", "kind": "outcome", "parent": "a", "outcome": "success", "inputs": ["a"]}]}
    base.update(overrides)
    return base


def test_the_claims_fixture_reads_with_every_decision_field() -> None:
    traces = read_path(FIXTURES / "native" / "claims-triage.jsonl")
    assert [t.id for t in traces if isinstance(t, Trace)] == ["claim-2026-0001",
                                                              "claim-2026-0002"]
    second = traces[1]
    assert isinstance(second, Trace)
    steps = {s.id: s for s in second.steps}
    assert second.cites == ("claim-2026-0001",)
    assert second.attributes["claim.requires_exception_doc"] is True
    assert steps["s6"].kind == StepKind.RETRY and steps["s6"].retry_of == "s5"
    assert steps["s5"].status == Status.ERROR and steps["s5"].error_type == "HTTPError"
    override = steps["s11"].override
    assert override is not None
    assert (override.actor, override.actor_role, override.minutes, override.replaces) == (
        "j.okafor", "senior adjuster", Decimal("12"), "s10")
    assert steps["s11"].rules == ("EXC-12",)
    assert steps["s12"].outcome == Outcome.SUCCESS and steps["s12"].value == Decimal("6900.00")
    assert steps["s3"].documents[1].id == "POL-AUTO-11"
    assert steps["s4"].inputs == ("s2", "s3")
    assert steps["s1"].start_ns == 1772445720000000000


def test_a_json_array_of_traces_and_a_single_document_both_read() -> None:
    array = read_path(FIXTURES / "native" / "invoices.json")
    assert [t.id for t in array if isinstance(t, Trace)] == ["invoice-2026-0042",
                                                             "invoice-2026-0043"]
    single = read_path(FIXTURES / "native" / "support-ticket-failed.json")
    assert len(single) == 1 and isinstance(single[0], Trace)
    assert single[0].outcome == Outcome.FAILURE
    post = next(s for s in array[0].steps if s.id == "post")  # type: ignore[union-attr]
    assert post.cost == Decimal("0.002")


def test_detection_recognises_native_records() -> None:
    assert detect(_trace()) == "native"
    assert detect({"format": "tracegraph.trace/v1", "trace_id": "x", "steps": []}) == "native"


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"steps": [{"id": "a", "kind": "llm", "input_tokens": "ten"}]},
     "steps[0].input_tokens", "Expected `int | null`"),
    ({"steps": [{"id": "a", "kind": "robot"}]}, "steps[0].kind", "Invalid enum value"),
    ({"steps": [{"id": "a", "kind": "llm", "retyr_of": "b"}]}, "steps[0]", "unknown field"),
    ({"steps": [{"id": "a", "kind": "llm"}, {"id": "a", "kind": "llm"}]}, "steps[1].id",
     "duplicate step id"),
    ({"steps": [{"id": "a", "kind": "llm", "parent": "b"}, {"id": "b", "kind": "llm",
                                                            "parent": "a"}]},
     "steps[0].parent", "parent cycle"),
    ({"steps": [{"id": "a", "kind": "llm", "parent": "ghost"}]}, "steps[0].parent",
     "no step 'ghost'"),
    ({"steps": [{"id": "a", "kind": "retry", "retry_of": "ghost"}]}, "steps[0].retry_of",
     "no step 'ghost'"),
    ({"steps": [{"id": "a", "kind": "llm", "inputs": ["a", "ghost"]}]}, "steps[0].inputs[1]",
     "no step 'ghost'"),
    ({"steps": [{"id": "a", "kind": "llm", "output_tokens": -3}]}, "steps[0].output_tokens",
     "Expected `int` >= 0"),
    ({"steps": [{"id": "a", "kind": "llm", "cost": "-0.5"}]}, "steps[0].cost",
     "non-negative"),
    ({"steps": [{"id": "a", "kind": "llm", "cost": "NaN"}]}, "steps[0].cost", "finite"),
    ({"steps": [{"id": "a", "kind": "human_override"}]}, "steps[0].override", "needs an override"),
    ({"steps": [{"id": "a", "kind": "llm", "start": "2026-01-02T00:00:00Z",
                 "end": "2026-01-01T00:00:00Z"}]}, "steps[0].end", "before start"),
    ({"steps": [{"id": "a", "kind": "llm", "start": "yesterday"}]}, "steps[0].start/end",
     "ISO 8601"),
    ({"trace_id": ""}, "trace_id", "empty"),
    ({"steps": "none"}, "steps", "Expected `array`"),
    ({"format": "tracegraph.trace/v9"}, "format", "unsupported format"),
])
def test_bad_records_are_rejected_naming_file_record_and_field(
        change: dict[str, Any], field: str, words: str) -> None:
    item = _read_one(_trace(**change))
    assert isinstance(item, InputError), item
    assert item.source == "t.jsonl" and item.record == "line 1"
    assert item.field == field
    assert words in item.message


def test_the_rest_of_the_file_still_reads_after_a_bad_line() -> None:
    data = b"\n".join([orjson.dumps(_trace(trace_id="ok1")), b'{"trace_id": "broken", "st',
                       orjson.dumps(_trace(trace_id="ok2"))])
    _, items = read_stream(io.BytesIO(data), source="mix.jsonl", format="native")
    got = list(items)
    assert [type(i).__name__ for i in got] == ["Trace", "InputError", "Trace"]
    error = got[1]
    assert isinstance(error, InputError) and error.record == "line 2"
    assert "invalid JSON" in error.message


def test_the_checked_in_json_schema_is_generated_from_the_reader() -> None:
    assert SCHEMA_PATH.read_text() == schema_text(), (
        "tracegraph/schemas/trace.schema.json is stale: run "
        "`python -m tracegraph.formats.native`")


_ids = st.text(alphabet="abcdefghij0123456789-_", min_size=1, max_size=8)


@st.composite
def native_traces(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(_ids, min_size=1, max_size=12, unique=True))
    steps = []
    for i, step_id in enumerate(ids):
        step: dict[str, Any] = {"id": step_id,
                                "kind": draw(st.sampled_from([k.value for k in StepKind
                                                              if k != "human_override"]))}
        if i and draw(st.booleans()):
            step["parent"] = ids[draw(st.integers(0, i - 1))]
        if draw(st.booleans()):
            step["input_tokens"] = draw(st.integers(0, 10**7))
        if draw(st.booleans()):
            step["cost"] = str(draw(st.decimals(min_value=0, max_value=1000, places=9,
                                                allow_nan=False)))
        if i and draw(st.booleans()):
            step["inputs"] = [ids[draw(st.integers(0, i - 1))]]
        steps.append(step)
    return {"trace_id": draw(_ids), "steps": steps,
            "attributes": draw(st.dictionaries(_ids, st.integers(-2**63, 2**63 - 1) | st.text(max_size=5),
                                               max_size=3))}


@given(st.lists(native_traces(), min_size=1, max_size=4))
@settings(max_examples=60, deadline=None)
def test_any_valid_trace_reads_back_with_the_same_ids_parents_tokens_and_costs(
        records: list[dict[str, Any]]) -> None:
    data = b"\n".join(orjson.dumps(r) for r in records)
    _, items = read_stream(io.BytesIO(data), source="gen.jsonl")
    traces = list(items)
    assert all(isinstance(t, Trace) for t in traces)
    for record, trace in zip(records, traces):
        assert isinstance(trace, Trace)
        assert trace.id == record["trace_id"]
        assert trace.attributes == record["attributes"]
        for raw, step in zip(record["steps"], trace.steps):
            assert step.id == raw["id"]
            assert step.parent_id == raw.get("parent")
            assert step.input_tokens == raw.get("input_tokens")
            assert step.cost == (Decimal(raw["cost"]) if "cost" in raw else None)
            assert step.inputs == tuple(raw.get("inputs", ()))


@pytest.mark.parametrize(("step", "field", "words"), [
    ({"id": "a", "kind": "llm", "input_tokens": 10**15}, "steps[0].input_tokens", "<= "),
    ({"id": "a", "kind": "llm", "start": str(10**25)}, "steps[0].start/end", "out of range"),
    ({"id": "a", "kind": "llm", "start": "2026-13-45T99:00:00Z"}, "steps[0].start/end",
     "ISO 8601"),
])
def test_absurd_values_are_rejected_not_stored(step: dict[str, Any], field: str,
                                               words: str) -> None:
    item = _read_one(_trace(steps=[step]))
    assert isinstance(item, InputError)
    assert item.field == field and words in item.message


def test_the_native_format_can_say_every_field_of_the_model() -> None:
    """NativeStep is the documented face of Step; a new Step field must get a native name."""
    from tracegraph.formats.native import NativeStep, NativeTrace
    from tracegraph.model import Step
    renamed = {"parent_id": "parent", "start_ns": "start", "end_ns": "end",
               "tool_name": "tool"}
    internal = {"raw"}  # the source record: the native record is its own source
    native_steps = set(NativeStep.__struct_fields__)
    for name in Step.__struct_fields__:
        if name not in internal:
            assert renamed.get(name, name) in native_steps, name
    native_traces = set(NativeTrace.__struct_fields__)
    for name in Trace.__struct_fields__:
        if name not in {"steps", "source_format", "partial"}:
            assert {"id": "trace_id"}.get(name, name) in native_traces, name
