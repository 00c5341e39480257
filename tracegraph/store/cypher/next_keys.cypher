// Hand out $n trace keys (import order) from the one counter node; returns the last.
MERGE (m:Meta {name: 'trace_key'})
SET m.value = coalesce(m.value, 0) + $n
RETURN m.value AS last
