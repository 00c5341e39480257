"""The ``Store`` contract every backend implements (SQLite, and Bolt: Neo4j or FalkorDB).

A store keeps traces as the property graph of DESIGN.md.  Writing is by batch:
one call, one transaction, so an import killed midway leaves each batch either
all there or absent.  Fragments of one trace (``Trace.partial``) are merged by
step id, in any order; complete traces replace what was stored under their id.
Either way the trace-level facts (workflow, outcome, totals) are derived again
from the merged steps, so late spans bring them up to date.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable, Iterator, Protocol, Sequence

import msgspec
import networkx as nx

from ..errors import InputError
from ..model import Edge, Entity, EntityLabel, Outcome, Trace

__all__ = ["Store", "TraceRow", "WriteResult", "StoreCounts", "AnalysisRecord", "OutcomeRow",
           "FailureRow", "ClusterRow"]


class TraceRow(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a trace listing: what ``tracegraph traces`` prints."""

    trace_id: str
    workflow: str | None
    outcome: Outcome
    outcome_reason: str | None
    source_format: str
    start_ns: int | None
    end_ns: int | None
    steps: int
    errors: int
    input_tokens: int
    output_tokens: int
    attributes: dict[str, Any]


class WriteResult(msgspec.Struct, kw_only=True):
    """What one batch write did: traces created or changed, steps written, rejections."""

    traces_written: int = 0
    traces_unchanged: int = 0
    steps_written: int = 0
    rejected: list[InputError] = msgspec.field(default_factory=list)


class StoreCounts(msgspec.Struct, frozen=True, kw_only=True):
    traces: int
    steps: int
    workflows: int
    models: int
    tools: int
    documents: int


class FailureRow(msgspec.Struct, frozen=True, kw_only=True):
    """One failure as stored: a failed step (or the trace, ``step_id`` None)."""

    step_id: str | None
    signature: str
    kind: str
    tool: str | None = None
    model: str | None = None
    cost: Decimal | None = None
    """The step's cost, or for the trace itself the trace's whole cost."""
    wasted: bool = False


class ClusterRow(msgspec.Struct, frozen=True, kw_only=True):
    """A cluster as stored: id, label, representative signature, member signatures."""

    id: str
    label: str
    medoid: str
    members: tuple[str, ...]


class AnalysisRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One trace's analysis as stored: totals and (step, role, reason, cost) per step."""

    trace_id: str
    version: str
    cost: Decimal
    wasted: Decimal
    unpriced_steps: int
    bloat_tokens: int
    steps: tuple[tuple[str, str, str | None, Decimal | None], ...]
    bloat_usd: Decimal = Decimal(0)
    human_minutes: Decimal = Decimal(0)
    failed_attempts: int = 0
    retry_usd: Decimal = Decimal(0)
    human_usd: Decimal = Decimal(0)
    model_calls: int = 0
    documents: tuple[tuple[str, str, bool, int | None], ...] = ()
    """(retrieving step, document id, used, tokens) per retrieved document."""
    purposes: dict[str, str] = {}
    """Model call step id → its purpose (span name), for routing evidence."""
    failures: tuple[FailureRow, ...] = ()
    """The trace's failed steps, and the trace itself when it failed."""
    signature_texts: dict[str, str] = {}
    """Signature hash → its masked text, for the failures above."""


class OutcomeRow(msgspec.Struct, frozen=True, kw_only=True):
    """One analysed trace as workflow economics sees it."""

    trace_id: str
    workflow: str | None
    outcome: Outcome
    attributes: dict[str, Any]
    input_tokens: int
    cost: Decimal
    retry_usd: Decimal
    human_usd: Decimal
    human_minutes: Decimal
    failed_attempts: int
    model_calls: int
    unpriced_steps: int


