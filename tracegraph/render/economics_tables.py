"""The economics report's tables: segments, workflows at a glance, and the evidence.

Kept apart from :mod:`.economics` (the page around them) because this is
where the document's fields meet the reader's words.  Segment labels,
attribute values, workflow and model names are user data and become
``code`` cells, so both writers keep them literal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping, Sequence

from .formatting import Amount, format_count, format_share, format_usd, to_decimal
from .tables import Cell, Column, Table
from .waste_tables import NO_WORKFLOW

__all__ = ["SMALL_SAMPLE", "verdict", "signed_usd", "usd_range", "share_range",
           "workflow_cell", "segment_cell", "overview_table", "segments_table",
           "model_mix_table", "routing_table", "context_growth_table", "deciles_table",
           "total_usd"]

SMALL_SAMPLE = "small sample"


def _usd(value: Amount | None) -> Cell:
    return Cell(format_usd(value), exact=None if value is None else f"${value}")


def signed_usd(value: Amount | None) -> str:
    """A difference in dollars with its sign: ``+$0.56``, ``-$2.39``, ``n/a``."""
    if value is None:
        return format_usd(None)
    return format_usd(value) if to_decimal(value) < 0 else "+" + format_usd(value)


def usd_range(pair: Sequence[Amount] | None) -> str:
    """An interval of dollars as ``$1.08–$1.47``; ``n/a`` when there is none."""
    if not pair:
        return format_usd(None)
    return f"{format_usd(pair[0])}\u2013{format_usd(pair[1])}"


def share_range(pair: Sequence[Amount] | None) -> str:
    """An interval of shares as ``89.2%–92.0%``; ``n/a`` when there is none."""
    if not pair:
        return format_share(None)
    return f"{format_share(pair[0])}\u2013{format_share(pair[1])}"


def verdict(segment: Mapping[str, Any], *, has_baseline: bool) -> tuple[str, str]:
    """The verdict in a word or two and its tone (``good``, ``bad``, ``unsure`` or none)."""
    if not has_baseline:
        return "no baseline", ""
    if not segment.get("traces"):
        return "no traces", ""
    cheaper = segment.get("cheaper_than_baseline")
    if cheaper is True:
        return "cheaper", "good"
    if cheaper is False:
        return ("more expensive" if segment.get("successes") else "no successes"), "bad"
    return "inconclusive", "unsure"


def workflow_cell(name: str | None) -> Cell:
    return Cell(name, code=True) if name else Cell(NO_WORKFLOW)


def segment_cell(segment: Mapping[str, Any], *, badge: bool = True) -> Cell:
    """The segment's name (``claim.type=auto``) as code; the whole workflow in words."""
    flag = SMALL_SAMPLE if badge and segment.get("small_sample") else ""
    if not segment.get("key"):
        return Cell("All traces", badge=flag)
    label = str(segment.get("label") or segment["key"])
    # One attribute a line in HTML (pre-line); Markdown folds the break back to a space.
    return Cell(label.replace(", ", ",\n"), code=True, badge=flag)


def _overall(workflow: Mapping[str, Any]) -> Mapping[str, Any]:
    segments = workflow.get("segments") or []
    return segments[0] if segments else {}


def overview_table(workflows: Sequence[Mapping[str, Any]]) -> Table:
    """One row per workflow: what a successful unit costs and what finance compares it with."""
    rows = []
    for workflow in workflows:
        overall = _overall(workflow)
        baseline = workflow.get("baseline_usd")
        word, tone = verdict(overall, has_baseline=baseline is not None)
        rows.append((
            workflow_cell(workflow.get("workflow")),
            Cell(format_count(int(overall.get("traces") or 0))),
            Cell(format_share(overall.get("success_rate"))),
            _usd(overall.get("cost_usd")),
            Cell(_per_success_text(overall), exact=_exact(overall.get("cost_per_success_usd"))),
            Cell(str(workflow.get("unit") or "successful outcome")),
            Cell("not set") if baseline is None else Cell(
                _baseline_text(baseline, workflow.get("baseline_label"))),
            Cell(word, exact=overall.get("verdict"), tone=tone),
            Cell(_value_per_dollar(overall.get("value_per_dollar"))),
        ))
    return Table("overview", "Workflows at a glance",
                 (Column("Workflow"), Column("Traces", True), Column("Success", True),
                  Column("Spend", True), Column("Cost per success", True), Column("Unit"),
                  Column("Baseline"), Column("Verdict"), Column("Value per $1", True)),
                 tuple(rows), empty="No workflows.", compact=True,
                 note="Cost per success is all spend, failures and people included, divided "
                      "by the successful outcomes.")


def _baseline_text(baseline: Amount, label: str | None) -> str:
    if not label or label == "baseline":
        return format_usd(baseline)
    return f"{format_usd(baseline)} ({label})"


def _exact(value: Amount | None) -> str | None:
    return None if value is None else f"${value}"


def _per_success_text(segment: Mapping[str, Any]) -> str:
    if segment.get("cost_per_success_usd") is None:
        return "no successes" if segment.get("traces") else "no traces"
    return format_usd(segment["cost_per_success_usd"])


def _value_per_dollar(value: Amount | None) -> str:
    return "n/a" if value is None else format_usd(value)


