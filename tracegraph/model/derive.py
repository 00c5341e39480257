"""Facts derived from a trace's steps: its summary, its soundness, merged records.

Every store and reader derives these the same way, so they live beside the
records rather than in any one of them.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .records import Outcome, Status, Step, StepKind, Trace, time_order

__all__ = ["merge_step", "structure_problems", "TraceSummary", "summarize"]


_STEP_DEFAULTS = {f.name: f.default for f in msgspec.structs.fields(Step)
                  if f.default is not msgspec.NODEFAULT}


def merge_step(earlier: Step, later: Step) -> Step:
    """One step said twice (a LangSmith post then its patch, an OTLP span re-sent).

    What the later record says wins; what it leaves unsaid (a default: no end
    time, status unset, no outputs) keeps the earlier value, so a patch that
    only closes a run does not erase its inputs.  Attributes merge by key.
    """
    values: dict[str, Any] = {}
    for name in Step.__struct_fields__:
        new = getattr(later, name)
        values[name] = getattr(earlier, name) if (
            name in _STEP_DEFAULTS and new == _STEP_DEFAULTS[name]) else new
    values["attributes"] = {**earlier.attributes, **later.attributes}
    return Step(**values)


def structure_problems(steps: tuple[Step, ...] | list[Step]) -> list[tuple[int, str, str]]:
    """What makes a set of steps not a tree: ``(step index, field, message)`` each.

    Duplicate ids, a step that is its own ancestor (a parent cycle), and
    references (``retry_of``, ``override.replaces``, ``inputs``) to steps that
    are not there.  A parent that is not there is *not* a problem here: span
    formats deliver children before their parent; readers of complete
    documents check it themselves.
    """
    problems: list[tuple[int, str, str]] = []
    index: dict[str, int] = {}
    # When every parent is listed before its child (how most sources write a
    # trace) there can be no cycle, and the costlier walk is skipped.
    parents_first = True
    for i, step in enumerate(steps):
        if step.parent_id is not None and step.parent_id not in index:
            parents_first = False
        if step.id in index:
            problems.append((i, "id", f"duplicate step id {step.id!r} "
                                      f"(also step {index[step.id] + 1})"))
        else:
            index[step.id] = i
    if not parents_first:
        problems.extend(_parent_cycles(steps))
    for i, step in enumerate(steps):
        if step.retry_of is not None and step.retry_of not in index:
            problems.append((i, "retry_of", f"no step {step.retry_of!r} in this trace"))
        if step.override is not None and step.override.replaces is not None \
                and step.override.replaces not in index:
            problems.append((i, "override.replaces",
                             f"no step {step.override.replaces!r} in this trace"))
        for j, used in enumerate(step.inputs):
            if used not in index:
                problems.append((i, f"inputs[{j}]", f"no step {used!r} in this trace"))
    return problems


def _parent_cycles(steps: tuple[Step, ...] | list[Step]) -> list[tuple[int, str, str]]:
    """Each step that is its own ancestor, reported once per cycle."""
    problems: list[tuple[int, str, str]] = []
    parent = {s.id: s.parent_id for s in steps}
    acyclic: set[str] = set()  # steps whose ancestry is known to end
    for i, step in enumerate(steps):
        path: list[str] = []
        on_path: set[str] = set()
        current: str | None = step.id
        while current is not None and current in parent and current not in acyclic:
            if current in on_path:
                problems.append((i, "parent_id", f"parent cycle through step {current!r}"))
                break
            path.append(current)
            on_path.add(current)
            current = parent[current]
        acyclic.update(path)
    return problems


class TraceSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Trace-level facts derived from the steps when the source did not say them."""

    workflow: str | None
    outcome: Outcome
    outcome_reason: str | None
    start_ns: int | None
    end_ns: int | None
    step_count: int
    error_count: int
    input_tokens: int
    output_tokens: int
    root_ids: tuple[str, ...]
    orphan_ids: tuple[str, ...]


def summarize(trace: Trace) -> TraceSummary:
    """Derive the trace-level facts: workflow, outcome, time span, totals.

    The outcome is, in order: what the trace itself declares; the last
    ``outcome`` step's outcome; the root span's status (error → failure,
    ok → success).  A trace with no root yet (its root span has not arrived)
    stays ``unknown``.  The workflow is the declared one (span readers take
    it from the root's ``gen_ai.agent.name`` or the resource's
    ``service.name``), else the root step's name.
    """
    ids = {s.id for s in trace.steps}
    roots: list[Step] = []
    orphans: list[str] = []
    start_ns: int | None = None
    end_ns: int | None = None
    errors = input_tokens = output_tokens = 0
    for s in trace.steps:  # one pass: this runs for every trace of every import
        if s.parent_id is None:
            roots.append(s)
        elif s.parent_id not in ids:
            orphans.append(s.id)
        if s.start_ns is not None and (start_ns is None or s.start_ns < start_ns):
            start_ns = s.start_ns
        if s.end_ns is not None and (end_ns is None or s.end_ns > end_ns):
            end_ns = s.end_ns
        if s.status is Status.ERROR:
            errors += 1
        if s.input_tokens:
            input_tokens += s.input_tokens
        if s.output_tokens:
            output_tokens += s.output_tokens
    outcome = trace.outcome
    reason = trace.outcome_reason
    if outcome is None:
        outcome_steps = time_order([s for s in trace.steps
                                    if s.kind == StepKind.OUTCOME and s.outcome])
        if outcome_steps:
            outcome = outcome_steps[-1].outcome
            reason = reason or outcome_steps[-1].error
    ordered_roots = time_order(roots)
    if outcome is None and ordered_roots:
        root = ordered_roots[0]
        if root.status == Status.ERROR:
            outcome, reason = Outcome.FAILURE, reason or root.error or root.error_type
        elif root.status == Status.OK or root.end_ns is not None:
            outcome = Outcome.SUCCESS
    workflow = trace.workflow
    if workflow is None and ordered_roots:
        workflow = ordered_roots[0].name or None
    return TraceSummary(
        workflow=workflow,
        outcome=outcome or Outcome.UNKNOWN,
        outcome_reason=reason,
        start_ns=start_ns,
        end_ns=end_ns,
        step_count=len(trace.steps),
        error_count=errors,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        root_ids=tuple(s.id for s in ordered_roots),
        orphan_ids=tuple(orphans),
    )
