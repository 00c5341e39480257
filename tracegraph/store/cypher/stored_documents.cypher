// The stored document and content hash of each of $ids that exists.
MATCH (t:Trace) WHERE t.id IN $ids
RETURN t.id AS id, t.document AS document, t.content_hash AS content_hash
