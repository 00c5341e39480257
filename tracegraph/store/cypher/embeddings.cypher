// Cached embeddings (base64 float32) of these signatures by $model.
MATCH (v:Embedding) WHERE v.signature IN $hashes AND v.model = $model
RETURN v.signature AS hash, v.vector AS vector
