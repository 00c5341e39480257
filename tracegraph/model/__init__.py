"""The trace model: what every reader produces and every store keeps.

``records`` holds the values (Trace, Step, the kinds, the shared entities);
``relations`` the relationships a trace states by itself; ``derive`` the facts
derived from its steps.  Import from ``tracegraph.model``.
"""

from .derive import TraceSummary, merge_step, structure_problems, summarize
from .records import GROUPING_KINDS, DocumentRef, Edge, EdgeType, Entity, EntityLabel, \
    Outcome, Override, Status, Step, StepKind, Trace, entity_key, model_name, time_order
from .relations import entities, structural_edges

__all__ = [
    "StepKind", "GROUPING_KINDS", "Status", "Outcome", "EdgeType", "DocumentRef", "Override",
    "Step", "Trace", "EntityLabel", "Entity", "Edge", "entity_key", "model_name",
    "time_order", "entities", "structural_edges", "merge_step", "structure_problems",
    "TraceSummary", "summarize",
]
