"""Analyze a stored trace: data flow, roles and reasons, and what each step cost.

The document returned is a contract (issue 3): ``trace_id``, ``workflow``,
``outcome``, ``cost_usd`` and ``wasted_usd`` (decimal strings),
``unpriced_steps``, ``steps`` (``id``, ``kind``, ``role``, ``reason``,
``cost_usd``, ``evidence``) and ``documents`` (``id``, ``step_id``, ``used``,
``tokens``).  ``wasted_usd`` counts only priced wasted steps; unpriced ones are
listed, never counted as $0.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterable, Sequence

from ..analyze.cost import input_token_rate, trace_cost
from ..formats.values import time_ns, usd_text
from ..analyze.stats import fraction, nearest_rank
from ..analyze.failures import failures_of, signature_hash
from ..analyze.flow import data_flow
from ..analyze.paths import ContextBloat, Reason, Role, analyze_paths, context_bloat
from ..config import Config
from ..model import Step, StepKind, Trace, summarize
from ..store import AnalysisRecord, FailureRow, Store
from .analysis_workers import analyze_in_workers, default_workers

__all__ = ["ANALYZER_VERSION", "analysis_version", "analyze_trace", "analyze_and_store", "analyze_stale",
           "waste_report", "cost_distribution"]

ANALYZER_VERSION = "9"
"""Bumped whenever a rule changes, so stored results can be recomputed."""


def _usd_or_none(amount: Decimal | None) -> str | None:
    return None if amount is None else usd_text(amount)


def analyze_trace(store: Store, trace_id: str, *, config: Config,
                  trace: Trace | None = None) -> dict[str, Any]:
    """The analysis document of a stored trace (``trace``: already read, to skip reading)."""
    trace = trace if trace is not None else store.get_trace(trace_id)
    summary = summarize(trace)
    edges = list(data_flow(trace))
    paths = analyze_paths(trace, edges)
    costs = {c.step_id: c for c in trace_cost(trace, config=config,
                                              workflow=summary.workflow).steps}
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
                      "cost_usd": None if cost.usd is None else usd_text(cost.usd),
                      "cost_source": cost.source.value, "cost_detail": cost.detail,
                      "model": by_id[mark.step_id].model,
                      "purpose": _purpose(by_id[mark.step_id]),
                      "evidence": mark.evidence,
                      "context_bloat": _bloat(bloat.get(mark.step_id), by_id[mark.step_id])})
    marks_by_id = {m.step_id: m for m in paths.marks}
    failures = [{"step_id": f.step_id, "signature": f.signature,
                 "signature_hash": signature_hash(f.signature), "kind": f.kind,
                 "tool": f.tool, "model": f.model,
                 "cost_usd": usd_text(total) if f.step_id is None else _usd_or_none(
                     costs[f.step_id].usd),
                 "wasted": f.step_id is None or marks_by_id[f.step_id].role == Role.WASTED}
                for f in failures_of(trace, summary.outcome)]
    failed = {m.step_id for m in paths.marks if m.reason == Reason.FAILED_ATTEMPT}
    handling = {e.source for e in edges if e.target in failed and e.source not in failed
                and by_id[e.source].kind == StepKind.LLM}
    return {
        "trace_id": trace.id,
        "workflow": summary.workflow,
        "retry_usd": usd_text(sum((usd for i in failed | handling
                              if (usd := costs[i].usd) is not None), Decimal(0))),
        "retry_steps": sorted(failed | handling, key=list(by_id).index),
        "outcome": summary.outcome.value,
        "outcome_step": paths.outcome_step,
        "analyzer_version": analysis_version(config),
        "cost_usd": usd_text(total),
        "wasted_usd": usd_text(wasted),
        "unpriced_steps": [s["id"] for s in steps if s["cost_usd"] is None],
        "context_bloat_tokens": sum(b.tokens for b in bloat.values()),
        "context_bloat_usd": usd_text(sum((_bloat_usd(b, by_id[b.step_id])
                                      for b in bloat.values()), Decimal(0))),
        "human_minutes": str(sum((s.override.minutes for s in trace.steps
                                  if s.override is not None and s.override.minutes),
                                 Decimal(0))),
        "steps": steps,
        "failures": failures,
        "documents": [{"id": d.document_id, "step_id": d.step_id, "used": d.used,
                       "tokens": d.tokens, "evidence": d.evidence} for d in paths.documents],
        "edges": [{"source": e.source, "target": e.target, "type": e.type.value,
                   "evidence": e.evidence} for e in edges],
    }


def _purpose(step: Step) -> str | None:
    """What a model call was for, to compare models doing the same job: its span
    name (``plan``, ``extract-invoice-fields``), else its operation; None for
    other steps.  A name that is only the model's own says nothing."""
    if step.kind != StepKind.LLM or step.model is None:
        return None
    name = step.name.strip()
    if not name or name == step.model or name.lower().startswith(("chat ", "chatopenai",
                                                                 "chatanthropic")):
        return step.operation or "chat"
    return name


