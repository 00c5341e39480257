// A long attributes text in parts (FalkorDB's Bolt drops messages over ~4 KB).
MATCH (t:Trace {id: $id})
SET t.attributes = CASE WHEN $first THEN $text ELSE t.attributes + $text END
