"""What each page of the UI shows, as plain dicts for its template.

Every view reads through the services (the same numbers as the CLI and the
GraphQL API) and never writes.  Payloads shown to the ``reader`` role pass
through the configured redaction first; ``auditor`` and ``admin`` see them as
imported.  Query parameters are validated here: a bad one is a
:class:`BadRequest` naming it, shown to the user, never a stack trace.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping, Sequence
from urllib.parse import urlencode

import orjson

from ..config import Config
from ..formats.values import iso
from ..model import EntityLabel, Outcome, Step, Trace, time_order
from ..render.formatting import format_usd
from ..services.analysis import analyze_trace, waste_report
from ..services.browsing import listing_item
from ..services.clusters import clusters_report
from ..services.economics import economics_report
from ..services.explain import diff_traces, explain_trace
from ..services.redaction import RAW_ROLES, Redactor, redactor_for
from ..store import Store

__all__ = ["BadRequest", "PAGE_SIZE", "trace_list", "trace_view", "step_view", "compare_view",
           "workflow_view", "explain_view", "audit_record", "RAW_ROLES"]

PAGE_SIZE = 50
"""Traces per page of the list."""
STEP_PAGE = 400
"""Steps per page of a decision trail (after collapsing repeats)."""
PAYLOAD_CHARS = 4000
"""Characters of a payload shown inline; the step's own page shows it whole."""


class BadRequest(ValueError):
    """A query parameter the UI cannot use, said in one sentence naming it."""


# -- the trace list --------------------------------------------------------------

_FILTERS = ("q", "workflow", "outcome", "min_cost", "max_cost", "since", "until", "attr",
            "override", "retry", "cluster", "sort")


def trace_list(store: Store, params: Mapping[str, str]) -> dict[str, Any]:
    """One page of the filtered, sorted trace list; the filter state is the URL's."""
    chosen = {k: params[k].strip() for k in _FILTERS if params.get(k, "").strip()}
    sort = chosen.get("sort", "key")
    if sort not in ("key", "cost", "start"):
        raise BadRequest(f"sort {sort!r}: use key, cost or start")
    filters: dict[str, Any] = {}
    if "workflow" in chosen:
        filters["workflow"] = chosen["workflow"]
    if "outcome" in chosen:
        try:
            filters["outcome"] = Outcome(chosen["outcome"])
        except ValueError:
            raise BadRequest(f"outcome {chosen['outcome']!r}: use "
                             f"{', '.join(o.value for o in Outcome)}") from None
    for name, key in (("min_cost", "min_cost"), ("max_cost", "max_cost")):
        if name in chosen:
            filters[key] = _decimal(chosen[name], name)
    for name, key in (("since", "since_ns"), ("until", "until_ns")):
        if name in chosen:
            filters[key] = _moment_ns(chosen[name], name)
    if "attr" in chosen:
        attr_name, sep, raw = chosen["attr"].partition("=")
        if not sep or not attr_name:
            raise BadRequest("attr: write it as name=value, e.g. claim.type=auto")
        try:
            value: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            value = raw
        filters["attribute"] = (attr_name.strip(), value)
    for name, key in (("override", "has_override"), ("retry", "has_retry")):
        if name in chosen:
            if chosen[name] not in ("yes", "no"):
                raise BadRequest(f"{name}: use yes or no")
            filters[key] = chosen[name] == "yes"
    offset = _int(params.get("offset", "0"), "offset")
    after = _int(params["after"], "after") if params.get("after") else None
    rows: list[tuple[int, Any, Decimal | None]]
    if "q" in chosen and store.find_trace_ids([chosen["q"]]):
        rows = [(0, store.trace_row(chosen["q"]), None)]  # that very trace
        more = False
    elif "cluster" in chosen:
        members = store.cluster_members(chosen["cluster"], workflow=filters.get("workflow"))
        ids = list(dict.fromkeys(m["trace_id"] for m in members))
        page_ids = ids[offset:offset + PAGE_SIZE]
        rows = [(0, store.trace_row(i), None) for i in page_ids]
        more = offset + PAGE_SIZE < len(ids)
    else:
        rows = store.find_traces(**filters, id_prefix=chosen.get("q"),
                                 after_key=after if sort == "key" else None,
                                 limit=PAGE_SIZE + 1, order=sort,
                                 offset=offset if sort != "key" else 0)
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
    totals = store.analysis_totals([row.trace_id for _, row, _ in rows])
    items = []
    for row_key, row, _ in rows:
        item = listing_item(row)
        figures = totals.get(row.trace_id)
        item["key"] = row_key
        item["cost"] = format_usd(figures["cost"]) if figures else "not analysed"
        item["cost_value"] = str(figures["cost"]) if figures else ""
        item["wasted"] = format_usd(figures["wasted"]) if figures else "-"
        item["wasted_share"] = _share(figures["wasted"], figures["cost"]) if figures else "-"
        item["retries"] = figures["failed_attempts"] if figures else "-"
        item["overrides"] = figures["overrides"] if figures else "-"
        item["human_minutes"] = (f"{figures['human_minutes']:g}"
                                 if figures and figures["human_minutes"] else "-")
        items.append(item)
    base = {k: v for k, v in chosen.items()}
    next_url = None
    if more:
        following = dict(base)
        if sort == "key" and "cluster" not in chosen:
            following["after"] = str(rows[-1][0])
        else:
            following["offset"] = str(offset + PAGE_SIZE)
        next_url = "?" + urlencode(following)
    return {"items": items, "filters": chosen, "sort": sort, "next_url": next_url,
            "first_url": "?" + urlencode(base) if (after or offset) else None,
            "workflows": sorted(e.name for e in store.entities(EntityLabel.WORKFLOW)),
            "clusters": [(c.id, c.label) for c in store.clusters()],
            "outcomes": [o.value for o in Outcome],
            "sort_url": {s: "?" + urlencode({**base, "sort": s}) for s in ("key", "cost",
                                                                          "start")}}


