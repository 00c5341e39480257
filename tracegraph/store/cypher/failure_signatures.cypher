// Every distinct failure signature, its masked text and how often it occurs.
MATCH (:Failure)-[:OF_SIGNATURE]->(g:Signature)
RETURN g.hash AS hash, g.text AS text, count(*) AS n
ORDER BY hash
