// The steps of the traces just written, linked to their trace; each row is
// [trace id, step id, kind, status, model, tool, start_ns].
UNWIND $rows AS s
MATCH (t:Trace {id: s[0]})
CREATE (t)-[:HAS_STEP]->(:Step {trace_id: s[0], id: s[1], kind: s[2], status: s[3],
                                model: s[4], tool: s[5], start_ns: s[6]})
