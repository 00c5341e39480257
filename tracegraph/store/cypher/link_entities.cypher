// Relationships from a step to a shared node, each row [trace id, step, node name];
// {TYPE} is one of RAN_ON, CALLED, RETRIEVED, APPLIED, BY and {LABEL} the node's label
// (filled in from tracegraph.model's enums, never input).
UNWIND $rows AS r
MATCH (a:Step {trace_id: r[0], id: r[1]})
MATCH (e:Entity {label: '{LABEL}', name: r[2]})
CREATE (a)-[:{TYPE}]->(e)
