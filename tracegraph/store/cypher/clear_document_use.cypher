// Before a trace's analysis is written again: forget which documents it used.
UNWIND $ids AS id
MATCH (:Trace {id: id})-[:HAS_STEP]->(:Step)-[r:RETRIEVED]->()
REMOVE r.used, r.tokens
