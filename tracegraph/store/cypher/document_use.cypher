// Documents by how often they were retrieved and not used (the analysis decides
// "used"), with the tokens of the unused retrievals; the traces may be filtered.
MATCH (t:Trace)-[:HAS_STEP]->(:Step)-[u:RETRIEVED]->(d:Entity)
WHERE u.used IS NOT NULL AND t.content_hash IS NOT NULL
  AND ($workflow IS NULL OR t.workflow = $workflow)
  AND ($since IS NULL OR t.start_ns >= $since) AND ($until IS NULL OR t.start_ns < $until)
WITH d.name AS document, count(*) AS retrieved,
     sum(CASE WHEN u.used THEN 1 ELSE 0 END) AS used,
     sum(CASE WHEN u.used THEN 0 ELSE coalesce(u.tokens, 0) END) AS unused_tokens
WHERE retrieved >= $min_retrieved
  AND ($max_use_rate IS NULL OR toFloat(used) / retrieved < $max_use_rate)
RETURN document, retrieved, used, unused_tokens
ORDER BY retrieved - used DESC, retrieved DESC, document
LIMIT $limit
