// Every failure of the traces in scope, with its cluster (null: unclustered).
MATCH (t:Trace)-[:HAS_FAILURE]->(f:Failure)-[:OF_SIGNATURE]->(g:Signature)
WHERE t.content_hash IS NOT NULL
  AND ($workflow IS NULL OR t.workflow = $workflow)
  AND ($since IS NULL OR t.start_ns >= $since)
OPTIONAL MATCH (g)-[:IN_CLUSTER]->(c:Cluster)
RETURN c.id AS cluster_id, t.id AS trace_id, f.step_id AS step_id, g.hash AS signature,
       f.cost AS cost, f.wasted AS wasted, f.tool AS tool, t.workflow AS workflow,
       t.start_ns AS start_ns
