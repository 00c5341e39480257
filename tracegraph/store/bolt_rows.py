"""What the Bolt store sends: the Cypher files' text, and the rows of a batch.

Kept apart from :mod:`.neo4j` (the connection, transactions and each Store
method) because it is pure: it turns traces into the parameter rows of the
``cypher/`` statements, and measures them against FalkorDB's small messages,
without a server.
"""

from __future__ import annotations

import base64
from functools import cache
from decimal import Decimal
from importlib import resources
from typing import Any, Iterable, Sequence

import orjson

from ..errors import StoreError
from ..model import EdgeType, EntityLabel, Outcome, StepKind, Trace, entities, model_name, \
    structural_edges, summarize
from .base import TraceRow

__all__ = ["statement", "TraceBatch", "oversized", "describe", "attribute_pair", "decimal_sum",
           "row_of", "FALKOR_BYTES", "FALKOR_LIMIT", "STEP_LINKS", "ENTITY_LINKS"]

FALKOR_BYTES = 2500
"""FalkorDB 4.16's Bolt drops a request over about 4 KB (and with it the server)."""
FALKOR_LIMIT = 3500
"""The biggest single row sent to FalkorDB (the statement's text rides along)."""
ATTRIBUTE_PAIR = 200
"""Attribute pairs longer than this are not indexed for filtering (FalkorDB's limit)."""
STEP_LINKS = frozenset({EdgeType.CHILD_OF, EdgeType.NEXT, EdgeType.RETRY_OF,
                        EdgeType.OVERRIDES, EdgeType.USES})
ENTITY_LINKS = frozenset({EdgeType.RAN_ON, EdgeType.CALLED, EdgeType.RETRIEVED,
                          EdgeType.APPLIED, EdgeType.BY})
_ZERO = Decimal(0)

_STATEMENTS = resources.files("tracegraph.store") / "cypher"


def statement(name: str, dialect: str | None = None, **names: str) -> str:
    """The text of ``cypher/NAME.cypher`` (or its dialect's variant), comments dropped.

    ``names`` fill ``{TYPE}``/``{LABEL}`` placeholders — relationship types and
    labels, which Cypher cannot take as parameters.  Only the members of our
    own enums are accepted, so no input ever reaches a statement's text.
    """
    for key, value in names.items():
        if value not in _ALLOWED_NAMES:
            raise StoreError(f"{value!r} is not a relationship type or label of the graph")
    text = _file_text(name, dialect)
    for key, value in names.items():
        text = text.replace("{" + key + "}", value)
    return text


@cache
def _file_text(name: str, dialect: str | None) -> str:
    """A statement file's text without comments, read once per process (every query
    asks for its statement)."""
    for candidate in ([f"{name}.{dialect}.cypher"] if dialect else []) + [f"{name}.cypher"]:
        path = _STATEMENTS / candidate
        if path.is_file():
            lines = [line for line in path.read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("//")]
            return "\n".join(lines).strip()
    raise StoreError(f"no Cypher statement {name!r} in the package")


_ALLOWED_NAMES = frozenset({e.value for e in EdgeType} | {e.value for e in EntityLabel})


