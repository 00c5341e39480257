// find_traces, newest first (no start time last): a filtered page of whole traces, with their analysed
// cost (decimal text; the cost bounds compare it as a number).  An attribute filter
// is one [name, value] pair, JSON-encoded, in the trace's attribute_pairs.
MATCH (t:Trace)
WHERE t.content_hash IS NOT NULL
  AND ($after IS NULL OR t.key > $after)
  AND ($workflow IS NULL OR t.workflow = $workflow)
  AND ($prefix IS NULL OR t.id STARTS WITH $prefix)
  AND ($outcome IS NULL OR t.outcome = $outcome)
  AND ($since IS NULL OR t.start_ns >= $since) AND ($until IS NULL OR t.start_ns < $until)
  AND ($min_cost IS NULL OR toFloat(t.a_cost) >= $min_cost)
  AND ($max_cost IS NULL OR toFloat(t.a_cost) <= $max_cost)
  AND ($pair IS NULL OR $pair IN t.attribute_pairs)
  AND ($has_override IS NULL OR (t.overrides > 0) = $has_override)
  AND ($has_retry IS NULL OR (t.retries > 0 OR coalesce(t.a_failed, 0) > 0) = $has_retry)
RETURN t.key AS key, t.id AS id, t.workflow AS workflow, t.outcome AS outcome,
       t.outcome_reason AS outcome_reason, t.source_format AS source_format,
       t.start_ns AS start_ns, t.end_ns AS end_ns, t.step_count AS step_count,
       t.error_count AS error_count, t.input_tokens AS input_tokens,
       t.output_tokens AS output_tokens, t.attributes AS attributes, t.a_cost AS cost
ORDER BY t.start_ns IS NULL, t.start_ns DESC, t.key
SKIP $offset
LIMIT $limit
