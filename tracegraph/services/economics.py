"""Workflow economics: what each successful outcome costs, against what people charge.

Finance's question, per workflow and per segment (any trace attribute, or a
combination): traces, success rate p, first-try rate, spend, and **cost per
successful outcome** = spend / successes — failures are paid for (the T/p
effect) — with the retry tax, human minutes and their cost, the spread of
cost per trace and its long tail.  Against the workflow's baseline (a BPO
contract, the loaded cost of people) from ``tracegraph.toml``: margin per
unit, the break-even success rate, and a verdict that says how sure it is —
"cheaper" or "more expensive" only when the 95% interval of cost per success
lies wholly on one side of the baseline; otherwise "inconclusive".

Then the evidence finance acts on: value per dollar and whether spending more
per trace buys success (cost deciles); context growth with the number of model
turns; the model mix; routing evidence (a purpose where a cheaper model
succeeded as often as the dearer one, with counts and the saving); and an
allocation summary in business language, every line carrying its figures.

Everything is computed from the stored analyses (re-analysing stale ones
first), so a million steps take one pass over one row per trace.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from decimal import Decimal
from itertools import combinations
from typing import Any, Iterable, Sequence

import orjson

from ..analyze.stats import fraction, ratio_interval_of_sums, wilson_interval
from ..config import Config, WorkflowConfig
from ..model import Outcome
from ..formats.values import usd_text
from ..store import OutcomeRow, Store
from .analysis import analysis_version, analyze_stale

__all__ = ["economics_report", "segment_economics", "Cell", "MIN_SAMPLE", "MIN_ROUTING_TRACES"]

MIN_SAMPLE = 30
"""Below this many traces a segment's figures carry a small-sample warning."""
MIN_ROUTING_TRACES = 30
"""Each model must have run a purpose in this many traces before they are compared."""
ROUTING_TOLERANCE = 0.02
"""A cheaper model 'succeeds as often' when its success rate is within this, or within
the noise of the difference, of the dearer model's."""
TAIL = 0.05
_CENT = Decimal("0.01")


def _usd(amount: Decimal) -> str:
    return "0" if amount == 0 else usd_text(amount)


_NANO = Decimal("0.000000001")


def _per(amount: Decimal, count: int | Decimal) -> str:
    """A ratio of money (per trace, per success): exact to a nano-dollar, far below a cent."""
    return _usd((amount / Decimal(count)).quantize(_NANO))


def _money(amount: Decimal | None) -> str:
    """For people: whole cents when large enough, else four significant places."""
    if amount is None:
        return "n/a"
    if abs(amount) >= 1 or amount == amount.quantize(_CENT):
        return f"${amount.quantize(_CENT):,}"
    return f"${amount:.{max(2, -amount.adjusted() + 3)}f}"


def _label(key: dict[str, Any]) -> str:
    if not key:
        return "all traces"
    return ", ".join(f"{k}={_text(v)}" for k, v in key.items())


def _text(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, (dict, list, bool)):
        return orjson.dumps(value).decode()
    return str(value)


