"""Why one trace cost what it did, why it ended as it did, and how two paths differ.

``explain_trace`` sets a trace against the median of its workflow (its
cohort) and splits the difference into drivers with dollars:

``retries``        spend on failed attempts;
``extra context``  input tokens beyond the cohort's median, at this trace's
                   own dollars per model token;
``model choice``   the rest of the model spend's difference: dearer models,
                   longer outputs;
``extra tool calls`` tool and retrieval spend beyond the median;
``human minutes``  override time beyond the median;
``cohort mix``     what remains: medians do not add up (the median trace is
                   not the sum of the median parts), shown so the drivers
                   always sum exactly to the difference.

``diff_traces`` aligns two paths step by step on (kind, tool or model), with
the longest-matching-blocks alignment of :mod:`difflib`, and gives the delta
by reason.  Both read the stored analyses (re-analysing stale ones first).
"""

from __future__ import annotations

import difflib
import statistics
from decimal import Decimal
from typing import Any, Iterable, Sequence

from ..config import Config
from ..errors import InputError
from ..model import GROUPING_KINDS, Outcome, Status, Step, Trace, time_order
from ..formats.values import usd_text
from ..store import Store
from .analysis import analyze_stale, analyze_trace

__all__ = ["explain_trace", "diff_traces", "nearest_other_outcome", "step_signature"]

CATEGORIES = ("retries", "model", "tools", "human", "other")
_CANDIDATES = 200  # traces of the other outcome compared in full, closest in size first
_SMALL_COHORT = 5


def step_signature(step: Step) -> str:
    """What a step did, for alignment: its kind, its tool, model or name, and a failure.

    A failed call is marked so that the attempt that worked aligns with the
    other trace's call, and the failures show as extra steps.
    """
    what = step.tool_name or step.model or step.name or ""
    signature = f"{step.kind.value}:{what}" if what else step.kind.value
    return f"{signature} (error)" if step.status == Status.ERROR else signature


def _path(trace: Trace) -> list[Step]:
    """The steps that did something, in time order (grouping spans left out)."""
    return [s for s in time_order(trace.steps) if s.kind not in GROUPING_KINDS]


def _median(values: Iterable[Decimal]) -> Decimal:
    ordered = sorted(values)
    return statistics.median(ordered) if ordered else Decimal(0)


def _money(amount: Decimal) -> str:
    """Exact, in plain digits; zero as ``0`` (not the ``0E-9`` of a zero with places)."""
    return "0" if amount == 0 else usd_text(amount)


def explain_trace(store: Store, trace_id: str, *, config: Config) -> dict[str, Any]:
    """Cost drivers against the workflow's median, and the decisive steps of the outcome."""
    analyze_stale(store, config=config)
    analysis = analyze_trace(store, trace_id, config=config)
    trace = store.get_trace(trace_id)
    row = store.trace_row(trace_id)
    cohort_rows = store.list_traces(workflow=row.workflow)
    breakdown = store.cost_breakdown(workflow=row.workflow)
    tokens = {r.trace_id: r.input_tokens for r in cohort_rows}

    def spend(tid: str, category: str) -> Decimal:
        return breakdown.get(tid, {}).get(category, (Decimal(0), 0))[0]

    cohort = [r.trace_id for r in cohort_rows if r.trace_id in breakdown]
    mine = {c: spend(trace_id, c) for c in CATEGORIES}
    median = {c: _median(spend(t, c) for t in cohort) for c in CATEGORIES}
    total = Decimal(analysis["cost_usd"])
    median_total = _median(sum((spend(t, c) for c in CATEGORIES), Decimal(0)) for t in cohort)
    median_tokens = statistics.median(sorted(tokens[t] for t in cohort)) if cohort else 0
    model_tokens = sum((s.input_tokens or 0) + (s.output_tokens or 0)
                       for s in trace.steps if s.model)
    rate = mine["model"] / model_tokens if model_tokens else Decimal(0)
    extra_context = (Decimal(row.input_tokens) - Decimal(median_tokens)) * rate
    drivers = [
        _driver("retries", mine["retries"] - median["retries"],
                f"{breakdown.get(trace_id, {}).get('retries', (0, 0))[1]} failed attempts"),
        _driver("extra context", extra_context,
                f"{row.input_tokens:,} input tokens against a median of "
                f"{int(median_tokens):,}, at ${rate:.8f} per model token"),
        _driver("model choice", mine["model"] - median["model"] - extra_context,
                "model spend beyond what the extra context explains: dearer models, "
                "longer outputs (" + ", ".join(sorted({s.model for s in trace.steps
                                                       if s.model})) + ")"),
        _driver("extra tool calls", mine["tools"] - median["tools"],
                f"{breakdown.get(trace_id, {}).get('tools', (0, 0))[1]} tool steps"),
        _driver("human minutes", mine["human"] - median["human"],
                f"{_minutes(trace)} minutes of overrides"),
    ]
    explained = sum((Decimal(d["usd"]) for d in drivers), Decimal(0))
    drivers.append(_driver("cohort mix", total - median_total - explained,
                           "the median trace is not the sum of the median parts; with "
                           "this line the drivers add up to the difference exactly",
                           exact=True))
    warnings = []
    if len(cohort) < _SMALL_COHORT:
        warnings.append(f"only {len(cohort)} analysed traces in this workflow: the median "
                        "is a weak yardstick")
    if analysis["unpriced_steps"]:
        warnings.append(f"{len(analysis['unpriced_steps'])} unpriced steps are not counted")
    return {
        "trace_id": trace_id, "workflow": row.workflow, "outcome": analysis["outcome"],
        "cost_usd": analysis["cost_usd"], "wasted_usd": analysis["wasted_usd"],
        "cohort": {"traces": len(cohort), "median_cost_usd": _money(median_total),
                   "median_input_tokens": int(median_tokens)},
        "difference_usd": _money(total - median_total),
        "ratio_to_median": None if not median_total else
        str((total / median_total).quantize(Decimal("0.01"))),
        "drivers": sorted(drivers, key=lambda d: -abs(Decimal(d["usd"]))),
        "decisive_steps": _decisive(trace, analysis),
        "rules": sorted({r for s in trace.steps for r in s.rules}),
        "overrides": [_override(s) for s in time_order(trace.steps) if s.override],
        "nearest_other_outcome": nearest_other_outcome(store, trace),
        "warnings": warnings,
    }


