// The graph's keys (Neo4j 5): one trace per source id, one step per (trace, id),
// one shared node per (label, name).  Each statement runs on its own.
CREATE CONSTRAINT trace_id IF NOT EXISTS FOR (t:Trace) REQUIRE t.id IS UNIQUE;
CREATE INDEX step_key IF NOT EXISTS FOR (s:Step) ON (s.trace_id, s.id);
CREATE INDEX entity_key IF NOT EXISTS FOR (e:Entity) ON (e.label, e.name);
CREATE INDEX trace_workflow IF NOT EXISTS FOR (t:Trace) ON (t.workflow)
