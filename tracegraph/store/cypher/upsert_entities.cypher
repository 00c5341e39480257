// Shared nodes (Workflow, Model, Tool, Document, Rule, Actor), one per label and name.
UNWIND $rows AS e
MERGE (n:Entity {label: e.label, name: e.name})
SET n.properties = e.properties