class Cell:
    """The additive summary of a set of traces of one workflow.

    Segments are unions of the finest cells (one per combination of every
    segment attribute), so each trace is read once and every coarser segment
    is built by adding cells: exact sums (Decimal) and float sums for the
    interval.  ``ranks`` are the traces' positions in the workflow's traces
    sorted by cost, so percentiles and the costliest tail need no re-sorting.
    """

    __slots__ = ("n", "successes", "first_try", "cost", "retry", "human", "minutes",
                 "unpriced", "sum_c", "sum_c2", "sum_cy", "ranks")

    def __init__(self) -> None:
        self.n = self.successes = self.first_try = self.unpriced = 0
        self.cost = self.retry = self.human = self.minutes = Decimal(0)
        self.sum_c = self.sum_c2 = self.sum_cy = 0.0
        self.ranks: list[int] = []

    def add(self, rank: int, row: OutcomeRow) -> None:
        won = row.outcome == Outcome.SUCCESS
        c = float(row.cost)
        self.n += 1
        self.successes += won
        self.first_try += won and row.failed_attempts == 0
        self.unpriced += row.unpriced_steps
        self.cost += row.cost
        if row.retry_usd:
            self.retry += row.retry_usd
        if row.human_usd:
            self.human += row.human_usd
        if row.human_minutes:
            self.minutes += row.human_minutes
        self.sum_c += c
        self.sum_c2 += c * c
        self.sum_cy += c if won else 0.0
        self.ranks.append(rank)

    def absorb(self, other: "Cell") -> None:
        for name in ("n", "successes", "first_try", "unpriced", "cost", "retry", "human",
                     "minutes", "sum_c", "sum_c2", "sum_cy"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.ranks.extend(other.ranks)


def segment_economics(cell: Cell, key: dict[str, Any], settings: WorkflowConfig,
                      ordered: Sequence[OutcomeRow]) -> dict[str, Any]:
    """Every figure of one segment, exact where it is money.

    ``ordered`` is the workflow's traces sorted by cost; ``cell.ranks`` index it.
    """
    n, successes, total = cell.n, cell.successes, cell.cost
    ranks = sorted(cell.ranks)  # runs of sorted cells: Timsort merges them in linear time

    def quantile(q: float) -> Decimal:  # nearest rank, as analyze.stats.nearest_rank
        return ordered[ranks[max(0, math.ceil(q * n) - 1)]].cost if n else Decimal(0)

    tail_count = max(1, math.ceil(n * TAIL)) if n else 0
    tail = sum((ordered[r].cost for r in ranks[n - tail_count:]), Decimal(0))
    per_success = (total / successes).quantize(_NANO) if successes else None
    interval = ratio_interval_of_sums(n, cell.sum_c, cell.sum_c2, successes, cell.sum_cy)
    baseline = settings.baseline_usd
    cheaper, verdict = _verdict(per_success, interval, baseline, successes, n)
    value = settings.value_usd
    half = n // 2

    def wins(part: list[int]) -> int:
        return sum(1 for r in part if ordered[r].outcome is Outcome.SUCCESS)

    return {
        "key": key, "label": _label(key), "traces": n, "successes": successes,
        "success_rate": fraction(successes, n),
        "success_interval": _interval(wilson_interval(successes, n)),
        "first_try_rate": fraction(cell.first_try, n),
        "cost_usd": _usd(total),
        "cost_per_trace_usd": _per(total, n) if n else None,
        "cost_per_success_usd": None if per_success is None else _usd(per_success),
        "cost_per_success_interval": None if interval is None else [str(interval[0]),
                                                                    str(interval[1])],
        "retry_usd": _usd(cell.retry), "retry_tax_share": fraction(cell.retry, total),
        "human_minutes": _usd(cell.minutes), "human_usd": _usd(cell.human),
        "p50_usd": _usd(quantile(0.5)), "p90_usd": _usd(quantile(0.9)),
        "p99_usd": _usd(quantile(0.99)),
        "tail_share": fraction(tail, total) if n else None,
        "value_usd": None if value is None else _usd(value * successes),
        "value_per_dollar": None if value is None or not total else
        str((value * successes / total).quantize(Decimal("0.01"))),
        "margin_per_unit_usd": None if baseline is None or per_success is None else
        _usd(baseline - per_success),
        "break_even_success_rate": None if baseline is None or not baseline or not n else
        str((total / n / baseline).quantize(Decimal("0.000001"))),
        "cheaper_than_baseline": cheaper, "verdict": verdict,
        "success_by_spend": {"cheaper_half": fraction(wins(ranks[:half]), half),
                             "dearer_half": fraction(wins(ranks[half:]), n - half)},
        "small_sample": n < MIN_SAMPLE,
        "unpriced_steps": cell.unpriced,
    }


def _interval(bounds: tuple[float, float] | None) -> list[str] | None:
    if bounds is None:
        return None
    return [f"{bounds[0]:.6f}", f"{bounds[1]:.6f}"]


def _verdict(per_success: Decimal | None, interval: tuple[Decimal, Decimal] | None,
             baseline: Decimal | None, successes: int, n: int) -> tuple[bool | None, str]:
    if baseline is None:
        return None, "no baseline configured"
    if n == 0:
        return None, "no traces"
    if successes == 0:
        return False, "more expensive: no successful outcome, every dollar bought nothing"
    assert per_success is not None
    if interval is None:
        side = "cheaper" if per_success < baseline else "more expensive"
        return None, f"inconclusive: {side} on one trace's evidence"
    low, high = interval
    if high < baseline:
        return True, "cheaper than baseline"
    if low > baseline:
        return False, "more expensive than baseline"
    return None, (f"inconclusive: the 95% interval {_money(low)}-{_money(high)} contains "
                  f"the baseline {_money(baseline)}")


def _segmentations(attributes: Sequence[str]) -> list[tuple[str, ...]]:
    """Each attribute alone, then every combination of them (all of them last)."""
    found: list[tuple[str, ...]] = []
    for size in range(1, len(attributes) + 1):
        found.extend(combinations(attributes, size))
    return found


def _hashable(value: Any) -> Any:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS) if isinstance(
        value, (dict, list)) else value


