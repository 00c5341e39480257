// Traces with no analysis by $version of their current content, in import order.
MATCH (t:Trace)
WHERE t.content_hash IS NOT NULL
  AND (t.a_version IS NULL OR t.a_version <> $version OR t.a_hash <> t.content_hash)
RETURN t.id AS id ORDER BY t.key
