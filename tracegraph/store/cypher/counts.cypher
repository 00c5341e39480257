// How much the store holds: whole traces, their steps, and shared nodes by label.
MATCH (t:Trace) WHERE t.content_hash IS NOT NULL RETURN 'Trace' AS what, count(t) AS n
UNION ALL
MATCH (t:Trace)-[:HAS_STEP]->(s:Step) WHERE t.content_hash IS NOT NULL
RETURN 'Step' AS what, count(s) AS n
UNION ALL
MATCH (e:Entity) RETURN e.label AS what, count(e) AS n
