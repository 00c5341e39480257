// The annotations of the traces of $ids, oldest first.
MATCH (a:Annotation) WHERE a.trace_id IN $ids
RETURN a.trace_id AS trace_id, a.step_id AS step_id, a.label AS label, a.note AS note,
       a.author AS author, a.created_ns AS created_ns
ORDER BY created_ns
