"""The graph in Neo4j (or any Bolt server), through the Cypher files of ``cypher/``.

Every statement is a parameterized ``.cypher`` file shipped in the package;
where another Bolt server needs a different statement (FalkorDB: DDL), a
``NAME.falkordb.cypher`` file sits beside it and is chosen by the server's
agent string.  Traces are kept as the SQLite store keeps them — the whole
trace as one document (LZ4 JSON, base64, since not every Bolt server stores
bytes) on a ``Trace`` node, with summary properties, a ``Step`` node per step
linked by ``HAS_STEP``, and one ``Entity`` node per shared name — and merged
the same way (:mod:`tracegraph.store.documents`).

This is the first part of issue 7: writing, reading and listing traces,
counts and entities.  The analysis results, the reports' aggregates and sync
are not here yet; the methods say so when called.
"""

from __future__ import annotations

import base64
import re
import hashlib
from importlib import resources
from typing import Any, Iterable, Sequence

import networkx as nx
import orjson

from ..errors import InputError, NotFound, StoreError
from ..model import Entity, EntityLabel, Outcome, Trace, entities, model_name, \
    structure_problems, summarize
from .base import StoreCounts, TraceRow, WriteResult
from .documents import decode_document, encode_document, merge, merge_within_batch
from .graphs import trace_graph

__all__ = ["Neo4jStore", "statement"]

_FALKOR_BYTES = 2500
_INDEX = re.compile(r"FOR \(\w+:(\w+)\) ON \(\w+\.(\w+)\)")

_STATEMENTS = resources.files("tracegraph.store") / "cypher"


def statement(name: str, dialect: str | None = None) -> str:
    """The text of ``cypher/NAME.cypher`` (or its dialect's variant), comments dropped."""
    for candidate in ([f"{name}.{dialect}.cypher"] if dialect else []) + [f"{name}.cypher"]:
        path = _STATEMENTS / candidate
        if path.is_file():
            lines = [line for line in path.read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("//")]
            return "\n".join(lines).strip()
    raise StoreError(f"no Cypher statement {name!r} in the package")


