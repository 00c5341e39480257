// The stored document (reassembled from its parts) and content hash of each of $ids.
MATCH (t:Trace) WHERE t.id IN $ids AND t.content_hash IS NOT NULL
OPTIONAL MATCH (t)-[:PART]->(p:Part)
WITH t, p ORDER BY p.i
RETURN t.id AS id, collect(p.text) AS parts, t.content_hash AS content_hash
