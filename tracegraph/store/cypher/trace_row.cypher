// One trace's summary row.
MATCH (t:Trace {id: $id}) WHERE t.content_hash IS NOT NULL
RETURN t.id AS id, t.workflow AS workflow, t.outcome AS outcome,
       t.outcome_reason AS outcome_reason, t.source_format AS source_format,
       t.start_ns AS start_ns, t.end_ns AS end_ns, t.step_count AS step_count,
       t.error_count AS error_count, t.input_tokens AS input_tokens,
       t.output_tokens AS output_tokens, t.attributes AS attributes