class Neo4jStore:
    """A ``Store`` on a Bolt server: Neo4j 5 (local, Aura, cluster) or FalkorDB."""

    def __init__(self, url: str, *, user: str | None = None, password: str | None = None,
                 database: str | None = None) -> None:
        from neo4j import GraphDatabase
        from neo4j.exceptions import Neo4jError, ServiceUnavailable
        self.url = url
        self.database = database or "tracegraph"
        try:
            self._driver = GraphDatabase.driver(url, auth=(user or "neo4j", password or ""),
                                                max_connection_pool_size=16)
            agent = self._driver.get_server_info().agent or ""
        except (ServiceUnavailable, Neo4jError, ValueError) as exc:
            raise StoreError(f"cannot reach {url}: {exc}") from None
        # FalkorDB answers HELLO as "Neo4j/5.x" too: tell them apart by what they
        # accept (FalkorDB refuses uniqueness constraints).
        self.dialect = "falkordb" if "falkor" in agent.lower() else None
        self.queries = 0
        self._schema()

    # -- plumbing ----------------------------------------------------------------

    def _schema(self) -> None:
        """Create the keys, each DDL statement on its own, never one that exists.

        ``CALL db.indexes()`` tells FalkorDB (which also answers HELLO as Neo4j 5,
        and whose Bolt does not survive many failed statements in a row) from
        Neo4j, where it is gone: Neo4j gets its constraints (``IF NOT EXISTS``),
        FalkorDB the indexes of its dialect file that it lacks.
        """
        from neo4j.exceptions import Neo4jError
        with self._driver.session(database=self.database) as session:
            try:
                existing = {(r["label"], tuple(r["properties"]))
                            for r in session.run("CALL db.indexes()").data()}
                self.dialect = "falkordb"
            except Neo4jError:
                existing = None
        with self._driver.session(database=self.database) as session:
            for text in statement("schema", self.dialect).split(";"):
                found = _INDEX.search(text)
                if not text.strip() or (existing is not None and found is not None and (
                        found.group(1), (found.group(2),)) in existing):
                    continue
                session.run(text).consume()

    def _run_text(self, text: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        from neo4j.exceptions import Neo4jError
        self.queries += 1
        try:
            records, _, _ = self._driver.execute_query(text, params, database_=self.database)
        except Neo4jError as exc:
            raise StoreError(f"{self.url}: {exc.message or exc}") from None
        return [record.data() for record in records]

    def _run(self, name: str, **params: Any) -> list[dict[str, Any]]:
        return self._run_text(statement(name, self.dialect), params)

    def _run_rows(self, name: str, rows: list[dict[str, Any]]) -> None:
        """``UNWIND $rows`` statements, split so that each Bolt message stays small.

        Neo4j takes big batches (5,000 rows); FalkorDB's experimental Bolt drops
        the connection, and the server, on a message over about 4 KB (seen with
        FalkorDB 4.16), so there the rows go in groups under ``_FALKOR_BYTES``.
        """
        if self.dialect != "falkordb":
            for start in range(0, len(rows), 5000):
                self._run(name, rows=rows[start:start + 5000])
            return
        group: list[dict[str, Any]] = []
        size = 0
        for row in rows:
            length = len(orjson.dumps(row, default=str))
            if group and size + length > _FALKOR_BYTES:
                self._run(name, rows=group)
                group, size = [], 0
            group.append(row)
            size += length
        if group:
            self._run(name, rows=group)

    def _documents(self, ids: list[str]) -> dict[str, tuple[bytes, str]]:
        """(document, content hash) of the stored traces among ``ids``."""
        found: dict[str, tuple[bytes, str]] = {}
        for start in range(0, len(ids), 50):
            for r in self._run("stored_documents", ids=ids[start:start + 50]):
                text = "".join(r["parts"]) if "parts" in r else r["document"]
                found[r["id"]] = (base64.b64decode(text), r["content_hash"])
        return found

    def close(self) -> None:
        self._driver.close()

    # -- writing -----------------------------------------------------------------

    def write_traces(self, traces: Sequence[Trace]) -> WriteResult:
        """Merge and write a batch: one statement for the traces, one for their steps."""
        result = WriteResult()
        incoming = merge_within_batch(traces)
        stored = self._documents(list(incoming))
        rows: list[dict[str, Any]] = []
        steps: list[dict[str, Any]] = []
        shared: dict[tuple[str, str], Entity] = {}
        for trace_id, (trace, merged) in incoming.items():
            before = stored.get(trace_id)
            if before is not None and trace.partial:
                trace = merge(decode_document(before[0]), trace)
                merged = True
            if merged:
                problems = structure_problems(trace.steps)
                if problems:
                    index, field, message = problems[0]
                    result.rejected.append(InputError(
                        f"{message} once merged with the other spans of this trace",
                        record=f"step {trace.steps[index].id}", field=field,
                        trace_id=trace.id))
                    continue
            document = encode_document(trace)
            content_hash = hashlib.blake2b(document, digest_size=16).hexdigest()
            if before is not None and before[1] == content_hash:
                result.traces_unchanged += 1
                continue
            summary = summarize(trace)
            rows.append({"id": trace.id, "props": {
                "workflow": summary.workflow, "source_format": trace.source_format,
                "session_id": trace.session_id, "outcome": summary.outcome.value,
                "outcome_reason": summary.outcome_reason, "start_ns": summary.start_ns,
                "end_ns": summary.end_ns, "step_count": summary.step_count,
                "error_count": summary.error_count, "input_tokens": summary.input_tokens,
                "output_tokens": summary.output_tokens,
                "attributes": orjson.dumps(trace.attributes, default=str).decode(),
                "document": base64.b64encode(document).decode(),
                "content_hash": content_hash}})
            steps.extend({"trace_id": trace.id, "id": s.id, "kind": s.kind.value,
                          "status": s.status.value,
                          "model": model_name(s) if s.model else None,
                          "tool": s.tool_name} for s in trace.steps)
            for entity in entities(trace, summary.workflow):
                shared.setdefault((entity.label.value, entity.name), entity)
        if rows:
            if self.dialect == "falkordb":  # documents in parts, each message small
                parts = {r["id"]: r["props"].pop("document") for r in rows}
            self._run_rows("upsert_traces", rows)
            if self.dialect == "falkordb":
                for trace_id, text in parts.items():
                    self._run("write_document_parts", id=trace_id)
                    for i in range(0, len(text), _FALKOR_BYTES):
                        self._run("add_document_part", id=trace_id, i=i,
                                  text=text[i:i + _FALKOR_BYTES])
            self._run_rows("create_steps", steps)
            self._run_rows("upsert_entities", [
                {"label": label, "name": name,
                 "properties": orjson.dumps(e.properties, default=str).decode()}
                for (label, name), e in sorted(shared.items())])
        result.traces_written = len(rows)
        result.steps_written = len(steps)
        return result

    # -- reading -----------------------------------------------------------------

    def get_trace(self, trace_id: str) -> Trace:
        found = self._documents([trace_id])
        if not found:
            raise NotFound(f"no trace {trace_id!r} in {self.url}")
        return decode_document(found[trace_id][0])

    def trace_row(self, trace_id: str) -> TraceRow:
        found = self._run("trace_row", id=trace_id)
        if not found:
            raise NotFound(f"no trace {trace_id!r} in {self.url}")
        return _row(found[0])

    def list_traces(self, *, workflow: str | None = None, outcome: Outcome | None = None,
                    limit: int | None = None) -> list[TraceRow]:
        return [_row(r) for r in self._run(
            "list_traces", workflow=workflow,
            outcome=None if outcome is None else Outcome(outcome).value,
            limit=2**31 - 1 if limit is None else int(limit))]

    def find_trace_ids(self, ids: Iterable[str]) -> set[str]:
        wanted = list(ids)
        return {r["id"] for start in range(0, len(wanted), 50)
                for r in self._run("find_trace_ids", ids=wanted[start:start + 50])}

    def counts(self) -> StoreCounts:
        found = {r["what"]: int(r["n"]) for r in self._run("counts")}
        return StoreCounts(traces=found.get("Trace", 0), steps=found.get("Step", 0),
                           workflows=found.get("Workflow", 0), models=found.get("Model", 0),
                           tools=found.get("Tool", 0), documents=found.get("Document", 0))

    def entities(self, label: EntityLabel | None = None) -> list[Entity]:
        return [Entity(label=EntityLabel(r["label"]), name=r["name"],
                       properties=orjson.loads(r["properties"] or "{}"))
                for r in self._run("entities",
                                   label=None if label is None else EntityLabel(label).value)]

    def graph(self, trace_id: str) -> "nx.MultiDiGraph[str]":
        return trace_graph(self.get_trace(trace_id), stored_edges=[])

    def __getattr__(self, name: str) -> Any:
        raise StoreError(f"{name} is not available on a Bolt store yet (issue 7 is in "
                         "progress: writing, reading, listing and counting traces work); "
                         "use a SQLite file for analyses and reports")


def _row(r: dict[str, Any]) -> TraceRow:
    return TraceRow(trace_id=r["id"], workflow=r["workflow"], outcome=Outcome(r["outcome"]),
                    outcome_reason=r["outcome_reason"], source_format=r["source_format"],
                    start_ns=r["start_ns"], end_ns=r["end_ns"], steps=r["step_count"],
                    errors=r["error_count"], input_tokens=r["input_tokens"],
                    output_tokens=r["output_tokens"],
                    attributes=orjson.loads(r["attributes"] or "{}"))
