"""The embedded store: one SQLite file, zero setup.

WAL mode so readers never block the writer; one transaction per batch so a
killed import leaves whole batches or nothing; ``INSERT OR REPLACE`` keyed by
source ids so importing the same file twice changes nothing.  A trace whose
merged content hashes the same as what is stored is not rewritten at all.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence, cast

import networkx as nx
import orjson

from ..errors import InputError, NotFound, StoreError
from ..model import Edge, EdgeType, Entity, EntityLabel, Outcome, Trace, entities, \
    model_name, structure_problems, summarize
from .documents import decode_document as _decode_document, encode_document as _encode_document, \
    merge as _merge, merge_within_batch as _merge_within_batch
from .base import AnalysisRecord, ClusterRow, FailureRow, OutcomeRow, StoreCounts, TraceRow, \
    WriteResult
from .graphs import trace_graph
from .waste_fold import WasteFold
from .migrations import MIGRATIONS, SCHEMA_VERSION

__all__ = ["SQLiteStore"]


_STEP_COLUMNS = "trace_key, id, kind, status, model, tool_name"
_TRACE_COLUMNS = ("key, id, workflow, source_format, session_id, outcome, outcome_reason, "
                  "start_ns, end_ns, step_count, error_count, input_tokens, output_tokens, "
                  "attributes, document, content_hash")
_ROW_COLUMNS = ("id, workflow, outcome, outcome_reason, source_format, start_ns, end_ns, "
                "step_count, error_count, input_tokens, output_tokens, attributes")
_INT64 = 2**63
_CHUNK = 500  # ids per IN (...) list, below SQLite's parameter limit


class SQLiteStore:
    """A ``Store`` in one SQLite file (created, and migrated, on open)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.url = str(self.path)
        if self.path.parent and not self.path.parent.exists():
            raise StoreError(f"cannot create {self.path}: folder {self.path.parent} "
                             "does not exist")
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            # 64 MB of page cache, and a checkpoint every 64 MB of WAL instead of
            # every 4 MB: bulk imports spent a fifth of their time in checkpoints.
            self._db.execute("PRAGMA cache_size=-65536")
            self._db.execute("PRAGMA wal_autocheckpoint=16384")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open {self.path} as a tracegraph store: {exc}") from None
        # typeshed says aggregates return int; SQLite takes any value (here text).
        self._db.create_aggregate("decimal_sum", 1, cast(Any, _DecimalSum))
        self._lock = threading.Lock()
        self.queries = 0
        """Statements run for reads (tests bound it to catch N+1 access)."""

    # -- schema -----------------------------------------------------------------

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this tracegraph "
                f"({SCHEMA_VERSION}); upgrade tracegraph to read it")
        if version == SCHEMA_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={number}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    # -- writing ----------------------------------------------------------------

    def write_traces(self, traces: Sequence[Trace]) -> WriteResult:
        """Merge and write a batch in one transaction; rejected traces write nothing."""
        result = WriteResult()
        incoming = _merge_within_batch(traces)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                stored = self._stored_declared(list(incoming))
                rows = _BatchRows(next_key=self._db.execute(
                    "SELECT coalesce(max(key), 0) + 1 FROM traces").fetchone()[0])
                for trace_id, (trace, merged) in incoming.items():
                    self._prepare(trace, merged, stored.get(trace_id), rows, result)
                rows.write(self._db)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        result.traces_written = len(rows.traces)
        result.steps_written = len(rows.steps)
        return result

    def _stored_declared(self, ids: list[str]) -> dict[str, tuple[bytes, str, int]]:
        found: dict[str, tuple[bytes, str, int]] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for trace_id, document, content_hash, key in self._db.execute(
                    "SELECT id, document, content_hash, key FROM traces "
                    f"WHERE id IN ({marks})", chunk):
                found[trace_id] = (document, content_hash, key)
        return found

    def _prepare(self, trace: Trace, merged: bool, stored: tuple[bytes, str, int] | None,
                 rows: "_BatchRows", result: WriteResult) -> None:
        """Rows for one trace, or a rejection; nothing is written here."""
        if stored is not None and trace.partial:
            trace = _merge(_decode_document(stored[0]), trace)
            merged = True
        if merged:  # readers check each fragment; a merge can still close a cycle
            problems = structure_problems(trace.steps)
            if problems:
                index, field, message = problems[0]
                result.rejected.append(InputError(
                    f"{message} once merged with the other spans of this trace",
                    record=f"step {trace.steps[index].id}", field=field, trace_id=trace.id))
                return
        document = _encode_document(trace)
        content_hash = hashlib.blake2b(document, digest_size=16).hexdigest()
        if stored is not None and stored[1] == content_hash:
            result.traces_unchanged += 1
            return
        summary = summarize(trace)
        for name in ("start_ns", "end_ns", "input_tokens", "output_tokens"):
            value = getattr(summary, name)
            if value is not None and not -_INT64 <= value < _INT64:
                # Readers bound each value; this keeps one absurd trace from
                # failing the whole batch if a reader ever lets one through.
                result.rejected.append(InputError(
                    f"{name} {value} does not fit the store (64-bit)", field=name,
                    trace_id=trace.id))
                return
        if stored is not None:
            key = stored[2]
            rows.replaced.append(key)
        else:
            key = rows.next_key
            rows.next_key += 1
        rows.traces.append((
            key, trace.id, summary.workflow, trace.source_format, trace.session_id,
            summary.outcome.value, summary.outcome_reason, summary.start_ns, summary.end_ns,
            summary.step_count, summary.error_count, summary.input_tokens,
            summary.output_tokens, orjson.dumps(trace.attributes, default=str).decode(),
            document, content_hash))
        rows.steps.extend([
            # StrEnum members are str: sqlite stores them as text without `.value`.
            (key, s.id, s.kind, s.status, model_name(s) if s.model else None,
             s.tool_name) for s in trace.steps])
        for entity in entities(trace, summary.workflow):
            rows.entities.setdefault((entity.label, entity.name), entity)

    # -- reading ----------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        self.queries += 1
        return self._db.execute(sql, params)

    def get_trace(self, trace_id: str) -> Trace:
        row = self._query("SELECT document FROM traces WHERE id = ?", (trace_id,)).fetchone()
        if row is None:
            raise NotFound(f"no trace {trace_id!r} in {self.url}")
        return _decode_document(row[0])

    def trace_row(self, trace_id: str) -> TraceRow:
        row = self._query(f"SELECT {_ROW_COLUMNS} FROM traces WHERE id = ?",
                          (trace_id,)).fetchone()
        if row is None:
            raise NotFound(f"no trace {trace_id!r} in {self.url}")
        return _trace_row(row)

    def list_traces(self, *, workflow: str | None = None, outcome: Outcome | None = None,
                    limit: int | None = None) -> list[TraceRow]:
        where, params = [], []
        if workflow is not None:
            where.append("workflow = ?")
            params.append(workflow)
        if outcome is not None:
            where.append("outcome = ?")
            params.append(Outcome(outcome).value)
        sql = f"SELECT {_ROW_COLUMNS} FROM traces"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY start_ns IS NULL, start_ns, id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(str(int(limit)))
        return [_trace_row(row) for row in self._query(sql, params)]

    def edges(self, trace_id: str) -> list[Edge]:
        return [Edge(source=s, target=t, type=EdgeType(k), evidence=e)
                for s, t, k, e in self._query(
                    "SELECT source, target, type, evidence FROM edges WHERE trace_id = ? "
                    "ORDER BY source, target, type", (trace_id,))]

    def graph(self, trace_id: str) -> "nx.MultiDiGraph[str]":
        trace = self.get_trace(trace_id)
        return trace_graph(trace, stored_edges=self.edges(trace_id))

    def find_trace_ids(self, ids: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self._query(
                f"SELECT id FROM traces WHERE id IN ({marks})", chunk))
        return found

    def counts(self) -> StoreCounts:
        def count(table: str) -> int:
            return int(self._query(f"SELECT count(*) FROM {table}").fetchone()[0])

        by_label = dict(self._query("SELECT label, count(*) FROM entities GROUP BY label")
                        .fetchall())
        return StoreCounts(traces=count("traces"), steps=count("steps"),
                           workflows=by_label.get("Workflow", 0),
                           models=by_label.get("Model", 0), tools=by_label.get("Tool", 0),
                           documents=by_label.get("Document", 0))

    def entities(self, label: EntityLabel | None = None) -> list[Entity]:
        """The shared nodes, optionally of one label, by name."""
        sql = "SELECT label, name, properties FROM entities"
        params: tuple[str, ...] = ()
        if label is not None:
            sql += " WHERE label = ?"
            params = (EntityLabel(label).value,)
        return [Entity(label=EntityLabel(l), name=n, properties=orjson.loads(p))
                for l, n, p in self._query(sql + " ORDER BY label, name", params)]

    def analysis_is_current(self, trace_id: str, version: str) -> bool:
        """Is a stored analysis of this trace's current content by this analyzer there?"""
        row = self._query(
            "SELECT 1 FROM analyses a JOIN traces t ON t.key = a.trace_key "
            "WHERE t.id = ? AND a.analyzer_version = ? AND a.content_hash = t.content_hash",
            (trace_id, version)).fetchone()
        return row is not None

    def stale_analyses(self, version: str) -> list[str]:
        """Ids of traces with no analysis by ``version`` of their current content (one query)."""
        return [r[0] for r in self._query(
            "SELECT t.id FROM traces t LEFT JOIN analyses a ON a.trace_key = t.key "
            "WHERE a.trace_key IS NULL OR a.analyzer_version != ? "
            "OR a.content_hash != t.content_hash ORDER BY t.key", (version,))]

    def write_analyses(self, records: Sequence[AnalysisRecord]) -> None:
        """Replace the stored analyses of many traces in one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                keys: dict[str, tuple[int, str]] = {}
                for chunk in _chunks([r.trace_id for r in records]):
                    marks = ",".join("?" * len(chunk))
                    keys.update({i: (k, h) for i, k, h in self._db.execute(
                        f"SELECT id, key, content_hash FROM traces WHERE id IN ({marks})",
                        chunk)})
                totals: list[tuple[Any, ...]] = []
                rows: list[tuple[Any, ...]] = []
                documents: list[tuple[Any, ...]] = []
                failures: list[tuple[Any, ...]] = []
                signatures: dict[str, str] = {}
                for record in records:
                    if record.trace_id not in keys:
                        raise NotFound(f"no trace {record.trace_id!r} in {self.url}")
                    key, content_hash = keys[record.trace_id]
                    self._db.execute("DELETE FROM step_analysis WHERE trace_key = ?", (key,))
                    self._db.execute("DELETE FROM document_use WHERE trace_key = ?", (key,))
                    self._db.execute("DELETE FROM failures WHERE trace_key = ?", (key,))
                    failures.extend((key, f.step_id or "", f.signature, f.kind, f.tool,
                                     f.model, None if f.cost is None else str(f.cost),
                                     int(f.wasted)) for f in record.failures)
                    signatures.update(record.signature_texts)
                    totals.append((key, record.version, content_hash, str(record.cost),
                                   str(record.wasted), record.unpriced_steps,
                                   record.bloat_tokens, str(record.bloat_usd),
                                   str(record.human_minutes), record.failed_attempts,
                                   str(record.retry_usd), str(record.human_usd),
                                   record.model_calls))
                    rows.extend((key, step_id, role, reason,
                                 None if usd is None else str(usd),
                                 record.purposes.get(step_id))
                                for step_id, role, reason, usd in record.steps)
                    documents.extend((key, step_id, document_id, int(used), tokens)
                                     for step_id, document_id, used, tokens in record.documents)
                self._db.executemany(
                    "INSERT OR REPLACE INTO analyses VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", totals)
                self._db.executemany("INSERT INTO step_analysis VALUES (?,?,?,?,?,?)", rows)
                self._db.executemany("INSERT INTO failures VALUES (?,?,?,?,?,?,?,?) "
                                     "ON CONFLICT DO NOTHING", failures)
                self._db.executemany("INSERT OR IGNORE INTO signatures VALUES (?,?)",
                                     sorted(signatures.items()))
                # A source may list one document twice in a step: used if either was.
                self._db.executemany(
                    "INSERT INTO document_use VALUES (?,?,?,?,?) ON CONFLICT DO UPDATE SET "
                    "used = max(used, excluded.used), tokens = coalesce(tokens, "
                    "excluded.tokens)", documents)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def analysis_totals(self, trace_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(dict.fromkeys(trace_ids))):
            marks = ",".join("?" * len(chunk))
            for trace_id, cost, wasted, retry, minutes, failed, unpriced, overrides in \
                    self._query(
                        "SELECT t.id, a.cost, a.wasted, a.retry_usd, a.human_minutes, "
                        "a.failed_attempts, a.unpriced_steps, (SELECT count(*) FROM steps s "
                        "WHERE s.trace_key = t.key AND s.kind = 'human_override') "
                        "FROM analyses a JOIN traces t "
                        f"ON t.key = a.trace_key WHERE t.id IN ({marks})", chunk):
                found[trace_id] = {"cost": Decimal(cost), "wasted": Decimal(wasted),
                                   "retry_usd": Decimal(retry),
                                   "human_minutes": Decimal(minutes),
                                   "failed_attempts": failed, "unpriced_steps": unpriced,
                                   "overrides": overrides}
        return found

    def analyses(self, trace_ids: Sequence[str]) -> dict[str, AnalysisRecord]:
        """The stored analyses of ``trace_ids`` as written (what sync copies)."""
        found: dict[str, AnalysisRecord] = {}
        for chunk in _chunks(list(dict.fromkeys(trace_ids))):
            marks = ",".join("?" * len(chunk))
            keys = {k: i for k, i in self._query(
                f"SELECT key, id FROM traces WHERE id IN ({marks})", chunk)}
            if not keys:
                continue
            kmarks = ",".join("?" * len(keys))
            steps: dict[int, list[tuple[str, str, str | None, Decimal | None]]] = {}
            purposes: dict[int, dict[str, str]] = {}
            for key, step_id, role, reason, cost, purpose in self._query(
                    "SELECT trace_key, step_id, role, reason, cost, purpose FROM step_analysis "
                    f"WHERE trace_key IN ({kmarks}) ORDER BY trace_key, step_id", list(keys)):
                steps.setdefault(key, []).append(
                    (step_id, role, reason, None if cost is None else Decimal(cost)))
                if purpose is not None:
                    purposes.setdefault(key, {})[step_id] = purpose
            documents: dict[int, list[tuple[str, str, bool, int | None]]] = {}
            for key, step_id, document, used, tokens in self._query(
                    "SELECT trace_key, step_id, document_id, used, tokens FROM document_use "
                    f"WHERE trace_key IN ({kmarks}) ORDER BY trace_key, step_id, document_id",
                    list(keys)):
                documents.setdefault(key, []).append((step_id, document, bool(used), tokens))
            failures: dict[int, list[FailureRow]] = {}
            texts: dict[int, dict[str, str]] = {}
            for key, step_id, signature, kind, tool, model, cost, wasted, text in self._query(
                    "SELECT f.trace_key, f.step_id, f.signature, f.kind, f.tool, f.model, "
                    "f.cost, f.wasted, s.text FROM failures f JOIN signatures s "
                    f"ON s.hash = f.signature WHERE f.trace_key IN ({kmarks}) "
                    "ORDER BY f.trace_key, f.step_id, f.signature", list(keys)):
                failures.setdefault(key, []).append(FailureRow(
                    step_id=step_id or None, signature=signature, kind=kind, tool=tool,
                    model=model, cost=None if cost is None else Decimal(cost),
                    wasted=bool(wasted)))
                texts.setdefault(key, {})[signature] = text
            for row in self._query(
                    "SELECT trace_key, analyzer_version, cost, wasted, unpriced_steps, "
                    "bloat_tokens, bloat_usd, human_minutes, failed_attempts, retry_usd, "
                    f"human_usd, model_calls FROM analyses WHERE trace_key IN ({kmarks})",
                    list(keys)):
                key = row[0]
                found[keys[key]] = AnalysisRecord(
                    trace_id=keys[key], version=row[1], cost=Decimal(row[2]),
                    wasted=Decimal(row[3]), unpriced_steps=row[4], bloat_tokens=row[5],
                    steps=tuple(steps.get(key, [])), bloat_usd=Decimal(row[6]),
                    human_minutes=Decimal(row[7]), failed_attempts=row[8],
                    retry_usd=Decimal(row[9]), human_usd=Decimal(row[10]),
                    model_calls=row[11], documents=tuple(documents.get(key, [])),
                    purposes=purposes.get(key, {}), failures=tuple(failures.get(key, [])),
                    signature_texts=texts.get(key, {}))
        return found

    def waste_totals(self, *, workflow: str | None = None, since_ns: int | None = None,
                     until_ns: int | None = None) -> dict[str, Any]:
        """Spend, waste and its breakdowns over the analysed traces, exactly.

        ``since_ns``/``until_ns`` bound the trace's start (inclusive, exclusive).
        Per-trace figures are read in one pass and summed here; wasted steps
        and documents are read through covering indexes, joined to the traces
        only when a filter needs it.
        """
        conditions, params = [], []
        for clause, value in (("t.workflow = ?", workflow), ("t.start_ns >= ?", since_ns),
                              ("t.start_ns < ?", until_ns)):
            if value is not None:
                conditions.append(clause)
                params.append(value)
        where = " WHERE " + " AND ".join(conditions) if conditions else ""

        def scoped(alias: str) -> str:
            """Join ``alias``'s trace when filtered; ``AND``-able conditions follow."""
            if not conditions:
                return " WHERE "
            return (f" JOIN traces t ON t.key = {alias}.trace_key WHERE "
                    + " AND ".join(conditions) + " AND ")

        fold = WasteFold()
        for row in self._query(
                "SELECT t.id, t.workflow, t.outcome, t.step_count, a.cost, a.wasted, "
                "a.unpriced_steps, a.bloat_tokens, a.bloat_usd, a.human_minutes, "
                "a.failed_attempts, a.retry_usd FROM analyses a "
                f"JOIN traces t ON t.key = a.trace_key{where}", params):
            fold.add_trace(*row)
        for tool, model, reason, count, amount in self._query(
                "SELECT st.tool_name, st.model, s.reason, count(*), decimal_sum(s.cost) "
                "FROM step_analysis s JOIN steps st ON st.trace_key = s.trace_key "
                f"AND st.id = s.step_id{scoped('s')}s.reason IS NOT NULL "
                "GROUP BY st.tool_name, st.model, s.reason", params):
            fold.add_wasted(tool, model, reason, count, Decimal(amount or 0))
        documents = list(self._query(
            "SELECT d.document_id, count(*), sum(d.used), "
            "sum(CASE WHEN d.used THEN 0 ELSE coalesce(d.tokens, 0) END) "
            f"FROM document_use d{scoped('d')}1 GROUP BY d.document_id "
            "ORDER BY count(*) - sum(d.used) DESC, count(*) DESC, d.document_id LIMIT 20",
            params))
        return fold.totals(documents)

    def cost_breakdown(self, *, workflow: str | None) -> dict[str, dict[str, tuple[Decimal, int]]]:
        """Per analysed trace of ``workflow``: (spend, steps) by spending category.

        Categories: ``retries`` (failed attempts), ``human`` (overrides),
        ``model`` (steps that ran on a model), ``tools`` (tool calls and
        retrievals on a tool), ``other``.  Unpriced steps count as steps, not
        dollars.  ``workflow=None`` means traces without a workflow.
        """
        found: dict[str, dict[str, tuple[Decimal, int]]] = {}
        for trace_id, category, amount, count in self._query(
                "SELECT t.id, CASE WHEN s.reason = 'failed_attempt' THEN 'retries' "
                "WHEN st.kind = 'human_override' THEN 'human' "
                "WHEN st.model IS NOT NULL THEN 'model' "
                "WHEN st.tool_name IS NOT NULL THEN 'tools' ELSE 'other' END AS category, "
                "decimal_sum(s.cost), count(*) FROM step_analysis s "
                "JOIN steps st ON st.trace_key = s.trace_key AND st.id = s.step_id "
                "JOIN traces t ON t.key = s.trace_key WHERE t.workflow IS ? "
                "GROUP BY t.key, category", (workflow,)):
            found.setdefault(trace_id, {})[category] = (Decimal(amount or 0), count)
        return found

    def outcome_rows(self, *, workflow: str | None = None) -> Iterator[OutcomeRow]:
        """One row per analysed trace (of ``workflow``): what economics aggregates."""
        where, params = ("", ()) if workflow is None else (" WHERE t.workflow = ?",
                                                            (workflow,))
        for row in self._query(
                "SELECT t.id, t.workflow, t.outcome, t.attributes, t.input_tokens, a.cost, "
                "a.retry_usd, a.human_usd, a.human_minutes, a.failed_attempts, "
                "a.model_calls, a.unpriced_steps FROM analyses a "
                f"JOIN traces t ON t.key = a.trace_key{where} ORDER BY t.key", params):
            yield OutcomeRow(trace_id=row[0], workflow=row[1], outcome=_OUTCOMES[row[2]],
                             attributes=orjson.loads(row[3]), input_tokens=row[4],
                             cost=_decimal(row[5]), retry_usd=_decimal(row[6]),
                             human_usd=_decimal(row[7]), human_minutes=_decimal(row[8]),
                             failed_attempts=row[9], model_calls=row[10], unpriced_steps=row[11])

    def model_calls(self, *, workflow: str | None = None) -> list[tuple[Any, ...]]:
        """(workflow, purpose, model, calls, traces, successful traces, USD, priced calls)
        over the analysed model calls, by workflow, purpose and model."""
        where, params = ("", ()) if workflow is None else (" AND t.workflow = ?",
                                                            (workflow,))
        return [(name, purpose, model, calls, traces, successes, Decimal(usd or 0), priced)
                for name, purpose, model, calls, traces, successes, usd, priced in self._query(
                    "SELECT t.workflow, s.purpose, st.model, count(*), "
                    "count(DISTINCT s.trace_key), "
                    "count(DISTINCT CASE WHEN t.outcome = 'success' THEN s.trace_key END), "
                    "decimal_sum(s.cost), count(s.cost) FROM step_analysis s "
                    "JOIN steps st ON st.trace_key = s.trace_key AND st.id = s.step_id "
                    "JOIN traces t ON t.key = s.trace_key "
                    f"WHERE s.purpose IS NOT NULL{where} "
                    "GROUP BY t.workflow, s.purpose, st.model", params)]

    # -- failure clusters -------------------------------------------------------

    def failure_signatures(self) -> list[tuple[str, str, int]]:
        """(hash, text, occurrences) of every distinct failure signature, by hash."""
        return [(h, t, n) for h, t, n in self._query(
            "SELECT f.signature, s.text, count(*) FROM failures f "
            "JOIN signatures s ON s.hash = f.signature GROUP BY f.signature "
            "ORDER BY f.signature")]

    def signature_texts(self, hashes: Sequence[str]) -> dict[str, str]:
        """The masked text of each signature hash (also of ones no longer occurring)."""
        found: dict[str, str] = {}
        for chunk in _chunks(list(hashes)):
            marks = ",".join("?" * len(chunk))
            found.update(dict(self._query(
                f"SELECT hash, text FROM signatures WHERE hash IN ({marks})", chunk)))
        return found

    def embeddings(self, model: str, hashes: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for chunk in _chunks(list(hashes)):
            marks = ",".join("?" * len(chunk))
            found.update({h: v for h, v in self._query(
                f"SELECT signature, vector FROM embeddings WHERE model = ? "
                f"AND signature IN ({marks})", [model, *chunk])})
        return found

    def put_embeddings(self, model: str, vectors: dict[str, bytes]) -> None:
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?,?,?)",
                                 [(h, model, v) for h, v in vectors.items()])

    def clusters(self) -> list[ClusterRow]:
        members: dict[str, list[str]] = {}
        for signature, cluster_id in self._query(
                "SELECT signature, cluster_id FROM cluster_members ORDER BY signature"):
            members.setdefault(cluster_id, []).append(signature)
        return [ClusterRow(id=i, label=label, medoid=medoid, members=tuple(members.get(i, ())))
                for i, label, medoid in self._query(
                    "SELECT id, label, medoid FROM clusters ORDER BY id")]

    def replace_clusters(self, clusters: Sequence[ClusterRow], method: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM cluster_members")
                self._db.execute("DELETE FROM clusters")
                self._write_clusters(clusters, method)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def add_to_clusters(self, clusters: Sequence[ClusterRow], method: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._write_clusters(clusters, method)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _write_clusters(self, clusters: Sequence[ClusterRow], method: str) -> None:
        self._db.executemany(
            "INSERT INTO clusters VALUES (?,?,?,?) ON CONFLICT(id) DO NOTHING",
            [(c.id, c.label, c.medoid, method) for c in clusters])
        self._db.executemany("INSERT OR REPLACE INTO cluster_members VALUES (?,?)",
                             [(m, c.id) for c in clusters for m in c.members])

    def _failure_scope(self, workflow: str | None, since_ns: int | None
                       ) -> tuple[str, list[Any]]:
        conditions: list[str] = []
        params: list[Any] = []
        if workflow is not None:
            conditions.append("t.workflow = ?")
            params.append(workflow)
        if since_ns is not None:
            conditions.append("t.start_ns >= ?")
            params.append(since_ns)
        return (" AND ".join(conditions) + " AND ") if conditions else "", params

    def cluster_totals(self, *, workflow: str | None = None, since_ns: int | None = None
                       ) -> list[dict[str, Any]]:
        scope, params = self._failure_scope(workflow, since_ns)
        rows = self._query(
            "SELECT m.cluster_id, sum(f.step_id != ''), count(DISTINCT f.trace_key), "
            "decimal_sum(f.cost), decimal_sum(CASE WHEN f.wasted THEN f.cost END), "
            "decimal_sum(CASE WHEN f.step_id = '' THEN f.cost END), "
            "min(t.start_ns), max(t.start_ns), "
            "group_concat(DISTINCT t.workflow), group_concat(DISTINCT f.tool), "
            "count(DISTINCT f.signature), sum(f.cost IS NULL), sum(f.step_id = '') "
            "FROM failures f JOIN traces t ON t.key = f.trace_key "
            "LEFT JOIN cluster_members m ON m.signature = f.signature "
            f"WHERE {scope}1 GROUP BY m.cluster_id", params)
        return [{"cluster_id": c, "steps": steps or 0, "traces": traces,
                 "cost": Decimal(cost or 0), "wasted": Decimal(wasted or 0),
                 "traces_cost": Decimal(trace_cost or 0), "first_ns": first, "last_ns": last,
                 "workflows": sorted(w for w in (workflows or "").split(",") if w),
                 "tools": sorted(x for x in (tools or "").split(",") if x),
                 "signatures": distinct, "unpriced": unpriced or 0,
                 "trace_failures": trace_failures or 0}
                for c, steps, traces, cost, wasted, trace_cost, first, last, workflows, tools,
                distinct, unpriced, trace_failures in rows]

    def cluster_members(self, cluster_id: str | None, *, workflow: str | None = None,
                        since_ns: int | None = None, limit: int | None = None
                        ) -> list[dict[str, Any]]:
        scope, params = self._failure_scope(workflow, since_ns)
        which = "m.cluster_id = ?" if cluster_id is not None else "m.cluster_id IS NULL"
        if cluster_id is not None:
            params = [*params, cluster_id]
        sql = ("SELECT t.id, f.step_id, s.text, f.cost, t.workflow, t.start_ns FROM failures f "
               "JOIN traces t ON t.key = f.trace_key JOIN signatures s ON s.hash = f.signature "
               "LEFT JOIN cluster_members m ON m.signature = f.signature "
               f"WHERE {scope}{which} ORDER BY t.start_ns DESC, t.id, f.step_id")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [{"trace_id": trace_id, "step_id": step_id or None, "signature": text,
                 "cost_usd": cost, "workflow": name, "start_ns": start}
                for trace_id, step_id, text, cost, name, start in self._query(sql, params)]

    # -- browsing many traces at once (GraphQL) -----------------------------------

    def get_traces(self, trace_ids: Sequence[str]) -> dict[str, Trace]:
        """Many traces in one query per 500 ids (missing ones are left out)."""
        found: dict[str, Trace] = {}
        for chunk in _chunks(list(dict.fromkeys(trace_ids))):
            marks = ",".join("?" * len(chunk))
            for trace_id, document in self._query(
                    f"SELECT id, document FROM traces WHERE id IN ({marks})", chunk):
                found[trace_id] = _decode_document(document)
        return found

    def find_traces(self, *, workflow: str | None = None, outcome: Outcome | None = None,
                    since_ns: int | None = None, until_ns: int | None = None,
                    min_cost: Decimal | None = None, max_cost: Decimal | None = None,
                    attribute: tuple[str, Any] | None = None,
                    has_override: bool | None = None, has_retry: bool | None = None,
                    after_key: int | None = None, limit: int = 50,
                    order: str = "key", offset: int = 0, id_prefix: str | None = None
                    ) -> list[tuple[int, TraceRow, Decimal | None]]:
        """A page of traces in import order after ``after_key``, with their analysed cost
        (or by ``order``: ``cost`` dearest first, ``start`` newest first, from ``offset``).

        Every value reaches SQL as a parameter; an attribute's name too (as a
        JSON path).  Cost filters need an analysis and compare as numbers.
        """
        if order not in _ORDERS:
            raise StoreError(f"no trace order {order!r}")
        conditions: list[str] = []
        params: list[Any] = []

        def when(clause: str, *values: Any) -> None:
            conditions.append(clause)
            params.extend(values)

        if workflow is not None:
            when("t.workflow = ?", workflow)
        if id_prefix:  # a range on the id's index: ids starting with the prefix
            when("t.id >= ? AND t.id < ?", id_prefix, id_prefix + "\U0010ffff")
        if outcome is not None:
            when("t.outcome = ?", Outcome(outcome).value)
        if since_ns is not None:
            when("t.start_ns >= ?", since_ns)
        if until_ns is not None:
            when("t.start_ns < ?", until_ns)
        if min_cost is not None:
            when("CAST(a.cost AS REAL) >= ?", float(min_cost))
        if max_cost is not None:
            when("CAST(a.cost AS REAL) <= ?", float(max_cost))
        if attribute is not None:
            name, value = attribute
            path = '$."' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
            when("json_extract(t.attributes, ?) = ?", path, value)
        for flag, kind in ((has_override, "human_override"), (has_retry, "retry")):
            if flag is not None:
                exists = ("EXISTS (SELECT 1 FROM steps s WHERE s.trace_key = t.key AND "
                          "s.kind = ?)")
                if kind == "retry":
                    exists = (f"({exists} OR coalesce(a.failed_attempts, 0) > 0)")
                when(exists if flag else f"NOT {exists}", kind)
        if after_key is not None:
            when("t.key > ?", after_key)
        where = " WHERE " + " AND ".join(conditions) if conditions else ""
        rows = self._query(
            f"SELECT t.key, {', '.join('t.' + c.strip() for c in _ROW_COLUMNS.split(','))}, "
            "a.cost FROM traces t LEFT JOIN analyses a ON a.trace_key = t.key"
            f"{where} ORDER BY {_ORDERS[order]} LIMIT ? OFFSET ?",
            [*params, int(limit), int(offset)])
        return [(row[0], _trace_row(row[1:-1]), None if row[-1] is None else Decimal(row[-1]))
                for row in rows]

    def step_analyses(self, trace_ids: Sequence[str]
                      ) -> dict[str, dict[str, tuple[str, str | None, Decimal | None]]]:
        """Stored (role, reason, cost) per step of many traces, one query per 500."""
        found: dict[str, dict[str, tuple[str, str | None, Decimal | None]]] = {}
        for chunk in _chunks(list(dict.fromkeys(trace_ids))):
            marks = ",".join("?" * len(chunk))
            for trace_id, step_id, role, reason, cost in self._query(
                    "SELECT t.id, s.step_id, s.role, s.reason, s.cost FROM step_analysis s "
                    f"JOIN traces t ON t.key = s.trace_key WHERE t.id IN ({marks})", chunk):
                found.setdefault(trace_id, {})[step_id] = (
                    role, reason, None if cost is None else Decimal(cost))
        return found

    def document_stats(self, *, min_retrieved: int = 1, max_use_rate: float = 1.0,
                       limit: int = 200) -> list[tuple[str, int, int, int]]:
        """(document, times retrieved, times used, unused tokens): retrieved often, used
        rarely first."""
        return [(d, n, u, t) for d, n, u, t in self._query(
            "SELECT document_id, count(*), sum(used), "
            "sum(CASE WHEN used THEN 0 ELSE coalesce(tokens, 0) END) FROM document_use "
            "GROUP BY document_id HAVING count(*) >= ? AND sum(used) * 1.0 / count(*) < ? "
            "ORDER BY count(*) - sum(used) DESC, count(*) DESC, document_id LIMIT ?",
            (min_retrieved, max_use_rate if max_use_rate < 1 else 1.0000001, limit))]

    def add_annotation(self, trace_id: str, step_id: str, *, label: str, note: str | None,
                       author: str, created_ns: int) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT INTO annotations VALUES (?,?,?,?,?,?)",
                             (trace_id, step_id, label, note, author, created_ns))

    def annotations(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str],
                                                                    list[dict[str, Any]]]:
        """Annotations of many (trace, step) pairs, oldest first."""
        found: dict[tuple[str, str], list[dict[str, Any]]] = {}
        traces = sorted({t for t, _ in keys})
        wanted = set(keys)
        for chunk in _chunks(traces):
            marks = ",".join("?" * len(chunk))
            for trace_id, step_id, label, note, author, created in self._query(
                    "SELECT trace_id, step_id, label, note, author, created_ns FROM annotations "
                    f"WHERE trace_id IN ({marks}) ORDER BY created_ns, rowid", chunk):
                if (trace_id, step_id) in wanted:
                    found.setdefault((trace_id, step_id), []).append(
                        {"label": label, "note": note, "author": author,
                         "created_ns": created})
        return found

    def integrity_problems(self) -> list[str]:
        """SQLite's own check plus ours: every trace's step count matches its steps."""
        problems = [r[0] for r in self._db.execute("PRAGMA integrity_check") if r[0] != "ok"]
        for trace_id, declared, actual in self._db.execute(
                "SELECT t.id, t.step_count, count(s.id) FROM traces t "
                "LEFT JOIN steps s ON s.trace_key = t.key GROUP BY t.key "
                "HAVING t.step_count != count(s.id)"):
            problems.append(f"trace {trace_id}: {declared} steps declared, {actual} stored")
        for (trace_id,) in self._db.execute(
                "SELECT DISTINCT trace_key FROM steps WHERE trace_key NOT IN "
                "(SELECT key FROM traces)"):
            problems.append(f"steps of trace key {trace_id} without a trace row")
        return problems


