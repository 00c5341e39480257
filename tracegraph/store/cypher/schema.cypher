// The graph's keys and lookups (Neo4j 5): one trace per source id, one step per
// (trace, id), one shared node per (label, name), one signature per hash.  Each
// statement runs on its own; all are idempotent.
CREATE CONSTRAINT trace_id IF NOT EXISTS FOR (t:Trace) REQUIRE t.id IS UNIQUE;
CREATE INDEX step_key IF NOT EXISTS FOR (s:Step) ON (s.trace_id, s.id);
CREATE INDEX entity_key IF NOT EXISTS FOR (e:Entity) ON (e.label, e.name);
CREATE INDEX trace_workflow IF NOT EXISTS FOR (t:Trace) ON (t.workflow);
CREATE INDEX trace_key IF NOT EXISTS FOR (t:Trace) ON (t.key);
CREATE CONSTRAINT signature_hash IF NOT EXISTS FOR (g:Signature) REQUIRE g.hash IS UNIQUE;
CREATE CONSTRAINT cluster_id IF NOT EXISTS FOR (c:Cluster) REQUIRE c.id IS UNIQUE;
CREATE INDEX embedding_key IF NOT EXISTS FOR (v:Embedding) ON (v.signature, v.model);
CREATE INDEX annotation_trace IF NOT EXISTS FOR (a:Annotation) ON (a.trace_id);
CREATE CONSTRAINT meta_name IF NOT EXISTS FOR (m:Meta) REQUIRE m.name IS UNIQUE
