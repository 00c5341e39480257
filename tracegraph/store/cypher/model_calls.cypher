// Analysed model calls by workflow, purpose and model: calls, traces, successful
// traces, the costs (decimal text) of the priced ones.
MATCH (t:Trace)-[:HAS_STEP]->(s:Step)
WHERE s.purpose IS NOT NULL AND t.content_hash IS NOT NULL
  AND ($workflow IS NULL OR t.workflow = $workflow)
RETURN t.workflow AS workflow, s.purpose AS purpose, s.model AS model, count(*) AS calls,
       count(DISTINCT t.id) AS traces,
       count(DISTINCT CASE WHEN t.outcome = 'success' THEN t.id END) AS successes,
       collect(s.cost) AS costs
