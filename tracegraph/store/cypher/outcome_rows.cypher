// One row per analysed trace (optionally of one workflow), in import order: what
// workflow economics aggregates.
MATCH (t:Trace)
WHERE t.a_version IS NOT NULL AND t.content_hash IS NOT NULL
  AND ($workflow IS NULL OR t.workflow = $workflow)
RETURN t.id AS id, t.workflow AS workflow, t.outcome AS outcome, t.attributes AS attributes,
       t.input_tokens AS input_tokens, t.a_cost AS cost, t.a_retry_usd AS retry_usd,
       t.a_human_usd AS human_usd, t.a_human_minutes AS human_minutes,
       t.a_failed AS failed, t.a_model_calls AS model_calls, t.a_unpriced AS unpriced
ORDER BY t.key
