"""Roles and reasons on traces where the right answer is known for every step."""

from __future__ import annotations

import msgspec

from tracegraph.analyze.flow import data_flow
from tracegraph.analyze.paths import PathAnalysis, Reason, Role, analyze_paths
from tracegraph.formats import read_path
from tracegraph.model import Trace

from ..conftest import FIXTURES


def _analysis(index: int, *, declared: bool = True) -> PathAnalysis:
    trace = read_path(FIXTURES / "native" / "claims-triage.jsonl")[index]
    assert isinstance(trace, Trace)
    if not declared:
        trace = msgspec.structs.replace(trace, steps=tuple(
            msgspec.structs.replace(s, inputs=()) for s in trace.steps))
    return analyze_paths(trace, list(data_flow(trace)))


def _roles(analysis: PathAnalysis) -> dict[str, tuple[str, str | None]]:
    return {m.step_id: (m.role.value, m.reason.value if m.reason else None)
            for m in analysis.marks}


def test_a_clean_claim_is_essential_but_for_its_failed_attempt() -> None:
    analysis = _analysis(0)
    assert analysis.outcome_step == "s8"
    assert _roles(analysis) == {
        "s1": ("structural", None), "s2": ("essential", None), "s3": ("essential", None),
        "s4": ("essential", None), "s5": ("wasted", "failed_attempt"),
        "s6": ("essential", None), "s7": ("essential", None), "s8": ("essential", None)}
    assert "retried by s6" in analysis.mark("s5").evidence
    used = {(d.document_id, d.used) for d in analysis.documents}
    assert used == {("POL-AUTO-7", True), ("FAQ-12", False), ("POL-HOME-2", False)}


def test_the_exception_claim_shows_every_kind_of_waste() -> None:
    analysis = _analysis(1)
    roles = _roles(analysis)
    assert roles["s5"] == roles["s6"] == ("wasted", "failed_attempt")
    assert roles["s7"] == ("essential", None)              # the retry that worked
    assert roles["s8"] == ("wasted", "dead_end")           # history fetched, never used
    assert roles["s9"] == ("wasted", "redundant_call")     # the same call again
    assert roles["s10"] == ("wasted", "overridden")        # the adjuster replaced it
    assert roles["s11"] == ("essential", None)             # the override on the path
    assert "j.okafor" in analysis.mark("s10").evidence
    unused = {d.document_id for d in analysis.documents if not d.used}
    assert unused == {"POL-AUTO-7", "FAQ-12"}


def test_without_declared_inputs_the_same_path_is_found_from_values() -> None:
    declared = _roles(_analysis(0))
    inferred = _roles(_analysis(0, declared=False))
    assert inferred["s5"] == ("wasted", "failed_attempt")
    assert inferred["s6"] == inferred["s7"] == inferred["s8"] == ("essential", None)
    assert {k for k, v in inferred.items() if v[0] == "essential"} <= set(declared)


def test_a_wasted_step_never_lies_on_the_path_to_the_outcome() -> None:
    for index in (0, 1):
        trace = read_path(FIXTURES / "native" / "claims-triage.jsonl")[index]
        assert isinstance(trace, Trace)
        edges = list(data_flow(trace))
        analysis = analyze_paths(trace, edges)
        wasted = {m.step_id for m in analysis.marks if m.role == Role.WASTED}
        essential = {m.step_id for m in analysis.marks if m.role == Role.ESSENTIAL}
        for edge in edges:
            if edge.type.value == "USES" and edge.source in essential:
                assert edge.target not in wasted, (index, edge)
        assert all(m.reason is None for m in analysis.marks if m.role != Role.WASTED)
        assert all(isinstance(m.reason, Reason) for m in analysis.marks
                   if m.role == Role.WASTED)


def test_context_bloat_counts_the_unused_documents_a_model_call_carried() -> None:
    from tracegraph.analyze.paths import context_bloat
    for index, expected in ((0, {"s4": 410 + 960}), (1, {"s4": 820 + 410})):
        trace = read_path(FIXTURES / "native" / "claims-triage.jsonl")[index]
        assert isinstance(trace, Trace)
        edges = list(data_flow(trace))
        analysis = analyze_paths(trace, edges)
        bloat = context_bloat(trace, edges, analysis.documents)
        assert {b.step_id: b.tokens for b in bloat} == expected
        assert "FAQ-12 (410)" in bloat[0].evidence


def test_context_bloat_counts_tool_results_carried_after_their_last_use() -> None:
    from tracegraph.analyze.paths import context_bloat
    from tracegraph.model import Step, StepKind
    result = {"account": "AC-99120", "balance": 48213.55}
    history = [{"role": "user", "content": "What is the balance of AC-99120?"},
               {"role": "tool", "tool_call_id": "call_1", "content": result}]
    steps = (
        Step(id="t1", kind=StepKind.LLM, model="gpt-4o-mini", start_ns=1,
             output={"tool_calls": [{"id": "call_1", "name": "balance"}]}),
        Step(id="b", kind=StepKind.TOOL_CALL, tool_name="balance", tool_call_id="call_1",
             arguments={"account": "AC-99120"}, result=result, start_ns=2),
        Step(id="t2", kind=StepKind.LLM, model="gpt-4o-mini", start_ns=3, input=history,
             input_tokens=400, output="The balance is 48213.55."),
        Step(id="t3", kind=StepKind.LLM, model="gpt-4o-mini", start_ns=4,
             input=history + [{"role": "user", "content": "Thanks, open a ticket."}],
             input_tokens=420, output="Ticket opened."),
    )
    trace = Trace(id="stale", source_format="native", steps=steps)
    edges = list(data_flow(trace))
    bloat = {b.step_id: b for b in context_bloat(trace, edges, ())}
    assert "t2" not in bloat  # t2 used the balance it read
    assert 0 < bloat["t3"].tokens < 420
    assert "tool results b carried, used neither here nor later" in bloat["t3"].evidence


def test_what_a_failed_attempt_was_given_stays_essential_for_its_retry() -> None:
    from tracegraph.model import Status, Step, StepKind
    steps = (
        Step(id="ctx", kind=StepKind.CONTEXT, output="claim C-1", start_ns=1),
        Step(id="plan", kind=StepKind.LLM, model="gpt-4o", inputs=("ctx",), start_ns=2),
        Step(id="try1", kind=StepKind.TOOL_CALL, tool_name="lookup", inputs=("plan",),
             status=Status.ERROR, start_ns=3),
        Step(id="try2", kind=StepKind.RETRY, tool_name="lookup", retry_of="try1",
             inputs=("try1",), result={"limit": 5000}, start_ns=4),
        Step(id="done", kind=StepKind.OUTCOME, inputs=("try2",), start_ns=5),
    )
    trace = Trace(id="t", source_format="native", steps=steps)
    analysis = analyze_paths(trace, data_flow(trace))
    assert analysis.mark("try1").reason == Reason.FAILED_ATTEMPT
    assert {m.step_id for m in analysis.marks if m.role == Role.ESSENTIAL} == {
        "ctx", "plan", "try2", "done"}
    assert "through try1, itself wasted" in analysis.mark("plan").evidence
