// FalkorDB has no uniqueness constraints over Bolt: single-property indexes on the
// same keys, and MERGE on them keeps them unique.
CREATE INDEX FOR (t:Trace) ON (t.id);
CREATE INDEX FOR (s:Step) ON (s.trace_id);
CREATE INDEX FOR (e:Entity) ON (e.name);
CREATE INDEX FOR (t:Trace) ON (t.workflow);
CREATE INDEX FOR (t:Trace) ON (t.key);
CREATE INDEX FOR (g:Signature) ON (g.hash);
CREATE INDEX FOR (c:Cluster) ON (c.id);
CREATE INDEX FOR (v:Embedding) ON (v.signature);
CREATE INDEX FOR (a:Annotation) ON (a.trace_id);
CREATE INDEX FOR (m:Meta) ON (m.name)