def _share(part: Decimal, whole: Decimal) -> str:
    """A share for people: whole percents, one decimal under 1%, never a false 0%."""
    if not whole:
        return "-"
    share = part / whole * 100
    if 0 < share < 1:
        return f"{share:.1f}%" if share >= Decimal("0.1") else "<0.1%"
    return f"{share:.0f}%"


def _decimal(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text.lstrip("$"))
    except InvalidOperation:
        raise BadRequest(f"{name} {text!r} is not an amount in dollars") from None
    if not value.is_finite() or value < 0:
        raise BadRequest(f"{name} {text!r} is not an amount in dollars")
    return value


def _int(text: str, name: str) -> int:
    if not text.isdigit():
        raise BadRequest(f"{name} {text!r} is not a whole number")
    return int(text)


def _moment_ns(text: str, name: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name} {text!r} is not a date or time (e.g. 2026-03-01 or "
                         "2026-03-01T09:30)") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


# -- one trace -----------------------------------------------------------------------

def _payload(value: Any, *, whole: bool) -> str | None:
    """A payload as text for people: JSON pretty-printed, cut (the trace is already
    redacted for the role, see :func:`_for_role`)."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    text = value if isinstance(value, str) else orjson.dumps(
        value, option=orjson.OPT_INDENT_2, default=str).decode()
    if not whole and len(text) > PAYLOAD_CHARS:
        return text[:PAYLOAD_CHARS] + f"\n… ({len(text) - PAYLOAD_CHARS:,} more characters "\
            "on the step's own page)"
    return text


def _step_detail(step: Step, mark: dict[str, Any] | None, documents: list[dict[str, Any]],
                 *, whole: bool = False) -> dict[str, Any]:
    """Everything an auditor asks of one step, in the order they ask it."""
    override = step.override
    return {
        "id": step.id, "kind": step.kind.value, "name": step.name or step.kind.value,
        "parent": step.parent_id, "status": step.status.value,
        "start": iso(step.start_ns),
        "duration_ms": None if step.duration_ns is None else f"{step.duration_ns / 1e6:,.0f}",
        "model": step.model, "provider": step.provider, "tool": step.tool_name,
        "tokens": {k: v for k, v in (("input", step.input_tokens),
                                      ("output", step.output_tokens),
                                      ("cached input", step.cached_input_tokens),
                                      ("reasoning", step.reasoning_tokens)) if v},
        "role": mark["role"] if mark else "not analysed",
        "reason": mark["reason"] if mark else None,
        "cost": format_usd(Decimal(mark["cost_usd"])) if mark and mark["cost_usd"]
        is not None else "unpriced",
        "cost_source": (mark or {}).get("cost_source"), "cost_detail": (mark or {}).get(
            "cost_detail"),
        "evidence": _lines((mark or {}).get("evidence")),
        "error": step.error, "error_type": step.error_type,
        "retry_of": step.retry_of, "rules": list(step.rules), "inputs": list(step.inputs),
        "override": None if override is None else {
            "actor": override.actor, "role": override.actor_role,
            "reason": override.reason,
            "minutes": None if override.minutes is None else f"{override.minutes:g}",
            "replaces": override.replaces},
        "documents": [{"id": d.id, "title": d.title, "tokens": d.tokens,
                       "score": d.score,
                       "used": next((u["used"] for u in documents if u["id"] == d.id), None),
                       "evidence": next((u["evidence"] for u in documents if u["id"] == d.id),
                                        None),
                       "content": _payload(d.content, whole=whole)}
                      for d in step.documents],
        "arguments": _payload(step.arguments, whole=whole),
        "result": _payload(step.result, whole=whole),
        "input": _payload(step.input, whole=whole),
        "output": _payload(step.output, whole=whole),
        "attributes": _payload(step.attributes, whole=whole),
    }


def _lines(evidence: Any) -> list[str]:
    """A mark's evidence as lines: the analysis gives one sentence (or, in places, several)."""
    if not evidence:
        return []
    return [evidence] if isinstance(evidence, str) else [str(e) for e in evidence]


