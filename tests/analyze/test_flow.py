"""Data flow on traces whose answer is known: READ is carried, USES is evidence of use."""

from __future__ import annotations

import msgspec

from tracegraph.analyze.flow import data_flow, values_of
from tracegraph.formats import read_path
from tracegraph.model import EdgeType, Step, StepKind, Trace

from ..conftest import FIXTURES


def _edges(trace: Trace) -> dict[tuple[str, str, str], str]:
    return {(e.source, e.target, e.type.value): e.evidence for e in data_flow(trace)}


def test_values_are_ids_amounts_and_emails_not_words_counts_or_years() -> None:
    assert values_of("Approve CLM-88412: payout 1340.00 (1,840 minus 500) in 2026 for 3 "
                     "items, mail m.rossi@example.com") == {
        "CLM-88412", "1340", "1840", "500", "m.rossi@example.com"}


def test_claim_fixture_uses_follow_values_and_requests_without_declared_inputs() -> None:
    """The native fixture declares its inputs; span formats cannot, so infer them."""
    trace = read_path(FIXTURES / "native" / "claims-triage.jsonl")[0]
    assert isinstance(trace, Trace)
    declared = _edges(trace)
    assert declared[("s5", "s4", "USES")] == "declared input"
    trace = msgspec.structs.replace(trace, steps=tuple(
        msgspec.structs.replace(s, inputs=()) for s in trace.steps))
    edges = _edges(trace)
    assert edges[("s5", "s4", "USES")] == "arguments of s5 came from model turn s4"
    assert ("s7", "s6", "USES") in edges and "'500'" in edges[("s7", "s6", "USES")]
    assert ("s7", "s2", "USES") in edges          # the claim id and amount of the intake
    assert ("s7", "s5", "USES") not in edges      # the failed call returned nothing
    assert ("s8", "s7", "USES") in edges          # the payout 1340 decided in s7


def test_a_tool_result_in_a_later_prompt_is_read_not_necessarily_used() -> None:
    steps = (
        Step(id="m1", kind=StepKind.LLM, start_ns=1, output={"tool_calls": ["call_1"]}),
        Step(id="t1", kind=StepKind.TOOL_CALL, start_ns=2, tool_name="weather",
             tool_call_id="call_1", result={"forecast": "rain"}),
        Step(id="m2", kind=StepKind.LLM, start_ns=3,
             input=[{"role": "tool", "tool_call_id": "call_1", "content": "rain"}],
             output="Thanks, all done."),
    )
    edges = _edges(Trace(id="t", source_format="native", steps=steps))
    assert ("m2", "t1", "READ") in edges
    assert ("m2", "t1", "USES") not in edges
    assert edges[("t1", "m1", "USES")] == "arguments of t1 came from model turn m1"


def test_declared_inputs_are_read_and_used() -> None:
    steps = (Step(id="a", kind=StepKind.CONTEXT, start_ns=1),
             Step(id="b", kind=StepKind.LLM, start_ns=2, inputs=("a",)))
    edges = _edges(Trace(id="t", source_format="native", steps=steps))
    assert edges[("b", "a", "USES")] == "declared input"
    assert edges[("b", "a", "READ")] == "declared input"


def test_flow_is_deterministic() -> None:
    trace = read_path(FIXTURES / "native" / "claims-triage.jsonl")[1]
    assert isinstance(trace, Trace)
    assert list(data_flow(trace)) == list(data_flow(trace))
