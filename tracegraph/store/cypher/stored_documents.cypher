// The stored document and content hash of each of $ids that is whole.
MATCH (t:Trace) WHERE t.id IN $ids AND t.content_hash IS NOT NULL
RETURN t.id AS id, t.document AS document, t.content_hash AS content_hash