def _sort_key(key: dict[str, Any]) -> bytes:
    return orjson.dumps(key, option=orjson.OPT_SORT_KEYS)


def economics_report(store: Store, *, config: Config, workflow: str | None = None,
                     by: Sequence[str] = ()) -> dict[str, Any]:
    """The economics of every workflow (or one), by the segments asked or configured."""
    analyze_stale(store, config=config)
    rows_by_workflow: dict[str | None, list[OutcomeRow]] = {}
    for row in store.outcome_rows(workflow=workflow):
        rows_by_workflow.setdefault(row.workflow, []).append(row)
    calls = store.model_calls(workflow=workflow)
    workflows = []
    for name in sorted(rows_by_workflow, key=lambda w: (w is None, w or "")):
        settings = config.workflow(name)
        attributes = tuple(by) or settings.segments
        workflows.append(_workflow(name, rows_by_workflow[name], settings, attributes,
                                   [c for c in calls if c[0] == name]))
    return {"generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "analyzer_version": analysis_version(config), "config": config.source,
            "workflow": workflow, "by": list(by),
            "workflows": workflows,
            "allocation": [line for w in workflows for line in _allocation(w)]}


def _workflow(name: str | None, rows: list[OutcomeRow], settings: WorkflowConfig,
              attributes: Sequence[str], calls: list[tuple[Any, ...]]) -> dict[str, Any]:
    rows = sorted(rows, key=lambda r: r.cost)
    attributes = tuple(dict.fromkeys(attributes))
    cells: dict[tuple[Any, ...], tuple[dict[str, Any], Cell]] = {}
    overall_cell = Cell()
    for rank, row in enumerate(rows):
        values = tuple(row.attributes.get(a) for a in attributes)
        marker = tuple(_hashable(v) for v in values)
        if marker not in cells:
            cells[marker] = (dict(zip(attributes, values)), Cell())
        cells[marker][1].add(rank, row)
        overall_cell.add(rank, row)
    overall = segment_economics(overall_cell, {}, settings, rows)
    segments = [overall]
    for attrs in _segmentations(attributes):
        merged: dict[tuple[Any, ...], tuple[dict[str, Any], Cell]] = {}
        for marker, (found, part) in cells.items():
            projected = tuple(m for a, m in zip(attributes, marker) if a in attrs)
            if projected not in merged:
                merged[projected] = ({a: found[a] for a in attrs}, Cell())
            merged[projected][1].absorb(part)
        segments.extend(segment_economics(cell, key, settings, rows)
                        for key, cell in sorted(merged.values(),
                                                key=lambda kc: _sort_key(kc[0])))
    warnings = []
    if settings.baseline_usd is None:
        warnings.append(f"no baseline for {name or 'traces without a workflow'}: set "
                        f"baseline_usd in [workflows.{name or 'NAME'}] of tracegraph.toml to "
                        "compare with people or a BPO")
    missing = [a for a in attributes if all(a not in r.attributes for r in rows)]
    if missing:
        warnings.append("no trace has the attribute " + ", ".join(missing))
    unpriced = overall["unpriced_steps"]
    if unpriced:
        warnings.append(f"{unpriced} steps are unpriced and left out of every dollar figure "
                        "(not counted as $0): costs here are lower bounds")
    return {"workflow": name, "unit": settings.unit or "successful outcome",
            "value_usd": None if settings.value_usd is None else _usd(settings.value_usd),
            "baseline_usd": None if settings.baseline_usd is None else
            _usd(settings.baseline_usd),
            "baseline_label": settings.baseline_label or "baseline",
            "by": list(attributes), "segments": segments,
            "cost_deciles": _deciles(rows), "context_growth": _context_growth(rows),
            "model_mix": _model_mix(calls), "routing": _routing(calls),
            "warnings": warnings}


