"""Read-side use cases: list traces, and one trace as a document for people and tools.

The JSON shapes here are contracts other tools depend on (issue 2):
``trace_listing`` items have ``trace_id``, ``workflow``, ``outcome``, ``steps``;
``trace_document`` has ``trace_id``, ``workflow``, ``outcome``, ``attributes``,
``steps`` (``id``, ``kind``, ``name``, ``parent``, ``status``, ``model``,
``input_tokens``, ``output_tokens``, ...) and ``edges`` (``source``,
``target``, ``type``, ``evidence``).  Fields are added, never renamed.
"""

from __future__ import annotations

from typing import Any

from ..formats.values import iso
from ..model import Outcome, Step, summarize, structural_edges, time_order
from ..store import Store, TraceRow

__all__ = ["trace_listing", "trace_document", "listing_item"]


def listing_item(row: TraceRow) -> dict[str, Any]:
    duration = (row.end_ns - row.start_ns) / 1e9 if row.start_ns and row.end_ns else None
    return {
        "trace_id": row.trace_id,
        "workflow": row.workflow,
        "outcome": row.outcome.value,
        "outcome_reason": row.outcome_reason,
        "steps": row.steps,
        "errors": row.errors,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "start": iso(row.start_ns),
        "duration_s": duration,
        "source_format": row.source_format,
        "attributes": row.attributes,
    }


def trace_listing(store: Store, *, workflow: str | None = None,
                  outcome: Outcome | None = None,
                  limit: int | None = None) -> list[dict[str, Any]]:
    return [listing_item(row) for row in store.list_traces(workflow=workflow, outcome=outcome,
                                                           limit=limit)]


def _step_item(step: Step) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": step.id,
        "kind": step.kind.value,
        "name": step.name,
        "parent": step.parent_id,
        "status": step.status.value,
        "start": iso(step.start_ns),
        "duration_ms": None if step.duration_ns is None else step.duration_ns / 1e6,
        "model": step.model,
        "provider": step.provider,
        "input_tokens": step.input_tokens,
        "output_tokens": step.output_tokens,
        "cached_input_tokens": step.cached_input_tokens,
        "cost": None if step.cost is None else str(step.cost),
        "tool": step.tool_name,
        "error_type": step.error_type,
        "error": step.error,
    }
    if step.documents:
        item["documents"] = [d.id for d in step.documents]
    if step.retry_of:
        item["retry_of"] = step.retry_of
    if step.override is not None:
        item["override"] = {"actor": step.override.actor, "role": step.override.actor_role,
                            "reason": step.override.reason,
                            "minutes": None if step.override.minutes is None
                            else str(step.override.minutes),
                            "replaces": step.override.replaces}
    if step.rules:
        item["rules"] = list(step.rules)
    if step.outcome is not None:
        item["outcome"] = step.outcome.value
        item["unit"] = step.unit
        item["value"] = None if step.value is None else str(step.value)
    return item


def trace_document(store: Store, trace_id: str) -> dict[str, Any]:
    """One trace with its steps in time order and every edge of its graph."""
    trace = store.get_trace(trace_id)
    summary = summarize(trace)
    edges = list(structural_edges(trace, summary.workflow)) + store.edges(trace_id)
    seen: set[tuple[str, str, str]] = set()
    edge_items = []
    for edge in edges:
        key = (edge.source, edge.target, edge.type.value)
        if key not in seen:
            seen.add(key)
            edge_items.append({"source": edge.source, "target": edge.target,
                               "type": edge.type.value, "evidence": edge.evidence})
    return {
        "trace_id": trace.id,
        "workflow": summary.workflow,
        "outcome": summary.outcome.value,
        "outcome_reason": summary.outcome_reason,
        "source_format": trace.source_format,
        "session_id": trace.session_id,
        "start": iso(summary.start_ns),
        "end": iso(summary.end_ns),
        "attributes": trace.attributes,
        "cites": list(trace.cites),
        "steps": [_step_item(s) for s in time_order(trace.steps)],
        "edges": edge_items,
        "incomplete": bool(summary.orphan_ids),
        "awaiting_parent": list(summary.orphan_ids),
    }
