"""Analyze a stored trace: data flow, roles and reasons, and what each step cost.

The document returned is a contract (issue 3): ``trace_id``, ``workflow``,
``outcome``, ``cost_usd`` and ``wasted_usd`` (decimal strings),
``unpriced_steps``, ``steps`` (``id``, ``kind``, ``role``, ``reason``,
``cost_usd``, ``evidence``) and ``documents`` (``id``, ``step_id``, ``used``,
``tokens``).  ``wasted_usd`` counts only priced wasted steps; unpriced ones are
listed, never counted as $0.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Sequence

from ..analyze.cost import input_token_rate, trace_cost
from ..analyze.flow import data_flow
from ..analyze.paths import Role, analyze_paths, context_bloat
from ..config import Config
from ..model import summarize
from ..store import AnalysisRecord, Store

__all__ = ["ANALYZER_VERSION", "analyze_trace", "analyze_and_store", "analyze_stale",
           "waste_report"]

ANALYZER_VERSION = "1"
"""Bumped whenever a rule changes, so stored results can be recomputed."""


def analyze_trace(store: Store, trace_id: str, *, config: Config) -> dict[str, Any]:
    trace = store.get_trace(trace_id)
    summary = summarize(trace)
    edges = list(data_flow(trace))
    paths = analyze_paths(trace, edges)
    costs = {c.step_id: c for c in trace_cost(trace, config=config).steps}
    kinds = {s.id: s.kind.value for s in trace.steps}
    by_id = {s.id: s for s in trace.steps}
    bloat = {b.step_id: b for b in context_bloat(trace, edges, paths.documents)}
    steps = []
    wasted = Decimal(0)
    total = Decimal(0)
    for mark in paths.marks:
        cost = costs[mark.step_id]
        if cost.usd is not None:
            total += cost.usd
            if mark.role == Role.WASTED:
                wasted += cost.usd
        steps.append({"id": mark.step_id, "kind": kinds[mark.step_id],
                      "role": mark.role.value,
                      "reason": mark.reason.value if mark.reason else None,
                      "cost_usd": None if cost.usd is None else str(cost.usd),
                      "cost_source": cost.source.value, "cost_detail": cost.detail,
                      "evidence": mark.evidence,
                      "context_bloat": _bloat(bloat.get(mark.step_id), by_id[mark.step_id])})
    return {
        "trace_id": trace.id,
        "workflow": summary.workflow,
        "outcome": summary.outcome.value,
        "outcome_step": paths.outcome_step,
        "analyzer_version": ANALYZER_VERSION,
        "cost_usd": str(total),
        "wasted_usd": str(wasted),
        "unpriced_steps": [s["id"] for s in steps if s["cost_usd"] is None],
        "context_bloat_tokens": sum(b.tokens for b in bloat.values()),
        "steps": steps,
        "documents": [{"id": d.document_id, "step_id": d.step_id, "used": d.used,
                       "tokens": d.tokens, "evidence": d.evidence} for d in paths.documents],
        "edges": [{"source": e.source, "target": e.target, "type": e.type.value,
                   "evidence": e.evidence} for e in edges],
    }


def _bloat(found: Any, step: Any) -> dict[str, Any] | None:
    """A model call's carried-but-unused tokens, priced at its input rate when flat."""
    if found is None:
        return None
    rate = input_token_rate(step)
    return {"tokens": found.tokens,
            "usd": None if rate is None else str(rate * found.tokens),
            "evidence": found.evidence}


def _record(document: dict[str, Any]) -> AnalysisRecord:
    return AnalysisRecord(
        trace_id=document["trace_id"], version=ANALYZER_VERSION,
        cost=Decimal(document["cost_usd"]), wasted=Decimal(document["wasted_usd"]),
        unpriced_steps=len(document["unpriced_steps"]),
        bloat_tokens=document["context_bloat_tokens"],
        steps=tuple((s["id"], s["role"], s["reason"],
                     None if s["cost_usd"] is None else Decimal(s["cost_usd"]))
                    for s in document["steps"]))


def analyze_and_store(store: Store, trace_ids: Sequence[str], *, config: Config,
                      batch: int = 500) -> list[dict[str, Any]]:
    """Analyze traces and keep the results with them, ``batch`` traces per transaction."""
    documents: list[dict[str, Any]] = []
    for start in range(0, len(trace_ids), batch):
        chunk = [analyze_trace(store, trace_id, config=config)
                 for trace_id in trace_ids[start:start + batch]]
        store.write_analyses([_record(document) for document in chunk])
        documents.extend(chunk)
    return documents


def analyze_stale(store: Store, *, config: Config, batch: int = 500) -> int:
    """Analyze and store every trace whose stored analysis is missing or out of date.

    Out of date: made by another analyzer version, or before late spans
    changed the trace.  Results are written ``batch`` traces per transaction.
    Returns how many traces were analyzed.
    """
    stale = store.stale_analyses(ANALYZER_VERSION)
    analyze_and_store(store, stale, config=config, batch=batch)
    return len(stale)


def waste_report(store: Store, *, config: Config,
                 workflow: str | None = None) -> dict[str, Any]:
    """Total and wasted spend, by reason, over every trace (analysed first if stale)."""
    analyze_stale(store, config=config)
    totals = store.waste_totals(workflow=workflow)
    return {"workflow": workflow, "traces": totals["traces"],
            "total_usd": str(totals["total_usd"]), "wasted_usd": str(totals["wasted_usd"]),
            "by_reason": {k: str(v) for k, v in totals["by_reason"].items()},
            "by_tool": {k: str(v) for k, v in totals["by_tool"].items()},
            "by_model": {k: str(v) for k, v in totals["by_model"].items()},
            "retry_tax": _share(totals["by_reason"].get("failed_attempt", Decimal(0)),
                                totals["total_usd"]),
            "costliest": [{"trace_id": t, "cost_usd": str(c), "wasted_usd": str(w)}
                          for t, c, w in totals["costliest"]],
            "unpriced_steps": totals["unpriced_steps"],
            "context_bloat_tokens": totals["context_bloat_tokens"],
            "analyzer_version": ANALYZER_VERSION}


def _share(part: Decimal, whole: Decimal) -> str | None:
    """``part`` as a fraction of ``whole`` (6 places), or None when nothing was spent."""
    return None if whole == 0 else str((part / whole).quantize(Decimal("0.000001")))
