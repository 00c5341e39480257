// Relationships between two steps of one trace; {TYPE} is one of CHILD_OF, NEXT,
// RETRY_OF, OVERRIDES, USES (filled in from tracegraph.model.EdgeType, never input).
UNWIND $rows AS r
MATCH (a:Step {trace_id: r.trace_id, id: r.source})
MATCH (b:Step {trace_id: r.trace_id, id: r.target})
CREATE (a)-[:{TYPE} {evidence: r.evidence}]->(b)
