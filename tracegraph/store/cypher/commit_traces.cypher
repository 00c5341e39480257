// The last write of a batch: the content hash says the trace is whole.
UNWIND $rows AS r
MATCH (t:Trace {id: r.id})
SET t.content_hash = r.content_hash
