"""A stored trace as a networkx ``MultiDiGraph``: the analyzer's input.

Every store returns the same graph for the same trace, so the analyzer never
knows where a trace was kept.  Nodes: the ``Trace`` (key ``Trace:<id>``), each
step (key: its source id), and the shared entities it touches (``Tool:<name>``,
``Model:<provider/model>``, ``Document:<id>``, ``Rule:<id>``, ``Actor:<id>``,
``Workflow:<name>``, and cited ``Trace:<id>``).  Each node has a ``label``;
steps carry every Step field as attributes.  Each edge has its ``type`` (also
its key, so two relationships between the same nodes stay apart) and its
``evidence``.
"""

from __future__ import annotations

from typing import Any, Sequence

import msgspec
import networkx as nx

from ..model import Edge, Trace, entities, entity_key, summarize, structural_edges

__all__ = ["trace_graph", "step_properties"]


def step_properties(step: Any) -> dict[str, Any]:
    """A Step's fields as a plain dict (enums as values, ``Decimal`` kept exact)."""
    props: dict[str, Any] = msgspec.structs.asdict(step)
    props["kind"] = step.kind.value
    props["status"] = step.status.value
    if step.outcome is not None:
        props["outcome"] = step.outcome.value
    return props


def trace_graph(trace: Trace, *, stored_edges: Sequence[Edge] = ()) -> "nx.MultiDiGraph[str]":
    """Build the graph of one trace from its records and its stored edges."""
    summary = summarize(trace)
    graph: "nx.MultiDiGraph[str]" = nx.MultiDiGraph(trace_id=trace.id)
    tkey = entity_key("Trace", trace.id)
    graph.add_node(tkey, label="Trace", id=trace.id, workflow=summary.workflow,
                   outcome=summary.outcome.value, outcome_reason=summary.outcome_reason,
                   start_ns=summary.start_ns, end_ns=summary.end_ns,
                   attributes=dict(trace.attributes), source_format=trace.source_format,
                   session_id=trace.session_id)
    for step in trace.steps:
        graph.add_node(step.id, label="Step", **step_properties(step))
    for entity in entities(trace, summary.workflow):
        if entity.key not in graph:
            graph.add_node(entity.key, label=entity.label.value, id=entity.name,
                           **entity.properties)
    for edge in list(structural_edges(trace, summary.workflow)) + list(stored_edges):
        for key in (edge.source, edge.target):
            if key not in graph:
                label, _, name = key.partition(":")
                graph.add_node(key, label=label, id=name)
        graph.add_edge(edge.source, edge.target, key=edge.type.value,
                       type=edge.type.value, evidence=edge.evidence)
    return graph
