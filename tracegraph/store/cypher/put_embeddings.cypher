// Cache embeddings, one node per (signature, model).
UNWIND $rows AS r
MERGE (v:Embedding {signature: r.hash, model: $model})
SET v.vector = r.vector
