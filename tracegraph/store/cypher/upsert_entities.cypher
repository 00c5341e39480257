// Shared nodes of one label, one per name; {LABEL} is one of Workflow, Model, Tool,
// Document, Rule, Actor (filled in from tracegraph.model.EntityLabel, never input).
UNWIND $rows AS e
MERGE (n:Entity:{LABEL} {label: e.label, name: e.name})
ON CREATE SET n.properties = e.properties
