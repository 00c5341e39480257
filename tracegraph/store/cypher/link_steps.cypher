// Relationships between two steps of one trace, each row [trace id, from step, to step];
// {TYPE} is one of CHILD_OF, NEXT, RETRY_OF, OVERRIDES, USES (filled in from
// tracegraph.model.EdgeType, never input), $evidence what every row of it rests on.
UNWIND $rows AS r
MATCH (a:Step {trace_id: r[0], id: r[1]})
MATCH (b:Step {trace_id: r[0], id: r[2]})
CREATE (a)-[:{TYPE} {evidence: $evidence}]->(b)
