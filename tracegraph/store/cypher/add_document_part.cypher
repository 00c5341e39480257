// One part of a trace's document (FalkorDB's Bolt drops messages over ~4 KB, so a
// document goes in parts there; Neo4j keeps it whole on the Trace node).
MATCH (t:Trace {id: $id})
CREATE (t)-[:PART]->(:Part {i: $i, text: $text})