def _deciles(rows: list[OutcomeRow]) -> list[dict[str, Any]]:
    """Traces by cost, in ten equal groups: does spending more buy success, or retries?"""
    ordered = sorted(rows, key=lambda r: r.cost)
    n = len(ordered)
    found = []
    for d in range(10):
        members = ordered[n * d // 10: n * (d + 1) // 10]
        if not members:
            continue
        spend = sum((r.cost for r in members), Decimal(0))
        found.append({"decile": d + 1, "traces": len(members),
                      "mean_cost_usd": _per(spend, len(members)),
                      "success_rate": fraction(sum(r.outcome == Outcome.SUCCESS
                                                   for r in members), len(members)),
                      "retry_share": fraction(sum((r.retry_usd for r in members),
                                                  Decimal(0)), spend)})
    return found


_TURN_BUCKETS = ((0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 6), (7, 9), (10, 14), (15, 10**9))


def _context_growth(rows: list[OutcomeRow]) -> list[dict[str, Any]]:
    """Input tokens by the number of model turns: carried history grows ~quadratically."""
    found = []
    for low, high in _TURN_BUCKETS:
        members = [r for r in rows if low <= r.model_calls <= high]
        if not members:
            continue
        tokens = sorted(r.input_tokens for r in members)
        median = tokens[(len(tokens) - 1) // 2]
        found.append({"turns": str(low) if low == high else
                      f"{low}+" if high >= 10**9 else f"{low}-{high}",
                      "traces": len(members), "median_input_tokens": median,
                      "input_tokens_per_turn": None if not low else round(median / low),
                      "mean_cost_usd": _per(sum((r.cost for r in members), Decimal(0)),
                                            len(members))})
    return found


def _model_mix(calls: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    by_model: dict[str, list[Any]] = {}
    for _, _, model, count, _, _, usd, _ in calls:
        entry = by_model.setdefault(model, [0, Decimal(0)])
        entry[0] += count
        entry[1] += usd
    total = sum((usd for _, usd in by_model.values()), Decimal(0))
    return [{"model": model, "calls": count, "usd": _usd(usd), "share": fraction(usd, total)}
            for model, (count, usd) in sorted(by_model.items(), key=lambda kv: -kv[1][1])]


def _routing(calls: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Purposes where a cheaper model succeeded as often as a dearer one, with the saving.

    Comparable = the same workflow and the same purpose (the model call's span
    name).  Success is the trace's outcome.  Both models need
    ``MIN_ROUTING_TRACES`` traces; "as often" allows the larger of
    ``ROUTING_TOLERANCE`` and the 95% noise of the difference.  The saving is
    what the dearer model's calls would have cost at the cheaper one's mean.
    """
    by_purpose: dict[str, list[tuple[Any, ...]]] = {}
    for row in calls:
        by_purpose.setdefault(row[1], []).append(row)
    found = []
    for purpose, rows in sorted(by_purpose.items()):
        usable = [r for r in rows if r[4] >= MIN_ROUTING_TRACES and r[7]]
        for dear, cheap in combinations(sorted(usable, key=lambda r: -(r[6] / r[7])), 2):
            dear_mean, cheap_mean = dear[6] / dear[7], cheap[6] / cheap[7]
            if cheap_mean >= dear_mean:
                continue
            p_dear, p_cheap = dear[5] / dear[4], cheap[5] / cheap[4]
            noise = 1.96 * math.sqrt(p_dear * (1 - p_dear) / dear[4]
                                     + p_cheap * (1 - p_cheap) / cheap[4])
            if p_cheap < p_dear - max(ROUTING_TOLERANCE, noise):
                continue
            saving = (dear_mean - cheap_mean) * dear[3]
            found.append({
                "purpose": purpose,
                "from": _side(dear, dear_mean), "to": _side(cheap, cheap_mean),
                "saving_usd": _usd(saving.quantize(Decimal("0.000001"))),
                "evidence": f"{purpose}: {cheap[2]} succeeded in {p_cheap:.1%} of {cheap[4]} "
                            f"traces, {dear[2]} in {p_dear:.1%} of {dear[4]}; "
                            f"{_money(cheap_mean)} against {_money(dear_mean)} per call"})
    return sorted(found, key=lambda r: -Decimal(r["saving_usd"]))


def _side(row: tuple[Any, ...], mean: Decimal) -> dict[str, Any]:
    return {"model": row[2], "calls": row[3], "traces": row[4],
            "success_rate": fraction(row[5], row[4]),
            "mean_cost_usd": _usd(mean.quantize(Decimal("0.000000001")))}


def _allocation(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """What to do, segment by segment, in words finance reads, each line with figures.

    ``keep_with_people``: cost per success above the baseline with 95%
    confidence (contrasted, where one exists, with a sibling segment that is
    cheaper: the same attributes but the last; not said of a segment a
    narrower part of which is cheaper); ``more_compute``: cheaper than
    the baseline and its dearer traces succeed clearly more often;
    ``keep_on_agent``: the workflow as a whole is cheaper; ``cap``: retries
    take a quarter of a segment's spend, or the costliest 5% of traces half of
    the workflow's; ``switch_model``: routing evidence, one line per purpose;
    ``insufficient_evidence``: the workflow's interval straddles the baseline.
    Segments under ``MIN_SAMPLE`` traces are reported, not acted on.
    """
    lines: list[dict[str, Any]] = []
    name = workflow["workflow"]
    unit = workflow["unit"]
    baseline = None if workflow["baseline_usd"] is None else Decimal(workflow["baseline_usd"])
    by = f"by {workflow['baseline_label']}" if workflow["baseline_label"] != "baseline" \
        else "at the baseline"

    def line(segment: dict[str, Any], action: str, text: str) -> None:
        lines.append({"workflow": name, "segment": segment["key"], "action": action,
                      "text": text, "figures": {k: segment[k] for k in (
                          "traces", "success_rate", "cost_per_success_usd",
                          "cost_per_success_interval", "retry_tax_share", "tail_share")}})

    segments = workflow["segments"]
    for segment in segments:
        where = segment["label"] if segment["key"] else (name or "traces without a workflow")
        cps = _decimal(segment["cost_per_success_usd"])
        retry = Decimal(segment["retry_tax_share"] or 0)
        if segment["traces"] < MIN_SAMPLE:
            continue  # too few traces: listed with a warning, not acted on
        if (baseline is not None and segment["cheaper_than_baseline"] is False
                and not _has_cheaper_part(segment, segments)):
            sibling = _cheaper_sibling(segment, segments)
            if sibling is not None:
                attr = list(segment["key"])[-1]
                common = {k: v for k, v in segment["key"].items() if k != attr}
                line(segment, "keep_with_people",
                     f"{_label(common) if common else name}: "
                     f"{_money(_decimal(sibling['cost_per_success_usd']))} per {unit} with "
                     f"the agent against {_money(baseline)} {by} when "
                     f"{attr}={_text(sibling['key'][attr])}, but when "
                     f"{attr}={_text(segment['key'][attr])} {_driver(segment, sibling)} "
                     f"{_money(cps)}: keep those with people")
            else:
                line(segment, "keep_with_people",
                     f"{where}: {_money(cps)} per {unit} with the agent against "
                     f"{_money(baseline)} {by} (success {_pct(segment['success_rate'])}, "
                     f"retries {_pct(segment['retry_tax_share'])} of spend): keep with people")
            continue
        if baseline is not None and segment["cheaper_than_baseline"]:
            halves = segment["success_by_spend"]
            if (halves["dearer_half"] and halves["cheaper_half"] and
                    Decimal(halves["dearer_half"]) - Decimal(halves["cheaper_half"])
                    >= Decimal("0.05")):
                line(segment, "more_compute",
                     f"{where}: {_money(cps)} per {unit} against {_money(baseline)}, and the "
                     f"dearer half of its traces succeed {_pct(halves['dearer_half'])} against"
                     f" {_pct(halves['cheaper_half'])}: spending more buys outcomes, give it "
                     "more compute")
            elif not segment["key"]:
                line(segment, "keep_on_agent",
                     f"{where}: {_money(cps)} per {unit} with the agent against "
                     f"{_money(baseline)} {by}: cheaper, keep it on the agent")
        if retry >= Decimal("0.25"):
            line(segment, "cap",
                 f"{where}: failed attempts are {_pct(segment['retry_tax_share'])} of spend: "
                 "cap the attempts per call, or fix what fails first")
        elif not segment["key"] and Decimal(segment["tail_share"] or 0) >= Decimal("0.5"):
            line(segment, "cap",
                 f"{where}: the costliest 5% of traces take {_pct(segment['tail_share'])} of "
                 f"spend: cap spend per trace near its p90 of "
                 f"{_money(Decimal(segment['p90_usd']))} and look at those traces")
        if baseline is not None and segment["cheaper_than_baseline"] is None \
                and not segment["key"]:
            line(segment, "insufficient_evidence", f"{where}: {segment['verdict']}")
    best: dict[str, dict[str, Any]] = {}
    for route in workflow["routing"]:  # per purpose, the cheapest model that qualifies
        chosen = best.get(route["purpose"])
        if chosen is None or Decimal(route["to"]["mean_cost_usd"]) < Decimal(
                chosen["to"]["model_mean"]):
            best[route["purpose"]] = {"to": {"model": route["to"]["model"],
                                             "model_mean": route["to"]["mean_cost_usd"]},
                                      "routes": []}
    for route in workflow["routing"]:
        if route["to"]["model"] == best[route["purpose"]]["to"]["model"]:
            best[route["purpose"]]["routes"].append(route)
    for purpose, chosen in sorted(best.items()):
        saving = sum((Decimal(r["saving_usd"]) for r in chosen["routes"]), Decimal(0))
        routes = chosen["routes"]
        sources = ", ".join(r["from"]["model"] for r in routes)
        to = routes[0]["to"]
        rates = sorted(Decimal(r["from"]["success_rate"]) for r in routes)
        means = sorted(Decimal(r["from"]["mean_cost_usd"]) for r in routes)

        def span(low: str, high: str) -> str:
            return low if low == high else f"{low}-{high}"

        lines.append({"workflow": name, "segment": {}, "action": "switch_model",
                      "text": f"{name}: route {purpose} to {to['model']} (now also on "
                              f"{sources}): it succeeded in {_pct(to['success_rate'])} of "
                              f"{to['traces']:,} traces against "
                              f"{span(_pct(str(rates[0])), _pct(str(rates[-1])))} on the "
                              f"others, at {_money(Decimal(to['mean_cost_usd']))} against "
                              f"{span(_money(means[0]), _money(means[-1]))} per call; saving "
                              f"about {_money(saving)} on this volume",
                      "figures": {"purpose": purpose, "to": chosen["to"]["model"],
                                  "saving_usd": _usd(saving), "routes": chosen["routes"]}})
    return lines


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _cheaper_sibling(segment: dict[str, Any], segments: list[dict[str, Any]]
                     ) -> dict[str, Any] | None:
    """A segment with the same attributes but another value of the last one, cheaper
    than the baseline with confidence: the contrast that explains this one."""
    if not segment["key"]:
        return None
    attr = list(segment["key"])[-1]
    for other in segments:
        if (other is not segment and list(other["key"]) == list(segment["key"])
                and other["cheaper_than_baseline"] and other["traces"] >= MIN_SAMPLE
                and all(other["key"][k] == v for k, v in segment["key"].items() if k != attr)):
            return other
    return None


def _has_cheaper_part(segment: dict[str, Any], segments: list[dict[str, Any]]) -> bool:
    """Does a narrower segment inside this one beat the baseline with confidence?  Then
    the segment is not sent to people whole: the narrower lines say which part to keep."""
    for other in segments:
        if (len(other["key"]) > len(segment["key"]) and other["cheaper_than_baseline"]
                and other["traces"] >= MIN_SAMPLE
                and all(other["key"].get(k, _MISSING) == v
                        for k, v in segment["key"].items())):
            return True
    return False


_MISSING = object()


def _driver(dear: dict[str, Any], cheap: dict[str, Any]) -> str:
    """What makes ``dear`` dearer per trace than ``cheap``: retries, people, or models."""
    def per_trace(segment: dict[str, Any], key: str) -> Decimal:
        return Decimal(segment[key]) / Decimal(segment["traces"])

    retries = per_trace(dear, "retry_usd") - per_trace(cheap, "retry_usd")
    people = per_trace(dear, "human_usd") - per_trace(cheap, "human_usd")
    rest = (per_trace(dear, "cost_usd") - per_trace(cheap, "cost_usd")) - retries - people
    biggest = max((retries, "the retries push it to"),
                  (people, "human review pushes it to"),
                  (rest, "more model and tool work pushes it to"))
    return biggest[1]


def _pct(share: str | None) -> str:
    return "n/a" if share is None else f"{Decimal(share) * 100:.0f}%"