def _bloat(found: ContextBloat | None, step: Step) -> dict[str, Any] | None:
    """A model call's carried-but-unused tokens, priced at its input rate when flat."""
    if found is None:
        return None
    rate = input_token_rate(step)
    return {"tokens": found.tokens,
            "usd": None if rate is None else usd_text(rate * found.tokens),
            "evidence": found.evidence}


def _bloat_usd(found: ContextBloat, step: Step) -> Decimal:
    """The dollars of ``found``; 0 where the model's input rate is not flat or known."""
    rate = input_token_rate(step)
    return Decimal(0) if rate is None else rate * found.tokens


def analysis_version(config: Config) -> str:
    """The analyzer's version and the prices it used: a stored analysis made by
    another version or under other prices is stale."""
    return f"{ANALYZER_VERSION}+{config.pricing_fingerprint}"


def _record(document: dict[str, Any]) -> AnalysisRecord:
    return AnalysisRecord(
        trace_id=document["trace_id"], version=document["analyzer_version"],
        cost=Decimal(document["cost_usd"]), wasted=Decimal(document["wasted_usd"]),
        unpriced_steps=len(document["unpriced_steps"]),
        bloat_tokens=document["context_bloat_tokens"],
        bloat_usd=Decimal(document["context_bloat_usd"]),
        human_minutes=Decimal(document["human_minutes"]),
        failed_attempts=sum(s["reason"] == "failed_attempt" for s in document["steps"]),
        retry_usd=Decimal(document["retry_usd"]),
        human_usd=_sum(s["cost_usd"] for s in document["steps"]
                       if s["kind"] == "human_override"),
        model_calls=sum(1 for s in document["steps"] if s["kind"] == "llm"),
        purposes={s["id"]: s["purpose"] for s in document["steps"] if s.get("purpose")},
        steps=tuple((s["id"], s["role"], s["reason"],
                     None if s["cost_usd"] is None else Decimal(s["cost_usd"]))
                    for s in document["steps"]),
        documents=tuple((d["step_id"], d["id"], d["used"], d["tokens"])
                        for d in document["documents"]),
        failures=tuple(FailureRow(step_id=f["step_id"], signature=f["signature_hash"],
                                  kind=f["kind"], tool=f["tool"], model=f["model"],
                                  cost=None if f["cost_usd"] is None else Decimal(f["cost_usd"]),
                                  wasted=f["wasted"]) for f in document["failures"]),
        signature_texts={f["signature_hash"]: f["signature"] for f in document["failures"]})


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


PARALLEL_FROM = 2000
"""Below this many stale traces, starting worker processes costs more than it saves."""


def _analysis_record(store: Store, trace_id: str, config: Config) -> AnalysisRecord:
    return _record(analyze_trace(store, trace_id, config=config))


def analyze_stale(store: Store, *, config: Config, batch: int = 500,
                  workers: int | None = None) -> int:
    """Analyze and store every trace whose stored analysis is missing or out of date.

    Out of date: made by another analyzer version or under other prices, or
    before late spans changed the trace.  Results are written ``batch`` traces
    per transaction.  ``workers`` processes analyze (default: one per core
    when there are at least ``PARALLEL_FROM`` traces; 1 analyzes here).
    Returns how many traces were analyzed.
    """
    stale = store.stale_analyses(analysis_version(config))
    if workers is None:
        workers = default_workers() if len(stale) >= PARALLEL_FROM else 1
    if workers > 1 and len(stale) > batch:
        analyze_in_workers(store, stale, config=config, analyze=_analysis_record,
                           workers=workers, batch=batch)
    else:
        analyze_and_store(store, stale, config=config, batch=batch)
    return len(stale)


