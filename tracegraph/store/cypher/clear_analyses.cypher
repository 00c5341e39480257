// Before a trace's analysis is written again: its failures go.
UNWIND $ids AS id
MATCH (t:Trace {id: id})-[:HAS_FAILURE]->(f:Failure)
DETACH DELETE f
