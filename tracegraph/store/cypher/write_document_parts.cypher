// A trace's document in parts (FalkorDB's Bolt drops messages over ~4 KB): the parts
// of $id are replaced by $parts, in order.
MATCH (t:Trace {id: $id})
OPTIONAL MATCH (t)-[:PART]->(old:Part)
DETACH DELETE old