def _details(steps: Sequence[Step], analysis: dict[str, Any], *, whole: bool = False
             ) -> list[dict[str, Any]]:
    """The details of ``steps``, each with its mark and the documents it retrieved."""
    marks = {m["id"]: m for m in analysis["steps"]}
    used: dict[str, list[dict[str, Any]]] = {}
    for document in analysis["documents"]:
        used.setdefault(document["step_id"], []).append(document)
    return [_step_detail(s, marks.get(s.id), used.get(s.id, []), whole=whole) for s in steps]


def _for_role(trace: Trace, analysis: dict[str, Any], redactor: Redactor | None
              ) -> tuple[Trace, dict[str, Any]]:
    """The trace and its analysis as the role may see them."""
    if redactor is None:
        return trace, analysis
    return redactor.redact_trace(trace), redactor.redact_analysis(analysis)


def _redactor(config: Config, role: str) -> Redactor | None:
    return redactor_for(role, config.redaction)


def _header(store: Store, trace: Trace, analysis: dict[str, Any],
            redactor: Redactor | None) -> dict[str, Any]:
    row = store.trace_row(trace.id)
    cost, wasted = Decimal(analysis["cost_usd"]), Decimal(analysis["wasted_usd"])
    attributes = dict(row.attributes)
    if redactor is not None:
        attributes = redactor.redact_value(attributes)
    return {"id": trace.id, "workflow": row.workflow, "outcome": row.outcome.value,
            "outcome_reason": row.outcome_reason, "start": iso(row.start_ns),
            "end": iso(row.end_ns), "steps": row.steps, "errors": row.errors,
            "source_format": row.source_format, "attributes": attributes,
            "cost": format_usd(cost), "wasted": format_usd(wasted),
            "wasted_share": _share(wasted, cost),
            "retry": format_usd(Decimal(analysis["retry_usd"])),
            "unpriced": len(analysis["unpriced_steps"]),
            "human_minutes": analysis["human_minutes"],
            "bloat_tokens": analysis["context_bloat_tokens"],
            "cites": list(trace.cites)}


def _analysed(store: Store, config: Config, trace_id: str) -> tuple[Trace, dict[str, Any]]:
    trace = store.get_trace(trace_id)
    return trace, analyze_trace(store, trace_id, config=config, trace=trace)


def trace_view(store: Store, config: Config, trace_id: str, *, role: str,
               page: int = 0) -> dict[str, Any]:
    """The decision trail of one trace: drawing, timeline, waterfall and step details."""
    from ..render.trail import timeline_svg, trail_svg, waterfall_svg
    redactor = _redactor(config, role)
    trace, analysis = _for_role(*_analysed(store, config, trace_id), redactor)
    # One page of the drawing (repeats collapsed, so a page stands for more steps than
    # it draws) and the details of exactly the steps it stands for.
    try:
        trail = trail_svg(trace, analysis, page=page, page_size=STEP_PAGE)
    except ValueError:
        pages = trail_svg(trace, analysis, page=0, page_size=STEP_PAGE).pages
        raise BadRequest(f"page {page + 1}: this trace has {pages} "
                         f"page{'s' if pages != 1 else ''}") from None
    by_id = {s.id: s for s in trace.steps}
    shown = [by_id[i] for i in trail.step_ids if i in by_id]
    order = {s.id: i for i, s in enumerate(time_order(trace.steps))}
    first = 1 + min((order[s.id] for s in shown), default=0)
    wasted_by_reason: dict[str, list[Any]] = {}
    for mark in analysis["steps"]:
        if mark["role"] == "wasted" and mark["reason"]:
            entry = wasted_by_reason.setdefault(mark["reason"], [0, Decimal(0)])
            entry[0] += 1
            entry[1] += Decimal(mark["cost_usd"] or 0)
    return {
        "trace": _header(store, trace, analysis, redactor),
        "trail": trail, "page": page, "pages": trail.pages, "first_step": first,
        "timeline": timeline_svg(trace, analysis, page=trail.page, page_size=STEP_PAGE),
        "waterfall": waterfall_svg(trace, analysis),
        "steps": _details(shown, analysis),
        "wasted_by_reason": [(reason, n, format_usd(usd)) for reason, (n, usd) in
                             sorted(wasted_by_reason.items(), key=lambda kv: -kv[1][1])],
        "outcome_step": analysis["outcome_step"],
        "redacted": redactor is not None,
    }


