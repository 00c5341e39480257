// Precedent chains: from each trace ($trace: only that one) along CITES to the
// earliest precedent, up to 10 links, longest first, with each link's outcome.
MATCH p = (t:Trace)-[:CITES*1..10]->(last:Trace)
WHERE ($trace IS NULL OR t.id = $trace) AND t.content_hash IS NOT NULL
  AND NOT (last)-[:CITES]->()
RETURN [n IN nodes(p) | n.id] AS chain,
       [n IN nodes(p) | coalesce(n.outcome, 'not imported')] AS outcomes,
       length(p) AS links
ORDER BY links DESC, chain
LIMIT $limit
