// A full re-cluster replaces every cluster.
MATCH (c:Cluster) DETACH DELETE c
