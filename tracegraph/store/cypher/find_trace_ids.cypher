// Which of $ids are stored.
MATCH (t:Trace) WHERE t.id IN $ids RETURN t.id AS id
