// Documents retrieved in at least $min_retrieved analysed steps and never used
// downstream: what retrieval keeps paying for.  Tokens are those the retrievals
// carried into prompts; traces are how many runs fetched it.
MATCH (t:Trace)-[:HAS_STEP]->(:Step)-[u:RETRIEVED]->(d:Document)
WHERE u.used IS NOT NULL AND t.content_hash IS NOT NULL
WITH d, count(*) AS retrieved, count(DISTINCT t) AS traces,
     toInteger(sum(CASE WHEN u.used THEN 1 ELSE 0 END)) AS used,
     toInteger(sum(coalesce(u.tokens, 0))) AS tokens, collect(DISTINCT t.workflow) AS workflows
WHERE used = 0 AND retrieved >= $min_retrieved
RETURN d.name AS document, retrieved, traces, tokens, workflows
ORDER BY retrieved DESC, tokens DESC, document
LIMIT $limit
