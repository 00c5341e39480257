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
step already says (its parent, model, tool, declared inputs, the step it
retries) are derived by :func:`tracegraph.model.relations.structural_edges`;
only relationships that carry evidence of their own (the analyzer's
``READ``/``USES``) are stored :class:`Edge` records.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

import msgspec

__all__ = ["StepKind", "GROUPING_KINDS", "Status", "Outcome", "EdgeType", "DocumentRef",
           "Override", "Step", "Trace", "EntityLabel", "Entity", "Edge", "entity_key",
           "model_name", "time_order"]


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


def time_order(steps: tuple[Step, ...] | list[Step]) -> list[Step]:
    """Steps in the order they started; steps without a time keep source order after."""
    indexed = list(enumerate(steps))
    indexed.sort(key=lambda p: (p[1].start_ns is None, p[1].start_ns or 0, p[0]))
    return [s for _, s in indexed]
