// The failures of one cluster ($cluster null: the unclustered ones), newest first.
MATCH (t:Trace)-[:HAS_FAILURE]->(f:Failure)-[:OF_SIGNATURE]->(g:Signature)
WHERE t.content_hash IS NOT NULL
  AND ($workflow IS NULL OR t.workflow = $workflow)
  AND ($since IS NULL OR t.start_ns >= $since)
OPTIONAL MATCH (g)-[:IN_CLUSTER]->(c:Cluster)
WITH t, f, g, c
WHERE ($cluster IS NULL AND c IS NULL) OR c.id = $cluster
RETURN t.id AS trace_id, f.step_id AS step_id, g.text AS signature, f.cost AS cost,
       t.workflow AS workflow, t.start_ns AS start_ns
ORDER BY start_ns DESC, trace_id, step_id
LIMIT $limit