def step_view(store: Store, config: Config, trace_id: str, step_id: str, *,
              role: str) -> dict[str, Any]:
    """One step whole: its permalink page."""
    redactor = _redactor(config, role)
    trace, analysis = _for_role(*_analysed(store, config, trace_id), redactor)
    step = next((s for s in trace.steps if s.id == step_id), None)
    if step is None:
        raise LookupError(f"no step {step_id!r} in trace {trace_id!r}")
    mark = next((m for m in analysis["steps"] if m["id"] == step_id), None)
    documents = [d for d in analysis["documents"] if d["step_id"] == step_id]
    return {"trace": _header(store, trace, analysis, redactor),
            "step": _step_detail(step, mark, documents, whole=True),
            "redacted": redactor is not None}


def explain_view(store: Store, config: Config, trace_id: str, *, role: str) -> dict[str, Any]:
    """Cost drivers against the workflow's median, decisive steps, the nearest trace with
    the other outcome (its own request: it reads the whole workflow's figures).  For
    readers the sentences that quote the trace (why a step was decisive, an override's
    reason) are redacted."""
    explained = explain_trace(store, trace_id, config=config)
    redactor = _redactor(config, role)
    return explained if redactor is None else redactor.redact_explanation(explained)


def compare_view(store: Store, config: Config, a: str, b: str) -> dict[str, Any]:
    diff = diff_traces(store, a, b, config=config)
    return {"diff": diff, "a": a, "b": b}


def workflow_view(store: Store, config: Config, name: str) -> dict[str, Any]:
    """A workflow's economics against its baseline, its waste, costliest traces and
    failure clusters."""
    from ..render.charts import bar_chart
    if name not in {e.name for e in store.entities(EntityLabel.WORKFLOW)}:
        raise LookupError(f"no workflow {name!r} in this store")
    waste = waste_report(store, config=config, workflow=name)
    economics = economics_report(store, config=config, workflow=name)
    clusters = clusters_report(store, config=config, workflow=name, embedder=None,
                               refresh=False, members=10)
    chart = bar_chart([(reason, Decimal(usd)) for reason, usd in
                       waste.get("by_reason", {}).items()], title="wasted by reason",
                      unit="$")
    return {"name": name, "waste": waste, "economics": economics, "clusters": clusters,
            "waste_chart": chart}


def audit_record(store: Store, config: Config, trace_id: str, *, role: str,
                 drawings: bool = False) -> dict[str, Any]:
    """One trace's decision trail as a document that stands alone in an audit file; with
    ``drawings``, also the whole trail, timeline and waterfall (SVG) for the HTML one —
    all from one analysis, of what the role may see."""
    redactor = _redactor(config, role)
    raw, raw_analysis = _analysed(store, config, trace_id)
    trace, analysis = _for_role(raw, raw_analysis, redactor)
    record = {"generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "generated_for_role": role, "redacted": redactor is not None,
              "redactions": (str(redactor.redaction_summary(raw)) if redactor is not None
                             else "payloads as imported"),
              "trace": _header(store, trace, analysis, redactor),
              "analysis": {k: analysis[k] for k in (
                  "analyzer_version", "cost_usd", "wasted_usd", "retry_usd", "outcome",
                  "outcome_step", "unpriced_steps", "context_bloat_tokens", "human_minutes",
                  "failures", "edges")},
              "steps": _details(time_order(trace.steps), analysis, whole=True)}
    if drawings:
        from ..render.trail import timeline_svg, trail_svg, waterfall_svg
        everything = max(len(trace.steps), 1)
        record["drawings"] = {
            "trail": trail_svg(trace, analysis, page=0, page_size=everything).svg,
            "timeline": timeline_svg(trace, analysis, page=0, page_size=everything),
            "waterfall": waterfall_svg(trace, analysis)}
    return record


def page_numbers(pages: int, page: int) -> Sequence[int]:
    """Which page links to show: the first, the last, and two either side."""
    return sorted({0, pages - 1, *range(max(0, page - 2), min(pages, page + 3))})
