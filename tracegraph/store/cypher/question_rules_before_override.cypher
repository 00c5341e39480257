// Rules applied before a human override in the same trace, most often first,
// against every trace that applied the rule: which policies people overrule.
MATCH (t:Trace)-[:HAS_STEP]->(s:Step)-[:APPLIED]->(rule:Rule)
WHERE t.content_hash IS NOT NULL
OPTIONAL MATCH (t)-[:HAS_STEP]->(h:Step {kind: 'human_override'})
WHERE h.start_ns >= s.start_ns
WITH rule, t, count(h) > 0 AS overridden
WITH rule, count(DISTINCT t) AS applied_traces,
     count(DISTINCT CASE WHEN overridden THEN t END) AS overridden_traces,
     collect(DISTINCT CASE WHEN overridden THEN t.id END)[0..5] AS examples
WHERE overridden_traces > 0
RETURN rule.name AS rule, applied_traces, overridden_traces,
       toFloat(overridden_traces) / applied_traces AS override_rate, examples
ORDER BY overridden_traces DESC, override_rate DESC, rule
LIMIT $limit
