// The failures of each of $ids, with their signature's text.
MATCH (t:Trace)-[:HAS_FAILURE]->(f:Failure)-[:OF_SIGNATURE]->(g:Signature)
WHERE t.id IN $ids
RETURN t.id AS id, f.step_id AS step_id, g.hash AS signature, g.text AS text,
       f.kind AS kind, f.tool AS tool, f.model AS model, f.cost AS cost, f.wasted AS wasted
