// Tools whose failed calls come before a human override in the same trace: in how
// many traces a failure of the tool was followed by an escalation to a person,
// against all the traces where the tool failed.
MATCH (t:Trace)-[:HAS_STEP]->(f:Step)-[:CALLED]->(tool:Tool)
WHERE f.status = 'error' AND t.content_hash IS NOT NULL
OPTIONAL MATCH (t)-[:HAS_STEP]->(h:Step {kind: 'human_override'})
WHERE h.start_ns >= f.start_ns
WITH tool, t, count(h) > 0 AS escalated
WITH tool, count(t) AS failed_traces,
     toInteger(sum(CASE WHEN escalated THEN 1 ELSE 0 END)) AS escalated_traces,
     collect(CASE WHEN escalated THEN t.id END)[0..5] AS examples
WHERE escalated_traces > 0
RETURN tool.name AS tool, failed_traces, escalated_traces,
       toFloat(escalated_traces) / failed_traces AS escalation_rate, examples
ORDER BY escalated_traces DESC, escalation_rate DESC, tool
LIMIT $limit
