// The shared nodes, optionally of one label, by label and name.
MATCH (e:Entity)
WHERE $label IS NULL OR e.label = $label
RETURN e.label AS label, e.name AS name, e.properties AS properties
ORDER BY e.label, e.name
