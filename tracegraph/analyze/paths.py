"""Essential versus wasted: a role, a reason and the evidence for every step.

Essential is the outcome step and everything it transitively ``USES``, plus
the human overrides that changed it (DESIGN.md, "The path analyzer").  The
order of the decision matters, and was set by a labelled evaluation set
(``evaluation/``):

1. grouping spans are ``structural`` (unless one is the outcome);
2. waste by rule, whatever reached the outcome later: ``overridden`` (a human
   replaced the step), ``failed_attempt`` (it failed and was tried again),
   ``redundant_call`` / ``loop`` (a repeat of an answered call with no new
   answer; ``loop`` when made three or more times, or a model turn that only
   asked for repeats or repeated an earlier output);
3. ``essential``: on the ``USES`` walk back from the outcome; the steps of 2
   stay wasted when the walk meets them, but it goes on through them (what a
   failed attempt was given, its retry needed too);
4. ``unused_retrieval``: a retrieval none of whose documents was used;
5. ``dead_end``: anything else, whose information never reached the outcome.

Documents are judged one by one: a retrieved document is used when its id, or
a distinctive value of its content, shows up in a later step's output,
arguments or an override's reason.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Iterable

import msgspec

from ..model import GROUPING_KINDS, Edge, EdgeType, Status, Step, StepKind, Trace, time_order
from .flow import emitted, model_names, text_of, values_of

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
    used_by: str | None = None
    """The step that cited it (its id, or a value of its content)."""


class PathAnalysis(msgspec.Struct, frozen=True, kw_only=True):
    trace_id: str
    outcome_step: str | None
    marks: tuple[StepMark, ...]
    documents: tuple[DocumentUse, ...]

    def mark(self, step_id: str) -> StepMark:
        return next(m for m in self.marks if m.step_id == step_id)


def outcome_step(trace: Trace) -> Step | None:
    """The step that produced the trace's result.

    The last explicit ``outcome`` step; else the last step, at any depth,
    whose output or result is what the root span returned (an ERP posting
    after the last model turn), or failing that the last one whose
    distinctive values the root returned (an answer put together from several
    steps); else the last model call or step with an
    output directly under a root (the root agent's final answer); else the
    last one at any depth (a LangGraph answer nested in a node span); else
    the root itself.  Grouping spans come last in each choice.
    """
    ordered = time_order(trace.steps)
    explicit = [s for s in ordered if s.kind == StepKind.OUTCOME]
    if explicit:
        return explicit[-1]
    roots = [s for s in ordered if s.parent_id is None]
    roots_ids = {s.id for s in roots}
    returned = [text_of(r.output) for r in roots if r.output not in (None, "", {}, [])]
    if returned:
        def says_the_answer(value: Any) -> bool:
            text = text_of(value) if value is not None else ""
            return len(text) >= _MIN_ANSWER and any(text in answer for answer in returned)

        producing = [s for s in ordered if s.id not in roots_ids
                     and (says_the_answer(s.output) or says_the_answer(s.result))]
        working = [s for s in producing if s.kind not in GROUPING_KINDS]
        if working or producing:
            return (working or producing)[-1]
        # An answer put together from several steps: the last working step
        # whose distinctive values the root returned (AUD-30918 from submit_audit).
        answer_values = values_of(returned) - model_names(trace)
        contributing = [s for s in ordered if s.id not in roots_ids
                        and s.kind not in GROUPING_KINDS and s.status != Status.ERROR
                        and answer_values & values_of([s.output, s.result])]
        if contributing:
            return contributing[-1]
    answers = [s for s in ordered if s.parent_id in roots_ids
               and (s.kind == StepKind.LLM or s.output is not None)]
    working = [s for s in answers if s.kind not in GROUPING_KINDS]
    if working:
        return working[-1]
    deeper = [s for s in ordered if s.kind not in GROUPING_KINDS
              and (s.kind == StepKind.LLM or s.output is not None)]
    if deeper:  # the root only groups: the last answer nested in a node span
        return deeper[-1]
    if answers:
        return answers[-1]
    return roots[0] if roots else None


_MIN_ANSWER = 12
"""Shorter outputs ("ok", "true") say too little to recognise as the trace's answer."""


def _essential(outcome: Step | None, uses: dict[str, set[str]],
               overrides: dict[str, Step], wasted: set[str]) -> dict[str, str]:
    """Essential step id → why (the chain of USES that reaches it).

    Steps already wasted by a rule (a failed attempt, a repeat, replaced work)
    stay wasted when the walk meets them, but the walk goes on through them:
    what a failed attempt was given, its retry needed too.
    """
    if outcome is None:
        return {}
    why = {outcome.id: "the step that produced the outcome"}
    seen = {outcome.id}

    def walk(pending: list[str]) -> None:
        while pending:
            consumer = pending.pop()
            via = f" (through {consumer}, itself wasted)" if consumer in wasted else ""
            for producer in sorted(uses.get(consumer, ())):
                if producer in seen:
                    continue
                seen.add(producer)
                pending.append(producer)
                if producer not in wasted:
                    why[producer] = f"used by {consumer}{via}, on the path to the outcome"

    walk([outcome.id])
    for replaced, human in overrides.items():  # the overrides that changed the work
        if human.id not in why and replaced in seen:
            why[human.id] = f"overrode {replaced}, on the path to the outcome"
            seen.add(human.id)
            walk([human.id])
    return why


def _call_key(step: Step) -> tuple[str, str] | None:
    """What makes two calls the same question: the tool (or retriever) and its arguments."""
    if step.tool_name:
        return step.tool_name, text_of(step.arguments)
    if step.kind == StepKind.RETRIEVAL and (step.arguments is not None
                                            or step.input is not None):
        return f"retrieval:{step.name}", text_of(step.arguments if step.arguments is not None
                                                 else step.input)
    return None


def _answer(step: Step) -> str | None:
    """A call's answer, to tell a repeat from a poll that learned something new."""
    if step.result is not None:
        return text_of(step.result)
    if step.documents:
        return " ".join(d.id for d in step.documents)
    return None


def _rule_waste(ordered: list[Step], outcome: Step | None, requested: dict[str, set[str]],
                overrides: dict[str, Step]) -> dict[str, StepMark]:
    """Steps wasted by a rule whatever reached them later: replaced, failed, repeated.

    A repeat is a call with the same tool and arguments as an earlier call
    whose result existed, and no new result (the same one, or none recorded):
    information already there.  Made three or more times in the trace, the
    repeats are a ``loop``; once, a ``redundant_call``.  A polling call whose answer changed brought
    something new and is judged by use instead.  A model turn whose every
    requested call was a repeat, or whose output repeats an earlier turn's,
    is the agent going round in a loop.
    """
    marks: dict[str, StepMark] = {}
    retried = {s.retry_of: s for s in ordered if s.retry_of}
    earlier_calls: dict[tuple[str, str], list[Step]] = {}
    turn_outputs: dict[str, str] = {}
    outcome_id = outcome.id if outcome else None
    calls_made: dict[tuple[str, str], int] = {}
    for step in ordered:
        if (key := _call_key(step)) is not None:
            calls_made[key] = calls_made.get(key, 0) + 1

    def wasted(step: Step, reason: Reason, evidence: str) -> None:
        marks[step.id] = StepMark(step_id=step.id, role=Role.WASTED, reason=reason,
                                  evidence=evidence)

    # Per call key, the first earlier call that answered and the latest answer: kept as
    # the walk goes, so that a trace of thousands of repeats stays linear.
    first_answered: dict[tuple[str, str], Step] = {}
    last_answer: dict[tuple[str, str], str] = {}
    for index, step in enumerate(ordered):
        key = _call_key(step)
        same_calls = earlier_calls.setdefault(key, []) if key else []
        answer = _answer(step) if key is not None else None
        if step.id == outcome_id or step.kind in GROUPING_KINDS:
            pass
        elif step.id in overrides:
            human = overrides[step.id]
            who = human.override.actor if human.override else "a human"
            wasted(step, Reason.OVERRIDDEN, f"{who} replaced this work in {human.id}")
        elif step.status == Status.ERROR and step.id in retried:
            wasted(step, Reason.FAILED_ATTEMPT, f"failed ({step.error_type or 'error'}); "
                                                f"retried by {retried[step.id].id}")
        elif step.status == Status.ERROR and (again := _tried_again(step, ordered[index + 1:])):
            wasted(step, Reason.FAILED_ATTEMPT,
                   f"failed ({step.error_type or 'error'}); "
                   f"{step.tool_name or step.name or step.kind.value} was tried again in "
                   f"{again.id}")
        elif key is not None:
            if key in first_answered and (answer is None or answer == last_answer[key]):
                what = step.tool_name or step.name
                if calls_made[key] >= 3:
                    wasted(step, Reason.LOOP, f"call {len(same_calls) + 1} of "
                                              f"{calls_made[key]} to {what} with the same "
                                              "arguments")
                else:
                    wasted(step, Reason.REDUNDANT_CALL,
                           f"same {'tool' if step.tool_name else 'query'} and arguments as "
                           f"{first_answered[key].id}, whose result existed")
        if key:
            same_calls.append(step)
            if step.status != Status.ERROR and answer is not None:
                first_answered.setdefault(key, step)
                last_answer[key] = answer
    for step in ordered:
        if step.kind != StepKind.LLM or step.id in marks or step.id == outcome_id:
            continue
        calls = requested.get(step.id, set())
        text = text_of(step.output) if step.output is not None else ""
        if calls and all(c in marks and marks[c].reason in (Reason.REDUNDANT_CALL, Reason.LOOP)
                         for c in calls):
            wasted(step, Reason.LOOP, "every call it asked for repeated an earlier one ("
                   + ", ".join(sorted(calls)) + ")")
        elif text and text in turn_outputs:
            wasted(step, Reason.LOOP, f"its output repeats {turn_outputs[text]}")
        if text:
            turn_outputs.setdefault(text, step.id)
    return marks


def _tried_again(failed: Step, later: list[Step]) -> Step | None:
    """The later step that re-attempted a failed one: same tool, or same kind and name."""
    for step in later:
        if failed.tool_name:
            if step.tool_name == failed.tool_name:
                return step
        elif failed.name and step.kind == failed.kind and step.name == failed.name:
            return step
    return None


def analyze_paths(trace: Trace, edges: Iterable[Edge]) -> PathAnalysis:
    """Roles, reasons and evidence for every step, and the use of every document."""
    uses: dict[str, set[str]] = {}
    requested: dict[str, set[str]] = {}  # model turn → the tool calls it asked for
    ordered = time_order(trace.steps)
    by_id = {s.id: s for s in ordered}
    for edge in edges:
        if edge.type == EdgeType.USES:
            uses.setdefault(edge.source, set()).add(edge.target)
            if (by_id[edge.target].kind == StepKind.LLM and by_id[edge.source].tool_name
                    and (edge.evidence.startswith("arguments of")
                         or edge.evidence == "declared input")):
                requested.setdefault(edge.target, set()).add(edge.source)
    documents = _document_uses(ordered)
    for use in documents:  # a cited document makes its retrieval used
        if use.used and use.used_by:
            uses.setdefault(use.used_by, set()).add(use.step_id)
    overrides = {s.override.replaces: s for s in ordered
                 if s.override is not None and s.override.replaces}
    outcome = outcome_step(trace)
    rule_waste = _rule_waste(ordered, outcome, requested, overrides)
    essential = _essential(outcome, uses, overrides, set(rule_waste))
    doc_used_by_step: dict[str, bool] = {}
    for use in documents:
        doc_used_by_step[use.step_id] = doc_used_by_step.get(use.step_id, False) or use.used
    marks = [_mark(step, outcome, essential, rule_waste, doc_used_by_step) for step in ordered]
    return PathAnalysis(trace_id=trace.id, outcome_step=outcome.id if outcome else None,
                        marks=tuple(marks), documents=tuple(documents))


def _mark(step: Step, outcome: Step | None, essential: dict[str, str],
          rule_waste: dict[str, StepMark], doc_used: dict[str, bool]) -> StepMark:
    if step.kind in GROUPING_KINDS and (outcome is None or step.id != outcome.id):
        return StepMark(step_id=step.id, role=Role.STRUCTURAL, reason=None,
                        evidence=f"groups other steps ({step.kind.value})")
    if step.id in rule_waste:
        return rule_waste[step.id]
    if step.id in essential:
        return StepMark(step_id=step.id, role=Role.ESSENTIAL, reason=None,
                        evidence=essential[step.id])
    if step.kind == StepKind.RETRIEVAL and step.documents and not doc_used.get(step.id):
        return StepMark(step_id=step.id, role=Role.WASTED, reason=Reason.UNUSED_RETRIEVAL,
                        evidence=f"none of its {len(step.documents)} documents was used "
                                 "downstream")
    return StepMark(step_id=step.id, role=Role.WASTED, reason=Reason.DEAD_END,
                    evidence="its information never reached the outcome")


def _document_uses(ordered: list[Step]) -> list[DocumentUse]:
    """Each retrieved document, used or not, from one index of what later steps emitted.

    A retrieval's own output (the documents it returned) is not an emission:
    fetching a document again is not citing it.
    """
    last_emitted: dict[str, tuple[int, str]] = {}  # value → (position, step) of its last emitter
    emitted_texts: list[str] = []
    for index, step in enumerate(ordered):
        said = [step.arguments] if step.kind == StepKind.RETRIEVAL else emitted(step)
        text = text_of(said)
        emitted_texts.append(text)
        for value in values_of(text):
            last_emitted[value] = (index, step.id)  # keeps the latest emitter
    uses: list[DocumentUse] = []
    for index, step in enumerate(ordered):
        for doc in step.documents:
            evidence, user = "", None
            hit = last_emitted.get(doc.id)
            if hit is not None and hit[0] > index:
                evidence, user = f"id {doc.id!r} cited in {hit[1]}", hit[1]
            elif values_of(doc.id) != {doc.id}:  # ids the value index cannot see whole
                user = next((ordered[j].id for j in range(index + 1, len(ordered))
                             if doc.id in emitted_texts[j]), None)
                if user is not None:
                    evidence = f"id {doc.id!r} cited in {user}"
            if not evidence and doc.content:
                later = sorted(v for v in values_of(doc.content)
                               if last_emitted.get(v, (-1, ""))[0] > index)
                if later:
                    user = last_emitted[later[0]][1]
                    evidence = f"value {later[0]!r} of its content reused in {user}"
            uses.append(DocumentUse(step_id=step.id, document_id=doc.id, used=bool(evidence),
                                    tokens=doc.tokens, used_by=user,
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
