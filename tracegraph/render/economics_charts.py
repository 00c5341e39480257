"""The economics report's charts, one set per workflow, each with a caption in words.

1. cost per successful outcome by segment, against the baseline: bars
   coloured by verdict, whiskers for the 95% interval, the baseline dashed;
2. success rate against spend: the cost deciles as a curve;
3. context growth: median input tokens by the number of model turns.

Captions say what the picture shows in numbers, so a reader who cannot see
the chart (or prints in greyscale) loses nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping, Sequence

from markupsafe import Markup

from . import charts
from .axis_charts import ComparisonBar, PlotPoint, comparison_chart, line_chart
from .economics_tables import SMALL_SAMPLE, verdict
from .formatting import format_count, format_share, format_usd, to_decimal
from .page import CHART_WIDTH, Chart

__all__ = ["MAX_SEGMENT_BARS", "baseline_hint", "workflow_charts"]

MAX_SEGMENT_BARS = 25
"""Segments drawn in the comparison chart; every segment is in the table."""


def baseline_hint(name: str | None) -> str:
    """How to configure the baseline a workflow lacks, in one sentence."""
    return (f"No baseline is configured for this workflow, so there is nothing to compare "
            f"the agent with: set baseline_usd (and baseline_label) under "
            f"[workflows.{name or 'NAME'}] in tracegraph.toml to compare with people or a BPO.")


def workflow_charts(workflow: Mapping[str, Any], *, key: str) -> tuple[Chart, ...]:
    """The three charts of one workflow; ``key`` keeps their ids apart from other workflows'."""
    return (_cost_per_success(workflow, key=f"{key}-cost-per-success"),
            _success_by_spend(workflow, key=f"{key}-success-by-spend"),
            _context_growth(workflow, key=f"{key}-context-growth"))


def _cost_per_success(workflow: Mapping[str, Any], *, key: str) -> Chart:
    unit = str(workflow.get("unit") or "successful outcome")
    baseline = workflow.get("baseline_usd")
    label = str(workflow.get("baseline_label") or "baseline")
    segments: Sequence[Mapping[str, Any]] = workflow.get("segments") or []
    bars = []
    for segment in segments[:MAX_SEGMENT_BARS]:
        name = str(segment.get("label") or segment.get("key")) if segment.get("key") \
            else "All traces"
        if segment.get("small_sample"):
            name += f" ({SMALL_SAMPLE})"
        interval = segment.get("cost_per_success_interval")
        bars.append(ComparisonBar(
            name, segment.get("cost_per_success_usd"),
            interval=(interval[0], interval[1]) if interval else None,
            tone=verdict(segment, has_baseline=baseline is not None)[1],
            missing="no successful outcome" if segment.get("traces") else "no traces"))
    legend = {"good": f"Cheaper than the {label}", "bad": f"More expensive than the {label}",
              "unsure": "Inconclusive"} if baseline is not None else None
    svg = comparison_chart(bars, title=f"Cost per {unit}, by segment", reference=baseline,
                           reference_label=label, x_label=f"Cost per {unit}: all spend "
                           "\u00f7 successful outcomes", legend=legend, width=CHART_WIDTH,
                           empty="No segments to compare.")
    caption = ("Bars: what one successful outcome costs, failures and people included; "
               "whiskers: its 95% interval.")
    if baseline is None:
        caption += " " + baseline_hint(workflow.get("workflow"))
    else:
        caption += (f" Dashed line: the {label}, {format_usd(baseline)} per {unit}. A segment "
                    "is cheaper or more expensive only when its whole interval lies on one side;"
                    " otherwise it is inconclusive.")
    if len(segments) > MAX_SEGMENT_BARS:
        caption += (f" The first {MAX_SEGMENT_BARS} of {len(segments)} segments are drawn; "
                    "the table lists them all.")
    return Chart(key, Markup(svg), caption)


def _success_by_spend(workflow: Mapping[str, Any], *, key: str) -> Chart:
    deciles = [d for d in workflow.get("cost_deciles") or []
               if d.get("success_rate") is not None and d.get("mean_cost_usd") is not None]
    segments = workflow.get("segments") or [{}]
    overall = segments[0].get("success_rate")
    points = [PlotPoint(d["mean_cost_usd"], d["success_rate"],
                        f"Decile {d['decile']}, {format_count(int(d['traces']))} traces")
              for d in deciles]
    svg = line_chart(points, title="Success rate against spend per trace",
                     x_label="Mean cost per trace in each tenth of traces",
                     y_label="Success rate", reference=overall,
                     reference_label="Success rate of all traces",
                     series_label="Each tenth of traces, ranked by cost",
                     width=CHART_WIDTH, empty="No traces to rank by cost.")
    caption = ("Traces ranked by cost and cut into ten equal groups: each point is one group's "
               "mean cost per trace and its success rate. A rising curve means spending more "
               "buys outcomes; a flat or falling one means the dearer traces are retries and "
               "dead ends.")
    if len(deciles) >= 2:
        caption += (f" The cheapest tenth succeed {format_share(deciles[0]['success_rate'])} at "
                    f"{format_usd(deciles[0]['mean_cost_usd'])} a trace, the costliest tenth "
                    f"{format_share(deciles[-1]['success_rate'])} at "
                    f"{format_usd(deciles[-1]['mean_cost_usd'])}.")
    return Chart(key, Markup(svg), caption)


def _turns(turns: str) -> str:
    return "1 turn" if turns == "1" else f"{turns} turns"


def _context_growth(workflow: Mapping[str, Any], *, key: str) -> Chart:
    growth = workflow.get("context_growth") or []
    svg = charts.bar_chart([(_turns(str(g["turns"])), int(g["median_input_tokens"]))
                            for g in growth], title="Median input tokens by model turns",
                           unit="tokens", sort=False, width=CHART_WIDTH,
                           empty="No model turns recorded.")
    caption = ("Each model turn sends the conversation so far again, so the input a trace pays "
               "for grows faster than its number of turns.")
    first, last = (growth[0], growth[-1]) if len(growth) >= 2 else (None, None)
    if first and last and int(first["median_input_tokens"]):
        ratio = Decimal(int(last["median_input_tokens"])) / int(first["median_input_tokens"])
        caption += (f" From {_turns(str(first['turns']))} to {_turns(str(last['turns']))} the "
                    f"median input grows from {format_count(int(first['median_input_tokens']))} "
                    f"to {format_count(int(last['median_input_tokens']))} tokens "
                    f"({to_decimal(ratio).quantize(Decimal('0.1'))}\u00d7).")
    return Chart(key, Markup(svg), caption)