def waste_report(store: Store, *, config: Config, workflow: str | None = None,
                 since: datetime | None = None, until: datetime | None = None,
                 top: int = 20) -> dict[str, Any]:
    """The wasted-cycle report over every trace (re-analysed first where stale).

    ``since``/``until`` bound the traces' start time.  Money is decimal
    strings; shares are fractions as strings, ``None`` when nothing was spent.
    """
    analyze_stale(store, config=config)
    totals = store.waste_totals(workflow=workflow, since_ns=time_ns(since), until_ns=time_ns(until))
    total: Decimal = totals["total_usd"]
    traces: int = totals["traces"]

    def money(items: dict[str, Decimal], *, keep_zero: bool = False) -> dict[str, str]:
        return {k: usd_text(v) for k, v in sorted(items.items(), key=lambda kv: (-kv[1], kv[0]))
                if v or keep_zero}

    return {
        "workflow": workflow, "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "analyzer_version": analysis_version(config),
        "traces": traces, "steps": totals["steps"],
        "total_usd": usd_text(total), "wasted_usd": usd_text(totals["wasted_usd"]),
        "wasted_share": fraction(totals["wasted_usd"], total),
        "unpriced_steps": totals["unpriced_steps"],
        "by_reason": money(totals["by_reason"], keep_zero=True),
        "wasted_steps": dict(sorted(totals["wasted_steps"].items())),
        "by_workflow": [{"workflow": name, "traces": count, "total_usd": usd_text(cost),
                         "wasted_usd": usd_text(wasted)}
                        for name, count, cost, wasted in totals["by_workflow"]],
        "by_tool": dict(list(money(totals["by_tool"]).items())[:top]),
        "by_model": dict(list(money(totals["by_model"]).items())[:top]),
        "documents": [{"document_id": d, "retrieved": n, "used": used,
                       "unused_tokens": tokens}
                      for d, n, used, tokens in totals["documents"][:top]],
        "retried_tools": [{"tool": tool, "failed_attempts": n, "usd": usd_text(usd)}
                          for tool, n, usd in totals["retried_tools"][:top]],
        "retry_tax": fraction(totals["retry_usd"], total),
        "retry_usd": usd_text(totals["retry_usd"]),
        "success_rate": fraction(totals["successes"], traces),
        "first_try_success_rate": fraction(totals["first_try_successes"], traces),
        "human_minutes": str(totals["human_minutes"]),
        "context_bloat_tokens": totals["context_bloat_tokens"],
        "context_bloat_usd": usd_text(totals["context_bloat_usd"]),
        "costliest": [{"trace_id": t, "workflow": w, "outcome": o, "cost_usd": usd_text(c),
                       "wasted_usd": usd_text(x)} for t, w, o, c, x in totals["costliest"]],
        "distribution": cost_distribution(totals["costs"]),
    }


def cost_distribution(costs: Sequence[Decimal], *, bins: int = 20,
                      points: int = 101) -> dict[str, Any]:
    """Percentiles, a histogram with the costliest 5% marked, and the Pareto curve.

    ``costs`` are every trace's cost, sorted ascending.  Percentiles are the
    nearest-rank values (an actual trace's cost, never an interpolation).
    The Pareto curve gives, for the costliest x of traces, their share of
    spend, at ``points`` evenly spaced x from 0 to 1.
    """
    if not costs:
        return {"p50": "0", "p90": "0", "p99": "0", "max": "0", "tail_share": None,
                "histogram": [], "pareto": []}
    n = len(costs)
    total = sum(costs, Decimal(0))
    tail_count = max(1, math.ceil(n * 0.05))
    tail_start = costs[n - tail_count]
    low, high = costs[0], costs[-1]
    width = (high - low) / bins if high > low else Decimal(1)
    def bin_of(cost: Decimal) -> int:
        return min(int((cost - low) / width), bins - 1)

    counts = [0] * bins
    for cost in costs:
        counts[bin_of(cost)] += 1
    histogram = [{"low": str(low + width * i), "high": str(low + width * (i + 1)),
                  "traces": count, "tail": i >= bin_of(tail_start)}
                 for i, count in enumerate(counts)] if high > low else [
        {"low": str(low), "high": str(high), "traces": n, "tail": True}]
    descending = costs[::-1]
    cumulative = [Decimal(0)]
    for cost in descending:
        cumulative.append(cumulative[-1] + cost)
    pareto = []
    for i in range(points):
        share = Decimal(i) / (points - 1)
        k = min(n, math.ceil(share * n))
        pareto.append([str(share.quantize(_SIX)), fraction(cumulative[k], total) or "0"])
    return {"p50": str(nearest_rank(costs, 0.50)), "p90": str(nearest_rank(costs, 0.90)),
            "p99": str(nearest_rank(costs, 0.99)), "max": str(high),
            "tail_share": fraction(sum(descending[:tail_count], Decimal(0)), total),
            "histogram": histogram, "pareto": pareto}


def _sum(amounts: Iterable[str | None]) -> Decimal:
    """The exact sum of decimal strings, unpriced (None) left out."""
    return sum((Decimal(a) for a in amounts if a is not None), Decimal(0))


_SIX = Decimal("0.000001")
