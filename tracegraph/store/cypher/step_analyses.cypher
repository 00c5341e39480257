// Stored (role, reason, cost) of every analysed step of $ids.
MATCH (t:Trace)-[:HAS_STEP]->(s:Step)
WHERE t.id IN $ids AND s.role IS NOT NULL
RETURN t.id AS trace_id, s.id AS step_id, s.role AS role, s.reason AS reason, s.cost AS cost
