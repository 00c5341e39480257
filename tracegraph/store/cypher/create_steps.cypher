// The steps of the traces just written, linked to their trace.
UNWIND $rows AS s
MATCH (t:Trace {id: s.trace_id})
CREATE (t)-[:HAS_STEP]->(:Step {trace_id: s.trace_id, id: s.id, kind: s.kind,
                                status: s.status, model: s.model, tool: s.tool,
                                start_ns: s.start_ns})
