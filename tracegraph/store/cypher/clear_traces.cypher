// Before a trace is written again: its old steps (and their relationships), its
// failures, its document parts and its own outgoing relationships go.
UNWIND $ids AS id
MATCH (t:Trace {id: id})-[r]->(x)
WHERE type(r) IN ['HAS_STEP', 'HAS_FAILURE', 'PART']
DETACH DELETE x
