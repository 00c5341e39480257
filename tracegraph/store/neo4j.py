"""The graph in Neo4j (or any Bolt server), through the Cypher files of ``cypher/``.

Every statement is a parameterized ``.cypher`` file shipped in the package;
where another Bolt server needs a different statement (FalkorDB: DDL, and
documents in parts), a ``NAME.falkordb.cypher`` file sits beside it.

The graph is DESIGN.md's: a ``Trace`` node per trace (its summary, and the
whole trace as one document — LZ4 JSON, base64 since not every Bolt server
stores bytes — merged the way the SQLite store merges), a ``Step`` node per
step (``HAS_STEP``), the steps linked to each other (``CHILD_OF``, ``NEXT``,
``RETRY_OF``, ``OVERRIDES``, ``USES``) and to shared ``Entity`` nodes, each
also labelled ``Workflow``/``Model``/``Tool``/``Document``/``Rule``/``Actor``
(``OF``, ``RAN_ON``, ``CALLED``, ``RETRIEVED``, ``APPLIED``, ``BY``), and
precedents (``CITES``).  Analyses live on the nodes they describe: totals on
the trace (``a_*``), role, reason and cost on each step, use on ``RETRIEVED``,
failures as ``Failure`` nodes linked to a shared ``Signature``, clusters as
``Cluster`` nodes.

Money is decimal text: Cypher has no exact decimal, and its floats would lose
cents over a million rows.  Aggregates group in Cypher and hand back the
amounts of each group (``collect``), summed exactly here.

The statements' text and the rows a batch sends are built in :mod:`.bolt_rows`;
this module holds the connection, the transactions and each Store method.

A batch is one transaction on Neo4j.  FalkorDB accepts ``BEGIN`` but does not
roll back, so there the content hash is written last: a trace without one is
not stored (not listed, not counted, rewritten whole by the next import).
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from decimal import Decimal
from typing import Any, Iterable, Iterator, Sequence

import networkx as nx
import orjson

from ..errors import InputError, NotFound, StoreError
from ..model import Edge, Entity, EntityLabel, Outcome, Trace, structure_problems
from .base import AnalysisRecord, FailureRow, StoreCounts, TraceRow, WriteResult
from .bolt_reports import BoltReports
from .bolt_rows import FALKOR_BYTES, FALKOR_LIMIT, STEP_LINKS, TraceBatch, attribute_pair, \
    describe, oversized, row_of, statement
from .documents import decode_document, encode_document, merge, merge_within_batch
from .graphs import trace_graph

__all__ = ["Neo4jStore", "statement"]

_ROWS = 2000
"""Rows per ``UNWIND`` statement on Neo4j."""
_IDS = 500
"""Ids per ``IN $ids`` lookup."""
_INDEX = re.compile(r"FOR \(\w+:(\w+)\) ON \(\w+\.(\w+)\)")

class Neo4jStore(BoltReports):
    """A ``Store`` on a Bolt server: Neo4j 5 (local, Aura, cluster) or FalkorDB."""

    def __init__(self, url: str, *, user: str | None = None, password: str | None = None,
                 database: str | None = None) -> None:
        from neo4j import GraphDatabase
        from neo4j.exceptions import Neo4jError, ServiceUnavailable
        self.url = url
        self.credentials = {"user": user, "password": password, "database": database}
        """What another process needs to open this store again (analysis workers)."""
        self.database = database or None
        """``None``: the server's default database (Neo4j Community has only one)."""
        try:
            self._driver = GraphDatabase.driver(
                url, auth=(user or "neo4j", password or ""), max_connection_pool_size=16,
                connection_acquisition_timeout=15, max_transaction_retry_time=30)
            try:
                self._driver.verify_connectivity()
            except ServiceUnavailable:
                # FalkorDB leaves the first connection after another client's
                # GOODBYE unanswered (see _absorb_lost_handshake); the next is fine.
                self._driver.verify_connectivity()
        except (ServiceUnavailable, Neo4jError, ValueError, OSError) as exc:
            raise StoreError(f"cannot reach {url}: {exc}") from None
        self.dialect: str | None = None
        self.queries = 0
        """Statements run (tests bound it to catch one query per row)."""
        self._schema()

    # -- plumbing ----------------------------------------------------------------

    def _schema(self) -> None:
        """Create the keys, each DDL statement on its own, never one that exists.

        ``CALL db.indexes()`` tells FalkorDB (which answers HELLO as Neo4j 5 too)
        from Neo4j, where the procedure is gone: Neo4j gets its constraints and
        indexes (``IF NOT EXISTS``), FalkorDB the indexes of its dialect file that
        it lacks.
        """
        from neo4j.exceptions import Neo4jError
        existing: set[tuple[str, str]] | None
        try:  # one row per label, listing every indexed property of it; in a session,
            # since FalkorDB applies the database name there and not in BEGIN
            with self._driver.session(database=self.database) as session:
                existing = {(r["label"], name) for r in session.run("CALL db.indexes()")
                            for name in r["properties"]}
            self.dialect = "falkordb"
        except Neo4jError:
            existing = None
        for text in statement("schema", self.dialect).split(";"):
            found = _INDEX.search(text)
            if not text.strip() or (existing is not None and found is not None and (
                    found.group(1), found.group(2)) in existing):
                continue
            try:
                self._run_text(text, {})
            except StoreError as exc:
                raise StoreError(f"cannot create the graph's keys on {self.url}: {exc}"
                                 ) from None

    def _run_text(self, text: str, params: dict[str, Any], *, write: bool = True
                  ) -> list[dict[str, Any]]:
        """One statement: a managed transaction on Neo4j (retried on transient errors
        by the driver), an auto-commit statement on FalkorDB.

        FalkorDB has no transactions to manage (it accepts BEGIN and ignores it),
        and the BEGIN/COMMIT round trips cost 44 ms a statement there against
        0.5 ms for an auto-commit one (measured with 4.16: its replies wait on
        delayed ACKs).  Reads there are tried again on a dropped connection;
        writes are not, since one may have been applied — the content hash
        written last keeps a half-written trace out of sight until re-imported.
        """
        from neo4j import RoutingControl
        from neo4j.exceptions import DriverError, Neo4jError, ServiceUnavailable, \
            SessionExpired
        self.queries += 1
        attempts = 1 if write else 3
        for attempt in range(attempts):
            try:
                if self.dialect == "falkordb":
                    with self._driver.session(database=self.database) as session:
                        return session.run(text, params).data()
                records, _, _ = self._driver.execute_query(
                    text, params, database_=self.database,
                    routing_=RoutingControl.WRITE if write else RoutingControl.READ)
                return [record.data() for record in records]
            except (ServiceUnavailable, SessionExpired) as exc:
                if attempt + 1 == attempts or self.dialect != "falkordb":
                    raise StoreError(f"{self.url}: {exc}") from None
                time.sleep(0.2 * (attempt + 1))
            except Neo4jError as exc:
                raise StoreError(f"{self.url}: {exc.message or exc}") from None
            except DriverError as exc:
                raise StoreError(f"{self.url}: {exc}") from None
        raise AssertionError("unreachable")

    def _read(self, name: str, **params: Any) -> list[dict[str, Any]]:
        return self._run_text(statement(name, self.dialect), params, write=False)

    def _read_ids(self, name: str, ids: Sequence[str], **params: Any
                  ) -> Iterator[dict[str, Any]]:
        """``name`` over ``ids`` a few hundred at a time (FalkorDB: fewer, messages are small)."""
        size = 50 if self.dialect == "falkordb" else _IDS
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), size):
            yield from self._read(name, ids=unique[start:start + size], **params)

    def _write(self, plan: list[tuple[str, dict[str, Any]]]) -> None:
        """Run a batch's statements: one transaction on Neo4j, in order on FalkorDB."""
        if self.dialect == "falkordb":
            for text, params in plan:
                self._run_text(text, params)
            return
        from neo4j.exceptions import DriverError, Neo4jError

        def work(tx: Any) -> None:
            for text, params in plan:
                tx.run(text, params).consume()

        self.queries += len(plan)
        try:
            with self._driver.session(
                    database=self.database,
                    bookmark_manager=self._driver.execute_query_bookmark_manager) as session:
                # chained to execute_query's reads: on a cluster, the next read sees
                # this batch (the stored document late spans merge into)
                session.execute_write(work)
        except Neo4jError as exc:
            raise StoreError(f"{self.url}: {exc.message or exc}") from None
        except DriverError as exc:
            raise StoreError(f"{self.url}: {exc}") from None

    def _plan_rows(self, plan: list[tuple[str, dict[str, Any]]], name: str,
                   rows: Sequence[Any], key: str = "rows", **names: str) -> None:
        """Add ``UNWIND $rows`` statements, split so that each message stays small."""
        text = statement(name, self.dialect, **names)
        for group in self._groups(rows):
            plan.append((text, {key: group}))

    def _groups(self, rows: Sequence[Any]) -> Iterator[list[Any]]:
        if self.dialect != "falkordb":
            for start in range(0, len(rows), _ROWS):
                yield list(rows[start:start + _ROWS])
            return
        group: list[Any] = []
        size = 0
        for row in rows:
            length = len(orjson.dumps(row, default=str))
            if length > FALKOR_LIMIT:
                raise StoreError(
                    f"{self.url}: one row of {length:,} bytes ({describe(row)}) is more than "
                    f"FalkorDB's Bolt takes in one message (about 4 KB; a bigger one "
                    "brings the server down); nothing of it was sent")
            if group and size + length > FALKOR_BYTES:
                yield group
                group, size = [], 0
            group.append(row)
            size += length
        if group:
            yield group

    def _documents(self, ids: list[str]) -> dict[str, tuple[bytes, str]]:
        """(document, content hash) of the whole stored traces among ``ids``."""
        found: dict[str, tuple[bytes, str]] = {}
        for r in self._read_ids("stored_documents", ids):
            text = "".join(r["parts"]) if "parts" in r else r["document"]
            found[r["id"]] = (base64.b64decode(text), r["content_hash"])
        return found

    def close(self) -> None:
        self._driver.close()
        if self.dialect == "falkordb":
            _absorb_lost_handshake(self.url)

    # -- writing -----------------------------------------------------------------

    def write_traces(self, traces: Sequence[Trace]) -> WriteResult:
        """Merge and write a batch (one transaction on Neo4j; hash last on FalkorDB)."""
        result = WriteResult()
        incoming = merge_within_batch(traces)
        stored = self._documents(list(incoming))
        batch = TraceBatch()
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
            if self.dialect == "falkordb":
                too_big = oversized(trace, document, content_hash)
                if too_big:
                    result.rejected.append(InputError(
                        f"{too_big} is more than FalkorDB's Bolt takes in one message "
                        "(about 4 KB; a bigger one brings the server down): store this "
                        "trace in SQLite or Neo4j", trace_id=trace.id))
                    continue
            batch.add(trace, document, content_hash)
        if batch.traces:
            self._write(self._trace_plan(batch))
        result.traces_written = len(batch.traces)
        result.steps_written = len(batch.steps)
        return result

    def _trace_plan(self, batch: "TraceBatch") -> list[tuple[str, dict[str, Any]]]:
        """Every statement that writes a batch, the content hashes last."""
        last = self._run_text(statement("next_keys"), {"n": len(batch.traces)})[0]["last"]
        first = int(last) - len(batch.traces) + 1
        for offset, row in enumerate(batch.traces):
            row["key"] = first + offset  # kept by traces that have one already
        plan: list[tuple[str, dict[str, Any]]] = []
        ids = [row["id"] for row in batch.traces]
        if self.dialect == "falkordb":  # documents (and long attributes) in parts
            parts = {row["id"]: row["props"].pop("document") for row in batch.traces}
            attributes = {row["id"]: row["props"].pop("attributes") for row in batch.traces
                          if len(row["props"]["attributes"]) > FALKOR_BYTES // 2}
        self._plan_rows(plan, "upsert_traces", batch.traces)
        self._plan_rows(plan, "clear_traces", ids, key="ids")
        self._plan_rows(plan, "unlink_traces", ids, key="ids")
        if self.dialect == "falkordb":
            text = statement("add_document_part")
            for trace_id, encoded in parts.items():
                for i in range(0, len(encoded), FALKOR_BYTES):
                    plan.append((text, {"id": trace_id, "i": i,
                                        "text": encoded[i:i + FALKOR_BYTES]}))
            text = statement("append_attributes")
            for trace_id, encoded in attributes.items():
                for i in range(0, len(encoded), FALKOR_BYTES):
                    plan.append((text, {"id": trace_id, "first": i == 0,
                                        "text": encoded[i:i + FALKOR_BYTES]}))
        self._plan_rows(plan, "create_steps", batch.steps)
        for label, entity_rows in sorted(batch.entities.items()):
            self._plan_rows(plan, "upsert_entities", entity_rows, LABEL=label)
        for (edge_type, detail), rows in sorted(batch.links.items()):
            if edge_type in STEP_LINKS:
                text = statement("link_steps", self.dialect, TYPE=edge_type)
                plan.extend((text, {"rows": group, "evidence": detail})
                            for group in self._groups(rows))
            else:
                self._plan_rows(plan, "link_entities", rows, TYPE=edge_type, LABEL=detail)
        self._plan_rows(plan, "link_workflows", batch.workflows)
        self._plan_rows(plan, "link_cites", batch.cites)
        self._plan_rows(plan, "commit_traces", batch.hashes)
        return plan

    # -- reading -----------------------------------------------------------------

    def get_trace(self, trace_id: str) -> Trace:
        found = self._documents([trace_id])
        if not found:
            raise NotFound(f"no trace {trace_id!r} in {self.url}")
        return decode_document(found[trace_id][0])

    def get_traces(self, trace_ids: Sequence[str]) -> dict[str, Trace]:
        return {i: decode_document(d) for i, (d, _) in self._documents(list(trace_ids)).items()}

    def trace_row(self, trace_id: str) -> TraceRow:
        found = self._read("trace_row", id=trace_id)
        if not found:
            raise NotFound(f"no trace {trace_id!r} in {self.url}")
        return row_of(found[0])

    def list_traces(self, *, workflow: str | None = None, outcome: Outcome | None = None,
                    limit: int | None = None) -> list[TraceRow]:
        return [row_of(r) for r in self._read(
            "list_traces", workflow=workflow,
            outcome=None if outcome is None else Outcome(outcome).value,
            limit=2**31 - 1 if limit is None else int(limit))]

    def find_trace_ids(self, ids: Iterable[str]) -> set[str]:
        return {r["id"] for r in self._read_ids("find_trace_ids", list(ids))}

    def counts(self) -> StoreCounts:
        found = {r["what"]: int(r["n"]) for r in self._read("counts")}
        return StoreCounts(traces=found.get("Trace", 0), steps=found.get("Step", 0),
                           workflows=found.get("Workflow", 0), models=found.get("Model", 0),
                           tools=found.get("Tool", 0), documents=found.get("Document", 0))

    def entities(self, label: EntityLabel | None = None) -> list[Entity]:
        return [Entity(label=EntityLabel(r["label"]), name=r["name"],
                       properties=orjson.loads(r["properties"] or "{}"))
                for r in self._read("entities",
                                    label=None if label is None else EntityLabel(label).value)]

    def edges(self, trace_id: str) -> list[Edge]:
        """Edges with evidence of their own beyond the records: none are stored yet
        (as on SQLite: the analyzer's READ/USES are recomputed on read)."""
        return []

    def graph(self, trace_id: str) -> "nx.MultiDiGraph[str]":
        return trace_graph(self.get_trace(trace_id), stored_edges=self.edges(trace_id))

    def find_traces(self, *, workflow: str | None = None, outcome: Outcome | None = None,
                    since_ns: int | None = None, until_ns: int | None = None,
                    min_cost: Decimal | None = None, max_cost: Decimal | None = None,
                    attribute: tuple[str, Any] | None = None,
                    has_override: bool | None = None, has_retry: bool | None = None,
                    after_key: int | None = None, limit: int = 50,
                    order: str = "key", offset: int = 0, id_prefix: str | None = None
                    ) -> list[tuple[int, TraceRow, Decimal | None]]:
        if order not in ("key", "cost", "start"):
            raise StoreError(f"no trace order {order!r}")
        rows = self._read(
            "find_traces" if order == "key" else f"find_traces_by_{order}", offset=int(offset),
            after=after_key, workflow=workflow,
            outcome=None if outcome is None else Outcome(outcome).value,
            since=since_ns, until=until_ns,
            min_cost=None if min_cost is None else float(min_cost),
            max_cost=None if max_cost is None else float(max_cost),
            pair=None if attribute is None else attribute_pair(*attribute), prefix=id_prefix or None,
            has_override=has_override, has_retry=has_retry, limit=int(limit))
        return [(r["key"], row_of(r), None if r["cost"] is None else Decimal(r["cost"]))
                for r in rows]

    # -- analyses ----------------------------------------------------------------

    def analysis_is_current(self, trace_id: str, version: str) -> bool:
        return any(r["version"] == version and r["analysed_hash"] == r["content_hash"]
                   for r in self._read("analysis_state", ids=[trace_id]))

    def stale_analyses(self, version: str) -> list[str]:
        return [r["id"] for r in self._read("stale_analyses", version=version)]

    def write_analyses(self, records: Sequence[AnalysisRecord]) -> None:
        """Replace the analyses of many traces (one transaction on Neo4j)."""
        ids = [r.trace_id for r in records]
        known = self.find_trace_ids(ids)
        for trace_id in ids:
            if trace_id not in known:
                raise NotFound(f"no trace {trace_id!r} in {self.url}")
        totals: list[dict[str, Any]] = []
        steps: list[dict[str, Any]] = []
        documents: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        for record in records:
            totals.append({"id": record.trace_id, "props": {
                "a_version": record.version, "a_cost": str(record.cost),
                "a_wasted": str(record.wasted), "a_unpriced": record.unpriced_steps,
                "a_bloat_tokens": record.bloat_tokens, "a_bloat_usd": str(record.bloat_usd),
                "a_human_minutes": str(record.human_minutes),
                "a_failed": record.failed_attempts, "a_retry_usd": str(record.retry_usd),
                "a_human_usd": str(record.human_usd), "a_model_calls": record.model_calls}})
            steps.extend({"trace_id": record.trace_id, "id": step_id, "role": role,
                          "reason": reason, "cost": None if usd is None else str(usd),
                          "purpose": record.purposes.get(step_id)}
                         for step_id, role, reason, usd in record.steps)
            documents.extend({"trace_id": record.trace_id, "step_id": step_id,
                              "document": document_id, "used": used, "tokens": tokens}
                             for step_id, document_id, used, tokens in record.documents)
            seen: set[tuple[str, str]] = set()
            for f in record.failures:
                if (f.step_id or "", f.signature) in seen:  # as SQLite's key does
                    continue
                seen.add((f.step_id or "", f.signature))
                failures.append({"trace_id": record.trace_id, "step_id": f.step_id or "",
                                 "signature": f.signature,
                                 "text": record.signature_texts.get(f.signature, ""),
                                 "kind": f.kind, "tool": f.tool, "model": f.model,
                                 "cost": None if f.cost is None else str(f.cost),
                                 "wasted": f.wasted})
        plan: list[tuple[str, dict[str, Any]]] = []
        self._plan_rows(plan, "invalidate_analyses", ids, key="ids")  # stale until the end
        self._plan_rows(plan, "clear_analyses", ids, key="ids")
        self._plan_rows(plan, "clear_document_use", ids, key="ids")
        self._plan_rows(plan, "write_step_analyses", steps)
        self._plan_rows(plan, "write_document_use", documents)
        self._plan_rows(plan, "write_failures", failures)
        self._plan_rows(plan, "write_analyses", totals)  # last: the analysis is whole
        self._write(plan)

    def analysis_totals(self, trace_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {r["id"]: {"cost": Decimal(r["cost"]), "wasted": Decimal(r["wasted"]),
                          "retry_usd": Decimal(r["retry_usd"]),
                          "human_minutes": Decimal(r["human_minutes"]),
                          "failed_attempts": r["failed"], "unpriced_steps": r["unpriced"],
                          "overrides": r["overrides"]}
                for r in self._read_ids("analysis_totals", trace_ids)}

    def analyses(self, trace_ids: Sequence[str]) -> dict[str, AnalysisRecord]:
        """The stored analyses of ``trace_ids`` as written (what sync copies)."""
        documents: dict[str, list[tuple[str, str, bool, int | None]]] = {}
        for r in self._read_ids("read_document_use", trace_ids):
            documents.setdefault(r["id"], []).append(
                (r["step_id"], r["document"], bool(r["used"]), r["tokens"]))
        failures: dict[str, list[FailureRow]] = {}
        texts: dict[str, dict[str, str]] = {}
        for r in self._read_ids("read_failures", trace_ids):
            failures.setdefault(r["id"], []).append(FailureRow(
                step_id=r["step_id"] or None, signature=r["signature"], kind=r["kind"],
                tool=r["tool"], model=r["model"],
                cost=None if r["cost"] is None else Decimal(r["cost"]),
                wasted=bool(r["wasted"])))
            texts.setdefault(r["id"], {})[r["signature"]] = r["text"]
        found: dict[str, AnalysisRecord] = {}
        for r in self._read_ids("read_analyses", trace_ids):
            marks = sorted(r["steps"], key=lambda s: s[0])
            found[r["id"]] = AnalysisRecord(
                trace_id=r["id"], version=r["version"], cost=Decimal(r["cost"]),
                wasted=Decimal(r["wasted"]), unpriced_steps=r["unpriced"],
                bloat_tokens=r["bloat_tokens"],
                steps=tuple((s[0], s[1], s[2], None if s[3] is None else Decimal(s[3]))
                            for s in marks if s[1] is not None),
                bloat_usd=Decimal(r["bloat_usd"]), human_minutes=Decimal(r["human_minutes"]),
                failed_attempts=r["failed"], retry_usd=Decimal(r["retry_usd"]),
                human_usd=Decimal(r["human_usd"]), model_calls=r["model_calls"],
                documents=tuple(sorted(documents.get(r["id"], []))),
                purposes={s[0]: s[4] for s in marks if s[4] is not None},
                failures=tuple(sorted(failures.get(r["id"], []),
                                      key=lambda f: (f.step_id or "", f.signature))),
                signature_texts=texts.get(r["id"], {}))
        return found

    def step_analyses(self, trace_ids: Sequence[str]
                      ) -> dict[str, dict[str, tuple[str, str | None, Decimal | None]]]:
        found: dict[str, dict[str, tuple[str, str | None, Decimal | None]]] = {}
        for r in self._read_ids("step_analyses", trace_ids):
            found.setdefault(r["trace_id"], {})[r["step_id"]] = (
                r["role"], r["reason"], None if r["cost"] is None else Decimal(r["cost"]))
        return found



def _absorb_lost_handshake(url: str) -> None:
    """Take the one handshake FalkorDB loses after a client says GOODBYE.

    FalkorDB 4.16's Bolt listener never answers the first connection opened
    after a client closed politely (the next one is fine), so the next
    ``tracegraph`` command would hang for a minute.  One throwaway connection
    here, answered or not within a moment, takes that place.
    """
    import socket
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    if parts.scheme != "bolt" or not parts.hostname:
        return
    try:
        with socket.create_connection((parts.hostname, parts.port or 7687), timeout=1) as sock:
            sock.settimeout(0.3)
            sock.sendall(b"\x60\x60\xb0\x17" + b"\x00\x00\x04\x05" + b"\x00" * 12)
            sock.recv(4)
    except OSError:
        pass
