// The analysis totals of each analysed trace of $ids (money as decimal text).
MATCH (t:Trace)
WHERE t.id IN $ids AND t.content_hash IS NOT NULL AND t.a_version IS NOT NULL
RETURN t.id AS id, t.a_cost AS cost, t.a_wasted AS wasted, t.a_retry_usd AS retry_usd,
       t.a_human_minutes AS human_minutes, t.a_failed AS failed, t.a_unpriced AS unpriced,
       coalesce(t.overrides, 0) AS overrides