class Store(Protocol):
    """Persistence of traces; implementations are in this package."""

    url: str

    def write_traces(self, traces: Sequence[Trace]) -> WriteResult:
        """Write a batch in one transaction (see the module docstring for merging)."""
        ...

    def get_trace(self, trace_id: str) -> Trace:
        """The stored trace, merged, with every step; ``NotFound`` if absent."""
        ...

    def list_traces(self, *, workflow: str | None = None, outcome: Outcome | None = None,
                    limit: int | None = None) -> list[TraceRow]:
        ...

    def trace_row(self, trace_id: str) -> TraceRow:
        ...

    def edges(self, trace_id: str) -> list[Edge]:
        """Stored edges with evidence of their own (declared inputs, analysis)."""
        ...

    def graph(self, trace_id: str) -> "nx.MultiDiGraph[str]":
        """The trace as a networkx graph with every property on its nodes and edges."""
        ...

    def counts(self) -> StoreCounts:
        ...

    def find_trace_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` are stored (by their source id)."""
        ...

    def analysis_is_current(self, trace_id: str, version: str) -> bool:
        """Is the stored analysis of this trace from ``version`` and its current content?"""
        ...

    def stale_analyses(self, version: str) -> list[str]:
        """Ids of traces whose analysis by ``version`` is missing or out of date."""
        ...

    def write_analyses(self, records: Sequence[AnalysisRecord]) -> None:
        """Replace the stored analyses of many traces in one transaction."""
        ...

    def analyses(self, trace_ids: Sequence[str]) -> dict[str, AnalysisRecord]:
        """The stored analyses of ``trace_ids``, as written (what ``sync`` copies)."""
        ...

    def analysis_totals(self, trace_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Per analysed trace of ``trace_ids``: ``cost``, ``wasted``, ``retry_usd``,
        ``human_minutes`` (Decimal), ``failed_attempts``, ``unpriced_steps``,
        ``overrides`` (human override steps) — a page of a listing."""
        ...

    def waste_totals(self, *, workflow: str | None = None, since_ns: int | None = None,
                     until_ns: int | None = None) -> dict[str, Any]:
        """Exact spend, waste and its breakdowns over the analysed traces.

        Keys: traces, steps, total_usd, wasted_usd, unpriced_steps,
        context_bloat_tokens/_usd, successes, first_try_successes,
        human_minutes, by_reason/by_tool/by_model (name → Decimal),
        by_workflow (name, traces, cost, wasted), retried_tools (tool, count,
        usd), documents (id, retrieved, used, unused tokens), costliest (id,
        workflow, outcome, cost, wasted) and costs (every trace's, sorted).
        """
        ...

    def cost_breakdown(self, *, workflow: str | None) -> dict[str, dict[str, tuple[Decimal, int]]]:
        """Per analysed trace of ``workflow``: (spend, steps) by category (retries,
        human, model, tools, other)."""
        ...

    def outcome_rows(self, *, workflow: str | None = None) -> Iterator[OutcomeRow]:
        """One row per analysed trace (of ``workflow``), in import order."""
        ...

    def model_calls(self, *, workflow: str | None = None) -> list[tuple[Any, ...]]:
        """(workflow, purpose, model, calls, traces, successful traces, USD, priced
        calls) by workflow, purpose and model."""
        ...

    def failure_signatures(self) -> list[tuple[str, str, int]]:
        """(hash, text, occurrences) of every distinct failure signature."""
        ...

    def signature_texts(self, hashes: Sequence[str]) -> dict[str, str]:
        """The masked text of each signature hash."""
        ...

    def embeddings(self, model: str, hashes: Sequence[str]) -> dict[str, bytes]:
        """Cached embeddings (float32 bytes) of these signatures by ``model``."""
        ...

    def put_embeddings(self, model: str, vectors: dict[str, bytes]) -> None:
        ...

    def clusters(self) -> list[ClusterRow]:
        ...

    def replace_clusters(self, clusters: Sequence[ClusterRow], method: str) -> None:
        """Replace every cluster (a full re-cluster) in one transaction."""
        ...

    def add_to_clusters(self, clusters: Sequence[ClusterRow], method: str) -> None:
        """Add members (and new clusters) without touching the others (incremental)."""
        ...

    def cluster_totals(self, *, workflow: str | None = None, since_ns: int | None = None
                       ) -> list[dict[str, Any]]:
        """Per cluster (and ``None`` for unclustered failures): counts and money."""
        ...

    def cluster_members(self, cluster_id: str | None, *, workflow: str | None = None,
                        since_ns: int | None = None, limit: int | None = None
                        ) -> list[dict[str, Any]]:
        """The failures of a cluster (``None``: unclustered), newest first."""
        ...

    def entities(self, label: EntityLabel | None = None) -> list[Entity]:
        """The shared nodes (Workflow, Model, Tool, Document, Rule, Actor), by name."""
        ...

    def get_traces(self, trace_ids: Sequence[str]) -> dict[str, Trace]:
        """Many traces at once (missing ids left out)."""
        ...

    def find_traces(self, *, workflow: str | None = None, outcome: Outcome | None = None,
                    since_ns: int | None = None, until_ns: int | None = None,
                    min_cost: Decimal | None = None, max_cost: Decimal | None = None,
                    attribute: tuple[str, Any] | None = None,
                    has_override: bool | None = None, has_retry: bool | None = None,
                    after_key: int | None = None, limit: int = 50,
                    order: str = "key", offset: int = 0, id_prefix: str | None = None
                    ) -> list[tuple[int, TraceRow, Decimal | None]]:
        """A filtered page of traces in import order after ``after_key``; or, with
        ``order`` ``cost`` (dearest first) or ``start`` (newest first), ``limit``
        traces from ``offset``."""
        ...

    def step_analyses(self, trace_ids: Sequence[str]
                      ) -> dict[str, dict[str, tuple[str, str | None, Decimal | None]]]:
        ...

    def document_stats(self, *, min_retrieved: int = 1, max_use_rate: float = 1.0,
                       limit: int = 200) -> list[tuple[str, int, int, int]]:
        ...

    def add_annotation(self, trace_id: str, step_id: str, *, label: str, note: str | None,
                       author: str, created_ns: int) -> None:
        ...

    def annotations(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str],
                                                                    list[dict[str, Any]]]:
        ...

    def close(self) -> None:
        ...
