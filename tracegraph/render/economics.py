"""The economics report for people: what each business outcome costs, and what to do about it.

Both writers take the document that ``tracegraph report economics --format
json`` prints and nothing else.  Like the waste report, the document is first
turned into one :class:`EconomicsView` of formatted figures, charts and
tables, which the Markdown writer and the HTML template both read.

The page is written for a finance analyst, in the order they ask:

1. **what to do** - the allocation lines, grouped by action, each group
   under a badge (keep with people, give more compute, keep on the agent,
   not enough evidence, cap spend, switch model);
2. **workflows at a glance** - cost per successful unit against the baseline;
3. per workflow: headline cards, the segments table with each verdict, the
   charts (HTML only), then the evidence: model mix, routing, context growth,
   cost deciles and the service's warnings.

Unpriced steps are left out of every dollar figure by the service, never
counted as $0; the page says so at the top and on each workflow they touch.
A workflow without a baseline says how to configure one instead of drawing a
comparison against nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping, Sequence

from .economics_charts import baseline_hint, workflow_charts
from .economics_tables import (context_growth_table, deciles_table, model_mix_table,
                               overview_table, routing_table, segments_table, share_range,
                               signed_usd, total_usd, usd_range, verdict, workflow_cell)
from .formatting import format_count, format_share, format_usd, to_decimal
from .page import Chart, Headline, markdown_inline, moment
from .tables import Cell, Table, code_span, markdown_table, markdown_text
from .templating import environment, stylesheet

__all__ = ["ACTIONS", "AllocationLine", "AllocationGroup", "WorkflowView", "EconomicsView",
           "economics_view", "economics_markdown", "economics_html"]

ACTIONS: dict[str, tuple[str, str]] = {
    "keep_with_people": ("Keep with people", "Above the baseline with 95% confidence: people "
                         "or the BPO deliver these outcomes for less."),
    "more_compute": ("Give more compute", "Cheaper than the baseline, and the dearer traces "
                     "succeed clearly more often: spending more per trace buys outcomes."),
    "keep_on_agent": ("Keep on the agent", "Cheaper than the baseline with 95% confidence."),
    "insufficient_evidence": ("Not enough evidence", "The 95% interval of cost per success "
                              "contains the baseline: more traces are needed to decide."),
    "cap": ("Cap spend", "Retries, or a few very costly traces, take a large share of spend."),
    "switch_model": ("Switch model", "A cheaper model succeeded as often for the same purpose."),
}
"""Allocation actions in the order the page lists them: badge text and what it means."""

_TITLE = "Unit economics"
_NOTHING = ("Nothing analysed: no traces match these filters, so there is no cost per outcome "
            "to report. Import traces, or widen the workflow filter.")


@dataclass(frozen=True)
class AllocationLine:
    """One recommendation: its workflow, its sentence, and the evidence listed under it."""

    workflow: Cell
    text: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class AllocationGroup:
    """The lines of one action; ``action`` is a known key (a CSS class) or ``other``."""

    action: str
    badge: str
    meaning: str
    lines: tuple[AllocationLine, ...]


@dataclass(frozen=True)
class WorkflowView:
    """One workflow's section: its settings, figures, segments, charts and evidence."""

    key: str
    name: Cell
    facts: tuple[tuple[str, Cell], ...]
    unpriced_warning: str | None
    baseline_hint: str | None
    headlines: tuple[Headline, ...]
    segments: Table
    charts: tuple[Chart, ...]
    tables: tuple[Table, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class EconomicsView:
    """Everything the report says, formatted, in the order it says it."""

    title: str
    scope: tuple[tuple[str, Cell], ...]
    unpriced_warning: str | None
    allocation: tuple[AllocationGroup, ...]
    overview: Table
    workflows: tuple[WorkflowView, ...]
    analyzer_version: str
    generated_at: Cell

    @property
    def nothing_analysed(self) -> bool:
        """True when no workflow has a trace: nothing to chart or tabulate."""
        return not self.workflows


def economics_markdown(report: Mapping[str, Any]) -> str:
    """The economics report as GitHub-flavoured Markdown: the same figures and tables, no charts."""
    view = economics_view(report)
    lines = [f"# {view.title}", "",
             " · ".join(f"**{name}:** {markdown_inline(cell)}" for name, cell in view.scope), ""]
    if view.unpriced_warning:
        lines += [f"> **Warning:** {view.unpriced_warning}", ""]
    if view.nothing_analysed:
        lines += [_NOTHING, ""]
    else:
        lines += ["## What to do", ""]
        for group in view.allocation:
            badge = markdown_text(group.badge)
            lines += [f"### {badge} ({len(group.lines)})", "", f"_{group.meaning}_", ""]
            for line in group.lines:
                lines.append(f"- **{badge}** · {markdown_inline(line.workflow)}: "
                             f"{markdown_text(line.text)}")
                lines += [f"  - {markdown_text(item)}" for item in line.evidence]
            lines.append("")
        if not view.allocation:
            lines += ["_No recommendation: no segment has enough evidence to act on._", ""]
        lines += [markdown_table(view.overview), ""]
        for workflow in view.workflows:
            lines += _workflow_markdown(workflow)
    lines += ["---", "", f"Analyzer {code_span(view.analyzer_version)} · generated "
              f"{markdown_inline(view.generated_at)} · dollar figures rounded; unpriced steps "
              "are never counted as $0.", ""]
    return "\n".join(lines)


def _workflow_markdown(workflow: WorkflowView) -> list[str]:
    lines = [f"## Workflow {markdown_inline(workflow.name)}", "",
             " · ".join(f"**{name}:** {markdown_inline(cell)}" for name, cell in workflow.facts),
             ""]
    if workflow.unpriced_warning:
        lines += [f"> **Warning:** {workflow.unpriced_warning}", ""]
    if workflow.baseline_hint:
        lines += [f"> **No baseline:** {markdown_text(workflow.baseline_hint)}", ""]
    lines += ["| Measure | Value | In context |", "|---|---:|---|"]
    lines += [f"| {markdown_text(h.label)} | {markdown_text(h.value)} | {markdown_text(h.detail)} |"
              for h in workflow.headlines]
    for table in (workflow.segments, *workflow.tables):
        lines += ["", markdown_table(table, level=3)]
    lines += ["", "### Warnings", ""]
    lines += [f"- {markdown_text(w)}" for w in workflow.warnings] or ["_None._"]
    return lines + [""]


def economics_html(report: Mapping[str, Any]) -> str:
    """The economics report as one self-contained HTML page: inline CSS and SVG, nothing fetched."""
    view = economics_view(report, with_charts=True)
    template = environment().get_template("economics.html")
    return template.render(view=view, stylesheet=stylesheet(), nothing=_NOTHING)


def economics_view(report: Mapping[str, Any], *, with_charts: bool = False) -> EconomicsView:
    """Format an economics document for display; charts only when asked (they cost time)."""
    workflows: Sequence[Mapping[str, Any]] = [
        w for w in report.get("workflows") or [] if (w.get("segments") or [{}])[0].get("traces")]
    chosen = report.get("workflow")
    by = [str(attribute) for attribute in report.get("by") or []]
    traces = sum(int(w["segments"][0]["traces"]) for w in workflows)
    unpriced = {w.get("workflow"): int(w["segments"][0].get("unpriced_steps") or 0)
                for w in workflows}
    return EconomicsView(
        title=_TITLE + (f": {chosen}" if chosen else ""),
        scope=(("Workflows", Cell(chosen, code=True) if chosen else Cell("all")),
               ("Segmented by", Cell(", ".join(by), code=True) if by
                else Cell("each workflow's configured segments")),
               ("Traces", Cell(format_count(traces))),
               ("Spend", Cell(format_usd(total_usd(workflows)))),
               ("Settings", Cell(str(report["config"]), code=True) if report.get("config")
                else Cell("no tracegraph.toml (no baselines)"))),
        unpriced_warning=_unpriced_warning(sum(unpriced.values()),
                                           [name for name, n in unpriced.items() if n]),
        allocation=_allocation(report.get("allocation") or []),
        overview=overview_table(workflows),
        workflows=tuple(_workflow_view(w, index, with_charts=with_charts)
                        for index, w in enumerate(workflows, start=1)),
        analyzer_version=str(report.get("analyzer_version") or "unknown"),
        generated_at=moment(report.get("generated_at")),
    )


def _unpriced_warning(steps: int, workflows: Sequence[str | None] = ()) -> str | None:
    if not steps:
        return None
    counted = "1 step has" if steps == 1 else f"{format_count(steps)} steps have"
    where = (" (in " + ", ".join(w or "traces without a workflow" for w in workflows) + ")"
             if workflows else "")
    return (f"{counted} no price{where}. They are left out of every dollar figure, not counted "
            "as $0, so each cost here is a lower bound and a verdict of \u201ccheaper\u201d may "
            "not hold. Price their tools and models in tracegraph.toml and render the report "
            "again.")


def _allocation(lines: Sequence[Mapping[str, Any]]) -> tuple[AllocationGroup, ...]:
    grouped: dict[str, list[AllocationLine]] = {}
    for line in lines:
        action = str(line.get("action") or "other")
        grouped.setdefault(action, []).append(AllocationLine(
            workflow_cell(line.get("workflow")), *_split_evidence(line)))
    order = [a for a in ACTIONS if a in grouped] + [a for a in grouped if a not in ACTIONS]
    return tuple(AllocationGroup(
        action if action in ACTIONS else "other",
        ACTIONS[action][0] if action in ACTIONS else action.replace("_", " ").capitalize(),
        ACTIONS[action][1] if action in ACTIONS else "", tuple(grouped[action]))
        for action in order)


def _split_evidence(line: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """The line's text without its workflow prefix, and a routing line's evidence apart.

    The evidence is split off only when the text ends with exactly the
    evidence of its routes; otherwise the text is kept whole.
    """
    text = str(line.get("text") or "")
    name = line.get("workflow")
    if name and text.startswith(f"{name}: "):  # the workflow is shown beside the line
        text = text[len(name) + 2:]
    routes = (line.get("figures") or {}).get("routes") or []
    evidence = tuple(str(r.get("evidence")) for r in routes if r.get("evidence"))
    suffix = "; " + "; ".join(evidence)
    if evidence and text.endswith(suffix):
        return text[:-len(suffix)], evidence
    return text, ()


def _workflow_view(workflow: Mapping[str, Any], index: int, *,
                   with_charts: bool) -> WorkflowView:
    key = f"workflow-{index}"
    name = workflow.get("workflow")
    overall = workflow["segments"][0]
    unit = str(workflow.get("unit") or "successful outcome")
    baseline = workflow.get("baseline_usd")
    label = str(workflow.get("baseline_label") or "baseline")
    attributes = [str(a) for a in workflow.get("by") or []]
    return WorkflowView(
        key=key, name=workflow_cell(name),
        facts=(("Unit", Cell(unit)),
               ("Value", Cell("not set") if workflow.get("value_usd") is None
                else Cell(f"{format_usd(workflow['value_usd'])} per {unit}")),
               ("Baseline", Cell("not set") if baseline is None
                else Cell(("" if label == "baseline" else f"{label} ")
                          + f"{format_usd(baseline)} per {unit}")),
               ("Segments", Cell(", ".join(attributes), code=True) if attributes
                else Cell("none configured"))),
        unpriced_warning=_unpriced_warning(int(overall.get("unpriced_steps") or 0)),
        baseline_hint=baseline_hint(name) if baseline is None else None,
        headlines=_headlines(workflow, overall, unit=unit, label=label),
        segments=segments_table(workflow, key=f"{key}-segments"),
        charts=workflow_charts(workflow, key=key) if with_charts else (),
        tables=(model_mix_table(workflow.get("model_mix") or [], key=f"{key}-model-mix"),
                routing_table(workflow.get("routing") or [], key=f"{key}-routing"),
                context_growth_table(workflow.get("context_growth") or [],
                                     key=f"{key}-context-growth"),
                deciles_table(workflow.get("cost_deciles") or [], key=f"{key}-deciles")),
        warnings=tuple(str(w) for w in workflow.get("warnings") or []),
    )


def _headlines(workflow: Mapping[str, Any], overall: Mapping[str, Any], *, unit: str,
               label: str) -> tuple[Headline, ...]:
    cost, traces = overall.get("cost_usd"), int(overall.get("traces") or 0)
    per_success, per_trace = overall.get("cost_per_success_usd"), overall.get("cost_per_trace_usd")
    unpriced = int(overall.get("unpriced_steps") or 0)
    minutes = to_decimal(overall.get("human_minutes") or "0")
    human = overall.get("human_usd")
    human_share = None if not cost or not to_decimal(cost) or human is None \
        else to_decimal(human) / to_decimal(cost)
    return (
        Headline(f"Cost per {unit}", format_usd(per_success) if per_success is not None
                 else "no successes",
                 (f"95% interval {usd_range(overall.get('cost_per_success_interval'))}; "
                  f"{format_usd(per_trace)} per trace") if per_success is not None else
                 f"no successful outcome in {format_count(traces)} traces: the "
                 f"{format_usd(cost)} spent bought nothing",
                 exact=None if per_success is None else f"${per_success}",
                 warning=per_success is None),
        _baseline_headline(workflow, overall, unit=unit, label=label),
        Headline("Success rate", format_share(overall.get("success_rate")),
                 f"95% interval {share_range(overall.get('success_interval'))}; "
                 f"{format_share(overall.get('first_try_rate'))} on the first try"),
        Headline("Retry tax", format_share(overall.get("retry_tax_share")),
                 f"{format_usd(overall.get('retry_usd'))} on attempts that failed and were "
                 "retried"),
        Headline("Human review", f"{(minutes / 60).quantize(Decimal('0.1'))} h" if minutes
                 else "none",
                 f"{format_count(int(minutes))} minutes costing {format_usd(human)}, "
                 f"{format_share(human_share)} of spend" if minutes else
                 "no human minutes recorded"),
        Headline("Value per $1", format_usd(overall["value_per_dollar"])
                 if overall.get("value_per_dollar") is not None else "n/a",
                 f"at {format_usd(workflow['value_usd'])} per {unit}: "
                 f"{format_usd(overall.get('value_usd'))} of value in all"
                 if workflow.get("value_usd") is not None else
                 "set value_usd for this workflow in tracegraph.toml to weigh value"),
        Headline("Spend", format_usd(cost),
                 f"over {format_count(traces)} traces"
                 + (f"; a lower bound: {format_count(unpriced)} steps unpriced" if unpriced
                    else ""), exact=None if cost is None else f"${cost}",
                 warning=unpriced > 0),
        Headline("Long tail", format_share(overall.get("tail_share")),
                 f"of spend in the costliest 5% of traces; p50 {format_usd(overall.get('p50_usd'))}"
                 f" · p90 {format_usd(overall.get('p90_usd'))} · "
                 f"p99 {format_usd(overall.get('p99_usd'))}"),
    )


def _baseline_headline(workflow: Mapping[str, Any], overall: Mapping[str, Any], *, unit: str,
                       label: str) -> Headline:
    baseline = workflow.get("baseline_usd")
    if baseline is None:
        return Headline("Baseline", "not set", "set baseline_usd for this workflow in "
                        "tracegraph.toml to compare with people or a BPO", warning=True)
    word, tone = verdict(overall, has_baseline=True)
    margin = overall.get("margin_per_unit_usd")
    why = {"good": "its whole 95% interval lies below", "bad": "its whole 95% interval lies "
           "above", "unsure": "its 95% interval contains it"}.get(tone, "")
    if not overall.get("successes"):
        why = "no successful outcome: every dollar bought nothing"
    parts = [why] if why else []
    if margin is not None:
        parts.append(f"margin {signed_usd(margin)} per {unit}")
    even = overall.get("break_even_success_rate")
    if even is not None:
        parts.append(f"breaks even at {format_share(even)} success" if to_decimal(even) <= 1
                     else "not even 100% success would break even")
    return Headline(f"Against the {label} {format_usd(baseline)}", word.capitalize(),
                    "; ".join(parts), exact=overall.get("verdict"), tone=tone)
