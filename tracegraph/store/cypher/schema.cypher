// The graph's keys and lookups (Neo4j 5): one trace per source id, one step per
// (trace, id), one shared node per (label, name), one signature per hash: uniqueness
// constraints, so that two importers merging the same new node cannot both create it.  Each
// statement runs on its own; all are idempotent.
CREATE CONSTRAINT trace_id IF NOT EXISTS FOR (t:Trace) REQUIRE t.id IS UNIQUE;
CREATE CONSTRAINT step_key IF NOT EXISTS FOR (s:Step) REQUIRE (s.trace_id, s.id) IS UNIQUE;
CREATE CONSTRAINT entity_key IF NOT EXISTS FOR (e:Entity) REQUIRE (e.label, e.name) IS UNIQUE;
CREATE INDEX trace_workflow IF NOT EXISTS FOR (t:Trace) ON (t.workflow);
CREATE INDEX trace_key IF NOT EXISTS FOR (t:Trace) ON (t.key);
CREATE CONSTRAINT signature_hash IF NOT EXISTS FOR (g:Signature) REQUIRE g.hash IS UNIQUE;
CREATE CONSTRAINT cluster_id IF NOT EXISTS FOR (c:Cluster) REQUIRE c.id IS UNIQUE;
CREATE CONSTRAINT embedding_key IF NOT EXISTS FOR (v:Embedding) REQUIRE (v.signature, v.model) IS UNIQUE;
CREATE INDEX annotation_trace IF NOT EXISTS FOR (a:Annotation) ON (a.trace_id);
CREATE CONSTRAINT meta_name IF NOT EXISTS FOR (m:Meta) REQUIRE m.name IS UNIQUE
