// Each step's role, reason (when wasted), cost (decimal text) and purpose.
UNWIND $rows AS r
MATCH (s:Step {trace_id: r.trace_id, id: r.id})
SET s.role = r.role, s.reason = r.reason, s.cost = r.cost, s.purpose = r.purpose
