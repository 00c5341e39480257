// First write of a re-analysis: the old analysis is stale until the last one lands.
UNWIND $ids AS id
MATCH (t:Trace {id: id})
SET t.a_hash = null
