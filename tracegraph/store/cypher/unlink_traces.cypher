// A rewritten trace's own relationships to shared nodes and precedents.
UNWIND $ids AS id
MATCH (t:Trace {id: id})-[r:OF|CITES]->()
DELETE r
