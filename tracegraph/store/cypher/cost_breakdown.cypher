// Per analysed trace of one workflow ($workflow null: traces without one): each
// step's spending category with its cost (decimal text, summed by the caller).
MATCH (t:Trace)-[:HAS_STEP]->(s:Step)
WHERE s.role IS NOT NULL AND t.content_hash IS NOT NULL
  AND (t.workflow = $workflow OR ($workflow IS NULL AND t.workflow IS NULL))
RETURN t.id AS id,
       CASE WHEN s.reason = 'failed_attempt' THEN 'retries'
            WHEN s.kind = 'human_override' THEN 'human'
            WHEN s.model IS NOT NULL THEN 'model'
            WHEN s.tool IS NOT NULL THEN 'tools' ELSE 'other' END AS category,
       count(*) AS n, collect(s.cost) AS costs
