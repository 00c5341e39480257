// Write the summaries of whole traces (MERGE on the source id, so a re-import
// replaces).  The content hash is cleared here and set last (commit_traces): a
// trace without one is not stored yet — half-written, or only cited so far.
UNWIND $rows AS r
MERGE (t:Trace {id: r.id})
SET t += r.props, t.content_hash = null, t.key = coalesce(t.key, r.key)
