// Wasted steps by tool, model and reason, with the cost of each (decimal text).
MATCH (t:Trace)-[:HAS_STEP]->(s:Step)
WHERE s.reason IS NOT NULL AND t.content_hash IS NOT NULL
  AND ($workflow IS NULL OR t.workflow = $workflow)
  AND ($since IS NULL OR t.start_ns >= $since) AND ($until IS NULL OR t.start_ns < $until)
RETURN s.tool AS tool, s.model AS model, s.reason AS reason, count(*) AS n,
       collect(s.cost) AS costs
