// Which of $ids are stored (whole).
MATCH (t:Trace) WHERE t.id IN $ids AND t.content_hash IS NOT NULL RETURN t.id AS id
