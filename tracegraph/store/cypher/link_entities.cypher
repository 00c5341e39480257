// Relationships from a step to a shared node; {TYPE} is one of RAN_ON, CALLED,
// RETRIEVED, APPLIED, BY (filled in from tracegraph.model.EdgeType, never input).
UNWIND $rows AS r
MATCH (a:Step {trace_id: r.trace_id, id: r.source})
MATCH (e:Entity {label: r.label, name: r.name})
CREATE (a)-[:{TYPE}]->(e)
