// The analyzer version and content hash each of $ids was analysed at, and its hash now.
MATCH (t:Trace) WHERE t.id IN $ids AND t.content_hash IS NOT NULL
RETURN t.id AS id, t.a_version AS version, t.a_hash AS analysed_hash,
       t.content_hash AS content_hash
