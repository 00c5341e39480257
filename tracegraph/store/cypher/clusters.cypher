// Every cluster with its member signatures.
MATCH (c:Cluster)
OPTIONAL MATCH (g:Signature)-[:IN_CLUSTER]->(c)
WITH c, g ORDER BY g.hash
RETURN c.id AS id, c.label AS label, c.medoid AS medoid, collect(g.hash) AS members
ORDER BY id