def _driver(name: str, usd: Decimal, evidence: str, *, exact: bool = False) -> dict[str, str]:
    """A driver's dollars, to a nano-dollar (the token-rate ones are quotients); the
    remainder line is ``exact`` so that the drivers still add up to the difference."""
    return {"driver": name,
            "usd": _money(usd if exact else usd.quantize(Decimal("0.000000001"))),
            "evidence": evidence}


def _minutes(trace: Trace) -> Decimal:
    return sum((s.override.minutes for s in trace.steps
                if s.override is not None and s.override.minutes), Decimal(0))


def _override(step: Step) -> dict[str, Any]:
    assert step.override is not None
    return {"step_id": step.id, "actor": step.override.actor,
            "role": step.override.actor_role, "reason": step.override.reason,
            "minutes": None if step.override.minutes is None else str(step.override.minutes),
            "replaces": step.override.replaces}


def _decisive(trace: Trace, analysis: dict[str, Any]) -> list[dict[str, str]]:
    """The steps that decided the outcome, each with why.

    The outcome step; the overrides and rule applications on the essential
    path; in a trace that did not succeed, the last failures (what stopped it).
    """
    marks = {s["id"]: s for s in analysis["steps"]}
    by_id = {s.id: s for s in trace.steps}
    found: dict[str, str] = {}
    if analysis["outcome_step"]:
        found[analysis["outcome_step"]] = "produced the outcome"
    for step in time_order(trace.steps):
        essential = marks[step.id]["role"] == "essential"
        if step.override is not None and essential:
            found.setdefault(step.id, f"{step.override.actor} overrode "
                                      f"{step.override.replaces or 'the agent'}"
                                      f"{': ' + step.override.reason if step.override.reason else ''}")
        if step.rules and essential:
            found.setdefault(step.id, "applied " + ", ".join(step.rules))
    if analysis["outcome"] != Outcome.SUCCESS.value:
        failures = [s for s in time_order(trace.steps) if s.status.value == "error"]
        for step in failures[-3:]:
            found.setdefault(step.id, f"failed: {step.error_type or 'error'}"
                                      f"{' - ' + step.error if step.error else ''}"[:200])
    order = {s.id: i for i, s in enumerate(time_order(trace.steps))}
    return [{"step_id": sid, "kind": by_id[sid].kind.value, "why": why}
            for sid, why in sorted(found.items(), key=lambda kv: order[kv[0]])]


