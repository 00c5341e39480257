"""The trace model: what every reader produces and every store keeps.

A :class:`Trace` is one run of a workflow; a :class:`Step` is one thing that
happened in it.  Both keep the id they had in their source (an OTLP hex span id,
a Langfuse observation id, a LangSmith run id, a native id) so a user can find a
step here by the id their own tooling shows.

The records are frozen ``msgspec.Struct`` values: they are built hundreds of
thousands of times a second during an import and encode to JSON for the store
without a conversion layer.  Money is ``Decimal``; an unknown cost is ``None``,
never zero.

Relationships of the graph (DESIGN.md) are not all stored as records: the ones a
step already says (its parent, its model, its tool, the step it retries) are
derived by :func:`structural_edges`; only relationships that carry evidence of
their own (declared ``inputs`` now, the analyzer's ``READ``/``USES`` later) are
:class:`Edge` records.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any, Iterator

import msgspec

__all__ = [
    "StepKind",
    "Status",
    "Outcome",
    "EdgeType",
    "EntityLabel",
    "Entity",
    "entities",
    "DocumentRef",
    "Override",
    "Step",
    "Trace",
    "Edge",
    "entity_key",
    "structural_edges",
    "summarize",
    "structure_problems",
    "merge_step",
    "TraceSummary",
]


class StepKind(StrEnum):
    """What a step is.  ``agent`` and ``chain`` group other steps."""

    CONTEXT = "context"
    RETRIEVAL = "retrieval"
    LLM = "llm"
    TOOL_CALL = "tool_call"
    RETRY = "retry"
    HUMAN_OVERRIDE = "human_override"
    OUTCOME = "outcome"
    AGENT = "agent"
    CHAIN = "chain"
    EVENT = "event"


GROUPING_KINDS = frozenset({StepKind.AGENT, StepKind.CHAIN})


class Status(StrEnum):
    """A step's own status, as OpenTelemetry names span status."""

    UNSET = "unset"
    OK = "ok"
    ERROR = "error"


class Outcome(StrEnum):
    """How a trace ended, for the business: did the unit of work get done?"""

    SUCCESS = "success"
    FAILURE = "failure"
    UNKNOWN = "unknown"


class EdgeType(StrEnum):
    """Relationship types of DESIGN.md's graph."""

    HAS_STEP = "HAS_STEP"
    CHILD_OF = "CHILD_OF"
    NEXT = "NEXT"
    READ = "READ"
    USES = "USES"
    RETRY_OF = "RETRY_OF"
    OVERRIDES = "OVERRIDES"
    RETRIEVED = "RETRIEVED"
    CALLED = "CALLED"
    RAN_ON = "RAN_ON"
    APPLIED = "APPLIED"
    CITES = "CITES"
    BY = "BY"
    OF = "OF"


class DocumentRef(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True,
                  forbid_unknown_fields=True):
    """A document a retrieval step returned (a ``Document`` node, by its id).

    The native format decodes documents straight into this struct, so unknown
    fields are refused here as they are everywhere in that format.
    """

    id: str
    title: str | None = None
    score: float | None = None
    content: str | None = None
    tokens: int | None = None
    metadata: dict[str, Any] | None = None


