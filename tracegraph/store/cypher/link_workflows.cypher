// Each trace to its workflow.
UNWIND $rows AS r
MATCH (t:Trace {id: r.id})
MATCH (w:Entity {label: 'Workflow', name: r.workflow})
MERGE (t)-[:OF]->(w)
