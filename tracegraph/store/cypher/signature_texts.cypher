// The masked text of each signature of $hashes.
MATCH (g:Signature) WHERE g.hash IN $hashes RETURN g.hash AS hash, g.text AS text
