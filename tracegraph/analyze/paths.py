"""Essential versus wasted: a role, a reason and the evidence for every step.

Essential is the outcome step and everything it transitively ``USES``, plus
the human overrides that changed it (DESIGN.md, "The path analyzer").
Everything else is structural (a grouping span) or wasted, with the first
reason that applies, in this order:

``overridden``       a human replaced the step's work (``OVERRIDES``);
``failed_attempt``   it failed and a later step re-attempted it (``RETRY_OF``,
                     or the same tool succeeding later);
``redundant_call``   same tool and arguments as an earlier call whose result
                     existed;
``loop``             the third or later repetition of the same call;
``unused_retrieval`` a retrieval none of whose documents was used;
``dead_end``         anything else whose information never reached the outcome.

Documents are judged one by one: a retrieved document is used when its id, or
a distinctive value of its content, shows up in a later step's output or
arguments.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Iterable

import msgspec

from ..model import GROUPING_KINDS, Edge, EdgeType, Status, Step, StepKind, Trace, time_order
from .flow import text_of, values_of

__all__ = ["Role", "Reason", "StepMark", "DocumentUse", "PathAnalysis", "outcome_step",
           "analyze_paths", "ContextBloat", "context_bloat"]


class Role(StrEnum):
    ESSENTIAL = "essential"
    WASTED = "wasted"
    STRUCTURAL = "structural"


class Reason(StrEnum):
    FAILED_ATTEMPT = "failed_attempt"
    REDUNDANT_CALL = "redundant_call"
    UNUSED_RETRIEVAL = "unused_retrieval"
    DEAD_END = "dead_end"
    LOOP = "loop"
    OVERRIDDEN = "overridden"


class StepMark(msgspec.Struct, frozen=True, kw_only=True):
    step_id: str
    role: Role
    reason: Reason | None
    evidence: str


class DocumentUse(msgspec.Struct, frozen=True, kw_only=True):
    step_id: str
    document_id: str
    used: bool
    tokens: int | None
    evidence: str


class PathAnalysis(msgspec.Struct, frozen=True, kw_only=True):
    trace_id: str
    outcome_step: str | None
    marks: tuple[StepMark, ...]
    documents: tuple[DocumentUse, ...]

    def mark(self, step_id: str) -> StepMark:
        return next(m for m in self.marks if m.step_id == step_id)


def outcome_step(trace: Trace) -> Step | None:
    """The step that produced the trace's result.

    The last explicit ``outcome`` step; else the last model call or step with
    an output directly under a root (the root agent's final answer); else the
    root itself.
    """
    ordered = time_order(trace.steps)
    explicit = [s for s in ordered if s.kind == StepKind.OUTCOME]
    if explicit:
        return explicit[-1]
    roots = {s.id for s in ordered if s.parent_id is None}
    answers = [s for s in ordered if s.parent_id in roots
               and (s.kind == StepKind.LLM or s.output is not None)]
    if answers:
        return answers[-1]
    return next((s for s in ordered if s.parent_id is None), None)


def _essential(outcome: Step | None, uses: dict[str, set[str]],
               overrides: dict[str, Step]) -> dict[str, str]:
    """Essential step id → why (the chain of USES that reaches it)."""
    if outcome is None:
        return {}
    why = {outcome.id: "the step that produced the outcome"}
    pending = [outcome.id]
    while pending:
        consumer = pending.pop()
        for producer in sorted(uses.get(consumer, ())):
            if producer not in why:
                why[producer] = f"used by {consumer}, on the path to the outcome"
                pending.append(producer)
    for replaced, human in overrides.items():  # the overrides that changed essential work
        if replaced in why and human.id not in why:
            why[human.id] = f"overrode {replaced}, on the path to the outcome"
    return why


def _call_key(step: Step) -> tuple[str, str] | None:
    if not step.tool_name:
        return None
    return step.tool_name, text_of(step.arguments)


def analyze_paths(trace: Trace, edges: Iterable[Edge]) -> PathAnalysis:
    """Roles, reasons and evidence for every step, and the use of every document."""
    uses: dict[str, set[str]] = {}
    for edge in edges:
        if edge.type == EdgeType.USES:
            uses.setdefault(edge.source, set()).add(edge.target)
    ordered = time_order(trace.steps)
    overrides = {s.override.replaces: s for s in ordered
                 if s.override is not None and s.override.replaces}
    retried = {s.retry_of: s for s in ordered if s.retry_of}
    outcome = outcome_step(trace)
    essential = _essential(outcome, uses, overrides)
    marks: list[StepMark] = []
    earlier_calls: dict[tuple[str, str], list[Step]] = {}
    documents = _document_uses(ordered)
    doc_used_by_step: dict[str, bool] = {}
    for use in documents:
        doc_used_by_step[use.step_id] = doc_used_by_step.get(use.step_id, False) or use.used
    for index, step in enumerate(ordered):
        key = _call_key(step)
        before = earlier_calls.setdefault(key, []) if key else []
        marks.append(_mark(step, ordered, index, essential, overrides, retried, before,
                           doc_used_by_step))
        if key:
            before.append(step)
    return PathAnalysis(trace_id=trace.id, outcome_step=outcome.id if outcome else None,
                        marks=tuple(marks), documents=tuple(documents))


def _mark(step: Step, ordered: list[Step], index: int, essential: dict[str, str],
          overrides: dict[str, Step], retried: dict[str, Step], same_calls: list[Step],
          doc_used: dict[str, bool]) -> StepMark:
    def wasted(reason: Reason, evidence: str) -> StepMark:
        return StepMark(step_id=step.id, role=Role.WASTED, reason=reason, evidence=evidence)

    if step.id in essential:
        return StepMark(step_id=step.id, role=Role.ESSENTIAL, reason=None,
                        evidence=essential[step.id])
    if step.kind in GROUPING_KINDS:
        return StepMark(step_id=step.id, role=Role.STRUCTURAL, reason=None,
                        evidence=f"groups other steps ({step.kind.value})")
    if step.id in overrides:
        human = overrides[step.id]
        who = human.override.actor if human.override else "a human"
        return wasted(Reason.OVERRIDDEN, f"{who} replaced this work in {human.id}")
    if step.status == Status.ERROR:
        if step.id in retried:
            return wasted(Reason.FAILED_ATTEMPT,
                          f"failed ({step.error_type or 'error'}); retried by "
                          f"{retried[step.id].id}")
        again = next((s for s in ordered[index + 1:] if step.tool_name
                      and s.tool_name == step.tool_name and s.status != Status.ERROR), None)
        if again is not None:
            return wasted(Reason.FAILED_ATTEMPT,
                          f"failed ({step.error_type or 'error'}); {step.tool_name} "
                          f"succeeded later in {again.id}")
    answered = [s for s in same_calls if s.status != Status.ERROR and s.result is not None]
    if answered:
        if len(same_calls) >= 2:
            return wasted(Reason.LOOP, f"call {len(same_calls) + 1} of {step.tool_name} "
                                       f"with the same arguments")
        return wasted(Reason.REDUNDANT_CALL,
                      f"same tool and arguments as {answered[0].id}, whose result existed")
    if step.kind == StepKind.RETRIEVAL and step.documents and not doc_used.get(step.id):
        return wasted(Reason.UNUSED_RETRIEVAL,
                      f"none of its {len(step.documents)} documents was used downstream")
    return wasted(Reason.DEAD_END, "its information never reached the outcome")


def _document_uses(ordered: list[Step]) -> list[DocumentUse]:
    """Each retrieved document, used or not, from one index of what later steps emitted."""
    last_emitted: dict[str, tuple[int, str]] = {}  # value → (position, step) of its last emitter
    emitted_texts: list[str] = []
    for index, step in enumerate(ordered):
        text = text_of([step.output, step.arguments])
        emitted_texts.append(text)
        for value in values_of(text):
            last_emitted[value] = (index, step.id)  # keeps the latest emitter
    uses: list[DocumentUse] = []
    for index, step in enumerate(ordered):
        for doc in step.documents:
            evidence = ""
            hit = last_emitted.get(doc.id)
            if hit is not None and hit[0] > index:
                evidence = f"id {doc.id!r} cited in {hit[1]}"
            elif not any(c.isdigit() for c in doc.id):  # ids the value index cannot see
                user = next((ordered[j].id for j in range(index + 1, len(ordered))
                             if doc.id in emitted_texts[j]), None)
                if user is not None:
                    evidence = f"id {doc.id!r} cited in {user}"
            if not evidence and doc.content:
                later = [v for v in values_of(doc.content)
                         if last_emitted.get(v, (-1, ""))[0] > index]
                if later:
                    evidence = f"value {sorted(later)[0]!r} of its content reused downstream"
            uses.append(DocumentUse(step_id=step.id, document_id=doc.id, used=bool(evidence),
                                    tokens=doc.tokens,
                                    evidence=evidence or "neither cited nor quoted downstream"))
    return uses


class ContextBloat(msgspec.Struct, frozen=True, kw_only=True):
    """Input tokens a model call carried that nothing downstream used."""

    step_id: str
    tokens: int
    evidence: str


def context_bloat(trace: Trace, edges: Iterable[Edge],
                  documents: Iterable[DocumentUse]) -> list[ContextBloat]:
    """Per model call, the input tokens it carried that nothing from it on used.

    Two sources, both lower bounds:

    - oversupplied retrieval: the tokens of unused retrieved documents the call
      read (a ``READ`` edge: declared, or its documents in the prompt); those
      without a token count in the source are left out;
    - stale history: tool results in the call's prompt (matched by tool-call
      id) that neither this call nor any later step used.  Their tokens are
      the call's input tokens apportioned by the result's share of the
      prompt's characters, an estimate the evidence says is one.
    """
    ordered = time_order(trace.steps)
    position = {s.id: i for i, s in enumerate(ordered)}
    by_id = {s.id: s for s in ordered}
    reads: dict[str, set[str]] = {}
    last_use: dict[str, int] = {}
    for edge in edges:
        if edge.type == EdgeType.READ:
            reads.setdefault(edge.source, set()).add(edge.target)
        elif edge.type == EdgeType.USES:
            last_use[edge.target] = max(last_use.get(edge.target, -1), position[edge.source])
    unused: dict[str, list[DocumentUse]] = {}
    for use in documents:
        if not use.used and use.tokens:
            unused.setdefault(use.step_id, []).append(use)
    bloat: list[ContextBloat] = []
    for step in ordered:
        if step.kind != StepKind.LLM:
            continue
        producers = sorted(reads.get(step.id, ()))
        carried = [u for producer in producers for u in unused.get(producer, ())]
        tokens = sum(u.tokens or 0 for u in carried)
        evidence = []
        if carried:
            names = ", ".join(f"{u.document_id} ({u.tokens})" for u in carried[:4])
            more = f" and {len(carried) - 4} more" if len(carried) > 4 else ""
            evidence.append(f"carried unused documents {names}{more}")
        stale = [p for p in producers if by_id[p].result is not None
                 and not by_id[p].documents and last_use.get(p, -1) < position[step.id]]
        prompt = len(text_of(step.input)) if stale and step.input is not None else 0
        if stale and step.input_tokens and prompt:
            share = [(p, len(text_of(by_id[p].result))) for p in stale]
            estimate = min(step.input_tokens,
                           step.input_tokens * sum(n for _, n in share) // prompt)
            if estimate:
                tokens += estimate
                evidence.append(f"~{estimate} tokens (by share of the prompt) of tool results "
                                f"{', '.join(p for p, _ in share[:4])}"
                                f"{' and more' if len(share) > 4 else ''} carried, "
                                "used neither here nor later")
        if tokens:
            bloat.append(ContextBloat(step_id=step.id, tokens=tokens,
                                      evidence="; ".join(evidence)))
    return bloat