def segments_table(workflow: Mapping[str, Any], *, key: str) -> Table:
    """Every segment of a workflow, the whole of it first, with its verdict against the baseline.

    Without a baseline the margin and verdict columns are left out: there is
    nothing to compare with, and the page says how to configure one.
    """
    has_baseline = workflow.get("baseline_usd") is not None
    unit = str(workflow.get("unit") or "successful outcome")
    segments = workflow.get("segments") or []
    rows = []
    for segment in segments:
        word, tone = verdict(segment, has_baseline=has_baseline)
        cells = [
            segment_cell(segment),
            Cell(format_count(int(segment.get("traces") or 0))),
            Cell(format_share(segment.get("success_rate"))),
            Cell(format_share(segment.get("first_try_rate"))),
            Cell(_per_success_text(segment), exact=_exact(segment.get("cost_per_success_usd"))),
            Cell(usd_range(segment.get("cost_per_success_interval"))),
            Cell(signed_usd(segment.get("margin_per_unit_usd")),
                 exact=_exact(segment.get("margin_per_unit_usd"))),
            Cell(format_share(segment.get("retry_tax_share"))),
            _usd(segment.get("p90_usd")),
            Cell(word, exact=segment.get("verdict"), tone=tone),
        ]
        rows.append(tuple(cells if has_baseline else cells[:6] + cells[7:9]))
    columns = [Column("Segment"), Column("Traces", True), Column("Success", True),
               Column("First try", True), Column(f"Cost per {unit}", True),
               Column("95% interval", True), Column("Margin vs baseline", True),
               Column("Retry tax", True), Column("p90 per trace", True), Column("Verdict")]
    small = any(segment.get("small_sample") for segment in segments)
    footnote = ("Margin: the baseline minus the cost per success; positive when the agent is "
                "cheaper." if has_baseline else "No baseline configured, so no margin or "
                "verdict.")
    if small:
        footnote += (" Segments marked \u201csmall sample\u201d have fewer than 30 traces: read "
                     "them as a hint, not a finding.")
    return Table(key, "Segments", tuple(columns if has_baseline else columns[:6] + columns[7:9]),
                 tuple(rows), empty="No segments.", compact=True,
                 note="Cost per success counts what failures cost too. A verdict is "
                      "\u201ccheaper\u201d or \u201cmore expensive\u201d only when the whole "
                      "95% interval lies on one side of the baseline.", footnote=footnote)


def model_mix_table(mix: Sequence[Mapping[str, Any]], *, key: str) -> Table:
    rows = tuple((Cell(str(m["model"]), code=True), Cell(format_count(int(m["calls"]))),
                  _usd(m.get("usd")), Cell(format_share(m.get("share")))) for m in mix)
    return Table(key, "Model mix", (Column("Model"), Column("Calls", True),
                                    Column("Spend", True), Column("Share of model spend", True)),
                 rows, empty="No model calls.", note="What the workflow's model calls cost, "
                 "by model.")


def routing_table(routes: Sequence[Mapping[str, Any]], *, key: str) -> Table:
    rows = []
    for route in routes:
        dear, cheap = route.get("from") or {}, route.get("to") or {}
        rows.append((
            Cell(str(route.get("purpose")), code=True),
            Cell(str(dear.get("model")), code=True),
            Cell(f"{format_share(dear.get('success_rate'))} of "
                 f"{format_count(int(dear.get('traces') or 0))}"),
            Cell(str(cheap.get("model")), code=True),
            Cell(f"{format_share(cheap.get('success_rate'))} of "
                 f"{format_count(int(cheap.get('traces') or 0))}"),
            Cell(f"{format_usd(dear.get('mean_cost_usd'))} \u2192 "
                 f"{format_usd(cheap.get('mean_cost_usd'))}"),
            _usd(route.get("saving_usd")),
        ))
    return Table(key, "Routing evidence",
                 (Column("Purpose"), Column("From model"), Column("Success (traces)", True),
                  Column("To model"), Column("Success (traces)", True),
                  Column("Per call", True), Column("Saving on this volume", True)),
                 tuple(rows), compact=True,
                 note="Model calls for the same purpose where a cheaper model succeeded as "
                      "often as a dearer one. The saving is what the dearer model's calls "
                      "would have cost at the cheaper one's price per call.",
                 empty="No routing evidence: no cheaper model succeeded as often for the same "
                       "purpose, or too few traces to compare.")


def context_growth_table(growth: Sequence[Mapping[str, Any]], *, key: str) -> Table:
    rows = tuple((Cell(str(g["turns"])), Cell(format_count(int(g["traces"]))),
                  Cell(format_count(int(g["median_input_tokens"]))),
                  Cell("n/a" if g.get("input_tokens_per_turn") is None
                       else format_count(int(g["input_tokens_per_turn"]))),
                  _usd(g.get("mean_cost_usd"))) for g in growth)
    return Table(key, "Context growth",
                 (Column("Model turns"), Column("Traces", True),
                  Column("Median input tokens", True), Column("Per turn", True),
                  Column("Mean cost per trace", True)), rows,
                 note="Each turn sends the history again, so input tokens grow faster than "
                      "turns: long conversations are where tokens go.",
                 empty="No model turns recorded.")


def deciles_table(deciles: Sequence[Mapping[str, Any]], *, key: str) -> Table:
    rows = tuple((Cell(str(d["decile"])), Cell(format_count(int(d["traces"]))),
                  _usd(d.get("mean_cost_usd")), Cell(format_share(d.get("success_rate"))),
                  Cell(format_share(d.get("retry_share")))) for d in deciles)
    return Table(key, "Cost deciles",
                 (Column("Decile (1 = cheapest)"), Column("Traces", True),
                  Column("Mean cost per trace", True), Column("Success", True),
                  Column("Retry share of spend", True)), rows,
                 note="Traces ranked by cost in ten equal groups: whether spending more buys "
                      "success, or only retries.", empty="No traces.")


def total_usd(workflows: Sequence[Mapping[str, Any]]) -> Decimal:
    """All spend across the workflows (their whole-workflow segments)."""
    return sum((to_decimal(_overall(w).get("cost_usd") or "0") for w in workflows), Decimal(0))