_OUTCOMES = {o.value: o for o in Outcome}
_ORDERS = {"key": "t.key",
           "cost": "a.cost IS NULL, CAST(a.cost AS REAL) DESC, t.key",
           "start": "t.start_ns IS NULL, t.start_ns DESC, t.key"}
"""``find_traces`` orders, by name (never text from a request)."""
_ZERO = Decimal(0)


def _decimal(text: str) -> Decimal:
    """Most stored amounts of a kind are zero: one shared Decimal for them."""
    return _ZERO if text == "0" else Decimal(text)


def _statements(script: str) -> Iterator[str]:
    for statement in script.split(";"):
        if statement.strip():
            yield statement


class _DecimalSum:
    """SQLite aggregate: the exact sum of decimal strings (NULLs skipped)."""

    def __init__(self) -> None:
        self.total = Decimal(0)

    def step(self, value: Any) -> None:
        if value is not None:
            self.total += Decimal(value)

    def finalize(self) -> str:
        return str(self.total)


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


def _trace_row(row: tuple[Any, ...]) -> TraceRow:
    return TraceRow(trace_id=row[0], workflow=row[1], outcome=Outcome(row[2]),
                    outcome_reason=row[3], source_format=row[4], start_ns=row[5],
                    end_ns=row[6], steps=row[7], errors=row[8], input_tokens=row[9],
                    output_tokens=row[10], attributes=orjson.loads(row[11]))


class _BatchRows:
    """Every row of one batch, written with one ``executemany`` per table."""

    def __init__(self, *, next_key: int) -> None:
        self.next_key = next_key
        """The integer key the next new trace gets (keys only grow)."""
        self.replaced: list[int] = []
        self.traces: list[tuple[Any, ...]] = []
        self.steps: list[tuple[Any, ...]] = []
        self.entities: dict[tuple[EntityLabel, str], Entity] = {}

    def write(self, db: sqlite3.Connection) -> None:
        for key in self.replaced:
            db.execute("DELETE FROM steps WHERE trace_key = ?", (key,))
        db.executemany(f"INSERT OR REPLACE INTO traces ({_TRACE_COLUMNS}) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", self.traces)
        db.executemany(f"INSERT INTO steps ({_STEP_COLUMNS}) VALUES (?,?,?,?,?,?)",
                       self.steps)
        db.executemany("INSERT OR IGNORE INTO entities VALUES (?,?,?)", [
            (e.label, e.name, orjson.dumps(e.properties).decode())
            for e in self.entities.values()])
