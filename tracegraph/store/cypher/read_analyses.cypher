// The stored analysis of each of $ids: its totals and every step's marks.
MATCH (t:Trace)-[:HAS_STEP]->(s:Step)
WHERE t.id IN $ids AND t.a_version IS NOT NULL
RETURN t.id AS id, t.a_version AS version, t.a_cost AS cost, t.a_wasted AS wasted,
       t.a_unpriced AS unpriced, t.a_bloat_tokens AS bloat_tokens, t.a_bloat_usd AS bloat_usd,
       t.a_human_minutes AS human_minutes, t.a_failed AS failed, t.a_retry_usd AS retry_usd,
       t.a_human_usd AS human_usd, t.a_model_calls AS model_calls,
       collect([s.id, s.role, s.reason, s.cost, s.purpose]) AS steps
