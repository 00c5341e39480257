// Write whole traces: the summary and the document on the Trace node (MERGE on the
// source id, so a re-import replaces), and their old Step nodes removed.
UNWIND $rows AS r
MERGE (t:Trace {id: r.id})
SET t += r.props
WITH t
OPTIONAL MATCH (t)-[:HAS_STEP]->(old:Step)
DETACH DELETE old