def _similarity(a: Sequence[str], b: Sequence[str]) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def nearest_other_outcome(store: Store, trace: Trace) -> dict[str, Any] | None:
    """The trace of the same workflow with the other outcome whose path is most alike.

    Alike: the alignment ratio of the two step sequences, plus a tenth for
    the share of trace attributes they have in common.  Only the
    ``_CANDIDATES`` closest in step count are compared in full.
    """
    row = store.trace_row(trace.id)
    if row.outcome == Outcome.UNKNOWN:
        return None
    other = Outcome.FAILURE if row.outcome == Outcome.SUCCESS else Outcome.SUCCESS
    candidates = sorted(store.list_traces(workflow=row.workflow, outcome=other),
                        key=lambda r: (abs(r.steps - row.steps), r.trace_id))[:_CANDIDATES]
    if not candidates:
        return None
    mine = [step_signature(s) for s in _path(trace)]
    best: tuple[float, str] | None = None
    for candidate in candidates:
        theirs = [step_signature(s) for s in _path(store.get_trace(candidate.trace_id))]
        shared = sum(1 for k, v in row.attributes.items() if candidate.attributes.get(k) == v)
        keys = len(set(row.attributes) | set(candidate.attributes)) or 1
        score = _similarity(mine, theirs) + 0.1 * shared / keys
        if best is None or score > best[0]:
            best = (score, candidate.trace_id)
    assert best is not None
    return {"trace_id": best[1], "outcome": other.value,
            "similarity": round(best[0], 3), "compared": len(candidates)}


def diff_traces(store: Store, a: str, b: str, *, config: Config) -> dict[str, Any]:
    """Two paths aligned step by step, where they diverge, and the cost delta by reason."""
    if a == b:
        raise InputError(f"diff needs two different traces; got {a!r} twice")
    traces = [store.get_trace(a), store.get_trace(b)]
    analyses = [analyze_trace(store, t.id, config=config) for t in traces]
    marks = [{s["id"]: s for s in analysis["steps"]} for analysis in analyses]
    paths = [_path(t) for t in traces]
    signatures = [[step_signature(s) for s in path] for path in paths]
    matcher = difflib.SequenceMatcher(None, signatures[0], signatures[1], autojunk=False)
    aligned: list[dict[str, Any]] = []
    divergence: dict[str, Any] | None = None
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        left, right = paths[0][i1:i2], paths[1][j1:j2]
        if op != "equal" and divergence is None:
            divergence = {"position": len(aligned),
                          "a_step": left[0].id if left else None,
                          "b_step": right[0].id if right else None,
                          "after": aligned[-1]["signature"] if aligned else None}
        for k in range(max(len(left), len(right))):
            x = left[k] if k < len(left) else None
            y = right[k] if k < len(right) else None
            shown = x if x is not None else y
            assert shown is not None
            signature = step_signature(shown)
            if x is not None and y is not None and op != "equal":
                signature = f"{step_signature(x)} -> {step_signature(y)}"
            aligned.append({
                "op": "same" if op == "equal" else "changed" if x and y
                else "only_a" if x else "only_b",
                "signature": signature,
                "a": _side(x, marks[0]), "b": _side(y, marks[1])})
    by_reason = [_by_reason(analysis) for analysis in analyses]
    keys = sorted(set(by_reason[0]) | set(by_reason[1]))
    return {
        "a": _summary(analyses[0]), "b": _summary(analyses[1]),
        "similarity": round(matcher.ratio(), 3),
        "divergence": divergence,
        "steps": aligned,
        "only_a": [s["a"]["id"] for s in aligned if s["op"] == "only_a"],
        "only_b": [s["b"]["id"] for s in aligned if s["op"] == "only_b"],
        "cost_delta_usd": _money(Decimal(analyses[1]["cost_usd"])
                                 - Decimal(analyses[0]["cost_usd"])),
        "delta_by_reason": {k: _money(by_reason[1].get(k, Decimal(0))
                                      - by_reason[0].get(k, Decimal(0))) for k in keys},
    }


def _side(step: Step | None, marks: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    if step is None:
        return None
    mark = marks[step.id]
    return {"id": step.id, "kind": step.kind.value, "status": step.status.value,
            "role": mark["role"], "reason": mark["reason"], "cost_usd": mark["cost_usd"]}


def _by_reason(analysis: dict[str, Any]) -> dict[str, Decimal]:
    """Spend by what it bought: ``essential``, ``structural``, or the waste reason."""
    found: dict[str, Decimal] = {}
    for step in analysis["steps"]:
        if step["cost_usd"] is not None:
            key = step["reason"] or step["role"]
            found[key] = found.get(key, Decimal(0)) + Decimal(step["cost_usd"])
    return found


def _summary(analysis: dict[str, Any]) -> dict[str, Any]:
    return {"trace_id": analysis["trace_id"], "workflow": analysis["workflow"],
            "outcome": analysis["outcome"], "cost_usd": analysis["cost_usd"],
            "wasted_usd": analysis["wasted_usd"], "steps": len(analysis["steps"])}

