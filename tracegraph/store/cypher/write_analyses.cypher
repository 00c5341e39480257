// Each trace's analysis totals (money as exact decimal text), tied to the content
// it was made from.
UNWIND $rows AS r
MATCH (t:Trace {id: r.id})
SET t += r.props, t.a_hash = t.content_hash
