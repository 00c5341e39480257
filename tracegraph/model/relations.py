"""Relationships and shared nodes a trace states by itself, derived from its records.

Only relationships carrying evidence of their own (the analyzer's) are stored
as :class:`Edge` records; these are recomputed on every read, so they can
never disagree with the steps they come from.
"""

from __future__ import annotations

from typing import Iterator

from .records import Edge, EdgeType, Entity, EntityLabel, Step, Trace, entity_key, \
    model_name, time_order

__all__ = ["entities", "structural_edges"]


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
