// FalkorDB has no uniqueness constraints over Bolt: indexes, and MERGE on the
// same keys keeps them unique.
CREATE INDEX FOR (t:Trace) ON (t.id);
CREATE INDEX FOR (s:Step) ON (s.trace_id);
CREATE INDEX FOR (e:Entity) ON (e.name);
CREATE INDEX FOR (t:Trace) ON (t.workflow)
