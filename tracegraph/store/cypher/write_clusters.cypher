// Clusters (kept when they exist: incremental adds only members).
UNWIND $rows AS r
MERGE (c:Cluster {id: r.id})
ON CREATE SET c.label = r.label, c.medoid = r.medoid, c.method = $method
