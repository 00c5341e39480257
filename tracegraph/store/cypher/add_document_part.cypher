// One more part of a trace's document.
MATCH (t:Trace {id: $id})
CREATE (t)-[:PART]->(:Part {i: $i, text: $text})
