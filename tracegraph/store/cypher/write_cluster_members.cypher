// Each signature in its cluster (a signature is in one cluster at most).
UNWIND $rows AS r
MATCH (c:Cluster {id: r.cluster})
MERGE (g:Signature {hash: r.hash})
WITH g, c
OPTIONAL MATCH (g)-[old:IN_CLUSTER]->()
DELETE old
MERGE (g)-[:IN_CLUSTER]->(c)
