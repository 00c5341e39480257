// Which retrieved documents were used: on the RETRIEVED relationship (used if any
// listing of the document in that step was).
UNWIND $rows AS r
MATCH (s:Step {trace_id: r.trace_id, id: r.step_id})
MERGE (d:Entity:Document {label: 'Document', name: r.document})
MERGE (s)-[u:RETRIEVED]->(d)
SET u.used = coalesce(u.used, false) OR r.used, u.tokens = coalesce(u.tokens, r.tokens)