class TraceBatch:
    """The rows that write one batch of traces, by statement."""

    def __init__(self) -> None:
        self.traces: list[dict[str, Any]] = []
        self.hashes: list[dict[str, Any]] = []
        self.steps: list[list[Any]] = []
        self.entities: dict[str, list[dict[str, Any]]] = {}
        self._entity_keys: set[tuple[str, str]] = set()
        self.links: dict[tuple[str, str], list[list[Any]]] = {}
        """(type, evidence or target label) → rows [trace id, source, target]."""
        self.workflows: list[dict[str, Any]] = []
        self.cites: list[dict[str, Any]] = []

    def add(self, trace: Trace, document: bytes, content_hash: str) -> None:
        summary = summarize(trace)
        kinds = [s.kind for s in trace.steps]
        self.traces.append({"id": trace.id, "props": {
            "workflow": summary.workflow, "source_format": trace.source_format,
            "session_id": trace.session_id, "outcome": summary.outcome.value,
            "outcome_reason": summary.outcome_reason, "start_ns": summary.start_ns,
            "end_ns": summary.end_ns, "step_count": summary.step_count,
            "error_count": summary.error_count, "input_tokens": summary.input_tokens,
            "output_tokens": summary.output_tokens,
            "attributes": orjson.dumps(trace.attributes, default=str).decode(),
            "attribute_pairs": [p for p in (attribute_pair(k, v) for k, v in
                                            sorted(trace.attributes.items()))
                                if len(p) <= ATTRIBUTE_PAIR],
            "overrides": kinds.count(StepKind.HUMAN_OVERRIDE),
            "retries": kinds.count(StepKind.RETRY),
            "document": base64.b64encode(document).decode()}})
        self.hashes.append({"id": trace.id, "content_hash": content_hash})
        # Rows of the bulk statements are lists, not maps: three times as many fit in
        # one of FalkorDB's small messages.
        self.steps.extend([trace.id, s.id, s.kind.value, s.status.value,
                           model_name(s) if s.model else None, s.tool_name, s.start_ns]
                          for s in trace.steps)
        for entity in entities(trace, summary.workflow):
            key = (entity.label.value, entity.name)
            if key not in self._entity_keys:
                self._entity_keys.add(key)
                self.entities.setdefault(entity.label.value, []).append({
                    "label": entity.label.value, "name": entity.name,
                    "properties": orjson.dumps(entity.properties, default=str).decode()})
        for edge in structural_edges(trace, summary.workflow):
            if edge.type in STEP_LINKS:
                self.links.setdefault((edge.type.value, edge.evidence or ""), []).append(
                    [trace.id, edge.source, edge.target])
            elif edge.type in ENTITY_LINKS:
                label, _, name = edge.target.partition(":")
                self.links.setdefault((edge.type.value, label), []).append(
                    [trace.id, edge.source, name])
        if summary.workflow:
            self.workflows.append({"id": trace.id, "workflow": summary.workflow})
        if trace.cites:
            self.cites.append({"id": trace.id, "cites": list(trace.cites)})


def oversized(trace: Trace, document: bytes, content_hash: str) -> str | None:
    """What of this trace would be one FalkorDB message too big, if anything."""
    alone = TraceBatch()
    alone.add(trace, document, content_hash)
    for row in alone.traces:
        props = {k: v for k, v in row["props"].items() if k not in ("document", "attributes")}
        if len(orjson.dumps(props, default=str)) > FALKOR_LIMIT:
            return "the trace's summary"
    groups: list[Sequence[Any]] = [alone.steps, alone.workflows, alone.cites,
                                   *alone.entities.values(), *alone.links.values()]
    for rows in groups:
        for row in rows:
            if len(orjson.dumps(row, default=str)) > FALKOR_LIMIT:
                return describe(row)
    return None


def describe(row: Any) -> str:
    """Which record a row is, for an error message."""
    if isinstance(row, dict):
        named = [f"{k} {row[k]!r}" for k in ("trace_id", "id", "name", "hash") if k in row
                 and isinstance(row[k], str)]
        if named:
            return ", ".join(named)
    if isinstance(row, list) and len(row) > 1:
        return f"step {row[1]!r}"
    return "a row"


def attribute_pair(name: str, value: Any) -> str:
    """An attribute as one comparable string: ``["name", value]`` in JSON."""
    return orjson.dumps([name, value], default=str).decode()


def decimal_sum(amounts: Iterable[str | None]) -> Decimal:
    """The exact sum of decimal texts (nulls, the unpriced, skipped)."""
    total = _ZERO
    for amount in amounts:
        if amount is not None and amount != "0":
            total += Decimal(amount)
    return total


def row_of(r: dict[str, Any]) -> TraceRow:
    return TraceRow(trace_id=r["id"], workflow=r["workflow"], outcome=Outcome(r["outcome"]),
                    outcome_reason=r["outcome_reason"], source_format=r["source_format"],
                    start_ns=r["start_ns"], end_ns=r["end_ns"], steps=r["step_count"],
                    errors=r["error_count"], input_tokens=r["input_tokens"],
                    output_tokens=r["output_tokens"],
                    attributes=orjson.loads(r["attributes"] or "{}"))
