// Per analysed trace (optionally of one workflow, started in [$since, $until)):
// what the waste report sums.  Money is decimal text, summed exactly by the caller.
MATCH (t:Trace)
WHERE t.a_version IS NOT NULL AND t.content_hash IS NOT NULL
  AND ($workflow IS NULL OR t.workflow = $workflow)
  AND ($since IS NULL OR t.start_ns >= $since) AND ($until IS NULL OR t.start_ns < $until)
RETURN t.id AS id, t.workflow AS workflow, t.outcome AS outcome, t.step_count AS steps,
       t.a_cost AS cost, t.a_wasted AS wasted, t.a_unpriced AS unpriced,
       t.a_bloat_tokens AS bloat_tokens, t.a_bloat_usd AS bloat_usd,
       t.a_human_minutes AS human_minutes, t.a_failed AS failed, t.a_retry_usd AS retry
