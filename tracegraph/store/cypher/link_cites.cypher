// Precedents: each trace to the earlier traces it cites.  A cited trace not
// imported yet is a Trace node without a content hash, filled in when it comes.
UNWIND $rows AS r
MATCH (t:Trace {id: r.id})
UNWIND r.cites AS cited
MERGE (p:Trace {id: cited})
MERGE (t)-[:CITES {evidence: 'declared precedent'}]->(p)
