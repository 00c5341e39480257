// Per cluster (null: unclustered failures) over the traces in scope: failed steps,
// traces, the costs (decimal text, summed by the caller), first and last seen,
// workflows, tools, distinct signatures, unpriced failures, failed traces.
MATCH (t:Trace)-[:HAS_FAILURE]->(f:Failure)-[:OF_SIGNATURE]->(g:Signature)
WHERE t.content_hash IS NOT NULL
  AND ($workflow IS NULL OR t.workflow = $workflow)
  AND ($since IS NULL OR t.start_ns >= $since)
OPTIONAL MATCH (g)-[:IN_CLUSTER]->(c:Cluster)
RETURN c.id AS cluster_id,
       sum(CASE WHEN f.step_id <> '' THEN 1 ELSE 0 END) AS steps,
       count(DISTINCT t.id) AS traces,
       collect(f.cost) AS costs,
       collect(CASE WHEN f.wasted THEN f.cost END) AS wasted_costs,
       collect(CASE WHEN f.step_id = '' THEN f.cost END) AS trace_costs,
       min(t.start_ns) AS first_ns, max(t.start_ns) AS last_ns,
       collect(DISTINCT t.workflow) AS workflows, collect(DISTINCT f.tool) AS tools,
       count(DISTINCT g.hash) AS signatures,
       sum(CASE WHEN f.cost IS NULL THEN 1 ELSE 0 END) AS unpriced,
       sum(CASE WHEN f.step_id = '' THEN 1 ELSE 0 END) AS trace_failures