class Override(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What a human did on a ``human_override`` step: who, why, how long."""

    actor: str
    actor_role: str | None = None
    reason: str | None = None
    minutes: Decimal | None = None
    replaces: str | None = None
    """Id of the step whose work the human replaced (an ``OVERRIDES`` edge)."""


class Step(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One thing that happened in a trace.

    ``id`` is the source's own id and is unique within its trace.  Times are
    integer nanoseconds since the Unix epoch (OTLP's own unit), so ordering and
    durations are exact.  ``attributes`` keeps every source attribute that no
    field below took, so nothing a source said is lost; ``raw`` keeps the source
    record itself for auditors.

    Tokens follow the OpenTelemetry GenAI convention, and every reader converts
    to it: ``input_tokens`` is the whole prompt, with ``cached_input_tokens``
    (cache reads) and ``cache_write_tokens`` as parts of it; ``output_tokens``
    includes ``reasoning_tokens``.  Pricing relies on this to charge each part
    once, at its own rate.
    """

    id: str
    kind: StepKind
    name: str = ""
    parent_id: str | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    status: Status = Status.UNSET
    error_type: str | None = None
    error: str | None = None
    # model calls
    operation: str | None = None
    model: str | None = None
    provider: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost: Decimal | None = None
    """An explicit cost in USD from the source; wins over any computed price."""
    # tool calls
    tool_name: str | None = None
    tool_call_id: str | None = None
    arguments: Any = None
    result: Any = None
    # retrievals
    documents: tuple[DocumentRef, ...] = ()
    # what went in and came out (messages, prompts, answers)
    input: Any = None
    output: Any = None
    # decision trail
    retry_of: str | None = None
    override: Override | None = None
    rules: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    """Ids of steps whose information this step used, as the source declared."""
    # outcome steps
    outcome: Outcome | None = None
    unit: str | None = None
    value: Decimal | None = None
    attributes: dict[str, Any] = {}
    raw: Any = None

    @property
    def duration_ns(self) -> int | None:
        if self.start_ns is None or self.end_ns is None:
            return None
        return self.end_ns - self.start_ns


class Trace(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One run of a workflow, or (``partial=True``) a fragment of one.

    Span formats deliver a trace in pieces (an OTLP exporter sends batches, the
    root span last); such readers emit ``partial`` fragments that the store
    merges by step id.  Readers of complete documents (native, Langfuse) emit
    whole traces that replace what was stored under the same id.

    Trace-level fields that are ``None`` were not said by the source; the store
    derives them from the steps (see :func:`summarize`).
    """

    id: str
    source_format: str
    steps: tuple[Step, ...] = ()
    workflow: str | None = None
    outcome: Outcome | None = None
    outcome_reason: str | None = None
    attributes: dict[str, Any] = {}
    cites: tuple[str, ...] = ()
    """Ids of earlier traces this one used as precedent (``CITES`` edges)."""
    partial: bool = False
    session_id: str | None = None


class EntityLabel(StrEnum):
    """Shared nodes: one per name across all traces (DESIGN.md, "The graph")."""

    WORKFLOW = "Workflow"
    MODEL = "Model"
    TOOL = "Tool"
    DOCUMENT = "Document"
    RULE = "Rule"
    ACTOR = "Actor"


class Entity(msgspec.Struct, frozen=True, kw_only=True):
    """A shared node, e.g. the ``Tool`` ``lookup_policy`` that many steps called.

    ``properties`` holds what the traces say of it (a document's title, an
    actor's role, a model's provider); the first trace to say it wins.
    """

    label: EntityLabel
    name: str
    properties: dict[str, Any] = {}

    @property
    def key(self) -> str:
        return entity_key(self.label.value, self.name)


class Edge(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A relationship with the evidence that made it."""

    source: str
    target: str
    type: EdgeType
    evidence: str = ""


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


def entity_key(label: str, name: str) -> str:
    """Graph node key of a shared entity (``Tool:search``, ``Model:openai/gpt-4o``).

    Steps are keyed by their bare id; entities carry their label so a tool and a
    step can never share a node.
    """
    return f"{label}:{name}"


def model_name(step: Step) -> str | None:
    """The ``Model`` entity name of a step: ``provider/model`` where both are known."""
    if step.model is None:
        return None
    return f"{step.provider}/{step.model}" if step.provider else step.model


def entities(trace: Trace, workflow: str | None) -> Iterator[Entity]:
    """The shared nodes a trace touches (with repeats; callers de-duplicate)."""
    if workflow:
        yield Entity(label=EntityLabel.WORKFLOW, name=workflow)
    for step in trace.steps:
        if step.model:
            yield Entity(label=EntityLabel.MODEL, name=model_name(step) or step.model,
                         properties={"provider": step.provider, "model": step.model})
        if step.tool_name:
            yield Entity(label=EntityLabel.TOOL, name=step.tool_name)
        for doc in step.documents:
            yield Entity(label=EntityLabel.DOCUMENT, name=doc.id,
                         properties={"title": doc.title})
        for rule in step.rules:
            yield Entity(label=EntityLabel.RULE, name=rule)
        if step.override is not None:
            yield Entity(label=EntityLabel.ACTOR, name=step.override.actor,
                         properties={"role": step.override.actor_role})


def time_order(steps: tuple[Step, ...] | list[Step]) -> list[Step]:
    """Steps in the order they started; steps without a time keep source order after."""
    indexed = list(enumerate(steps))
    indexed.sort(key=lambda p: (p[1].start_ns is None, p[1].start_ns or 0, p[0]))
    return [s for _, s in indexed]


def structural_edges(trace: Trace, workflow: str | None) -> Iterator[Edge]:
    """Every relationship a trace's records already state, with its evidence.

    ``CHILD_OF`` from parent ids, ``NEXT`` between siblings in start order,
    ``RETRY_OF``/``OVERRIDES``/``BY``/``APPLIED`` from the decision fields,
    ``RAN_ON``/``CALLED``/``RETRIEVED`` to shared entities, ``USES`` from
    declared ``inputs``, ``CITES`` and ``OF`` at trace level.  ``HAS_STEP`` is
    implied by membership and emitted for completeness.
    """
    tkey = entity_key("Trace", trace.id)
    if workflow:
        yield Edge(source=tkey, target=entity_key("Workflow", workflow), type=EdgeType.OF)
    for cited in trace.cites:
        yield Edge(source=tkey, target=entity_key("Trace", cited), type=EdgeType.CITES,
                   evidence="declared precedent")
    ids = {s.id for s in trace.steps}
    siblings: dict[str | None, list[Step]] = {}
    for step in trace.steps:
        yield Edge(source=tkey, target=step.id, type=EdgeType.HAS_STEP)
        parent = step.parent_id if step.parent_id in ids else None
        siblings.setdefault(parent, []).append(step)
        if parent is not None:
            yield Edge(source=step.id, target=parent, type=EdgeType.CHILD_OF,
                       evidence="span parent")
        name = model_name(step)
        if name:
            yield Edge(source=step.id, target=entity_key("Model", name), type=EdgeType.RAN_ON)
        if step.tool_name:
            yield Edge(source=step.id, target=entity_key("Tool", step.tool_name),
                       type=EdgeType.CALLED)
        for doc in step.documents:
            yield Edge(source=step.id, target=entity_key("Document", doc.id),
                       type=EdgeType.RETRIEVED)
        if step.retry_of and step.retry_of in ids:
            yield Edge(source=step.id, target=step.retry_of, type=EdgeType.RETRY_OF,
                       evidence="declared retry_of")
        if step.override is not None:
            yield Edge(source=step.id, target=entity_key("Actor", step.override.actor),
                       type=EdgeType.BY)
            if step.override.replaces and step.override.replaces in ids:
                yield Edge(source=step.id, target=step.override.replaces,
                           type=EdgeType.OVERRIDES, evidence="declared override")
        for rule in step.rules:
            yield Edge(source=step.id, target=entity_key("Rule", rule), type=EdgeType.APPLIED)
        for used in step.inputs:
            if used in ids:
                yield Edge(source=step.id, target=used, type=EdgeType.USES,
                           evidence="declared input")
    for group in siblings.values():
        ordered = time_order(group)
        for before, after in zip(ordered, ordered[1:]):
            yield Edge(source=before.id, target=after.id, type=EdgeType.NEXT,
                       evidence="start time order")


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
