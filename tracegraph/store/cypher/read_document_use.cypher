// Which retrieved documents each step of $ids used, as the analysis recorded.
MATCH (t:Trace)-[:HAS_STEP]->(s:Step)-[u:RETRIEVED]->(d:Entity)
WHERE t.id IN $ids AND u.used IS NOT NULL
RETURN t.id AS id, s.id AS step_id, d.name AS document, u.used AS used, u.tokens AS tokens
