// The failures of each trace, each linked to its signature (shared across traces).
UNWIND $rows AS r
MATCH (t:Trace {id: r.trace_id})
MERGE (g:Signature {hash: r.signature})
ON CREATE SET g.text = r.text
CREATE (t)-[:HAS_FAILURE]->(f:Failure {step_id: r.step_id, kind: r.kind, tool: r.tool,
                                      model: r.model, cost: r.cost, wasted: r.wasted})
CREATE (f)-[:OF_SIGNATURE]->(g)
