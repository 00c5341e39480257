"""The wasted-spend report for people: Markdown for a pull request, HTML for everyone else.

Both take the document that ``tracegraph report waste --format json`` prints
and nothing else, so a saved JSON file renders exactly as a live store does.
The document is first turned into one :class:`WasteView` of formatted
figures, charts and :class:`~.tables.Table` values; the Markdown writer and
the HTML template both read that view, so the two formats say the same thing
(the HTML adds the charts).

Money arrives as exact decimal strings and is only rounded for display
(:mod:`.formatting`); the HTML keeps the exact figure in a tooltip.  Sections
that a document leaves out or leaves empty are shown as "none", never as an
empty table, and a report over zero traces says plainly that nothing was
analysed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from markupsafe import Markup

from . import charts
from .formatting import Amount, format_count, format_share, format_usd
from .page import CHART_WIDTH, Chart, Headline, markdown_inline, moment
from .tables import Cell, Table, code_span, markdown_table
from .templating import environment, stylesheet
from .waste_tables import reason_name, waste_tables

__all__ = ["Headline", "Chart", "WasteView", "waste_view", "waste_markdown",
           "waste_html"]

TAIL = "costliest 5% of traces"


@dataclass(frozen=True)
class WasteView:
    """Everything the report says, formatted, in the order it says it."""

    title: str
    traces: int
    workflow: Cell
    period: Cell
    filters: tuple[tuple[str, Cell], ...]
    headlines: tuple[Headline, ...]
    unpriced_warning: str | None
    distribution: tuple[str, ...]
    charts: tuple[Chart, ...]
    tables: tuple[Table, ...]
    analyzer_version: str
    generated_at: Cell

    @property
    def nothing_analysed(self) -> bool:
        """True for a report over zero traces: there is nothing to chart or tabulate."""
        return self.traces == 0


def waste_markdown(report: Mapping[str, Any]) -> str:
    """The waste report as GitHub-flavoured Markdown: the same figures and tables, no charts."""
    view = waste_view(report)
    heading = f"# {_TITLE}" + (f": {code_span(view.workflow.text)}" if view.workflow.code
                               else "")
    lines = [heading, "", f"**Workflow:** {markdown_inline(view.workflow)} · "
             f"**Period:** {markdown_inline(view.period)} · "
             f"**Traces:** {format_count(view.traces)}", ""]
    if view.unpriced_warning:
        lines += [f"> **Warning:** {view.unpriced_warning}", ""]
    if view.nothing_analysed:
        lines += [_NOTHING, ""]
    else:
        lines += ["## Summary", "", "| Measure | Value | In context |", "|---|---:|---|"]
        lines += [f"| {h.label} | {h.value} | {h.detail} |" for h in view.headlines]
        lines += ["", "## Cost per trace", ""]
        lines += [f"- {sentence}" for sentence in view.distribution] or ["_None._"]
        for table in view.tables:
            lines += ["", markdown_table(table)]
        lines.append("")
    filters = "; ".join(f"{name} {markdown_inline(cell)}" for name, cell in view.filters)
    lines += ["---", "", f"Filters: {filters} · analyzer {code_span(view.analyzer_version)} · "
              f"generated {markdown_inline(view.generated_at)}", ""]
    return "\n".join(lines)


def waste_html(report: Mapping[str, Any]) -> str:
    """The waste report as one self-contained HTML page: inline CSS and SVG, nothing fetched."""
    view = waste_view(report, with_charts=True)
    template = environment().get_template("waste.html")
    return template.render(view=view, stylesheet=stylesheet(), nothing=_NOTHING)


_TITLE = "Wasted spend"

_NOTHING = ("Nothing analysed: no traces match these filters, so there is no spend to "
            "report. Import traces, or widen the workflow or date range.")


def waste_view(report: Mapping[str, Any], *, with_charts: bool = False) -> WasteView:
    """Format a waste report document for display; charts only when asked (they cost time)."""
    traces = int(report["traces"])
    workflow = report.get("workflow")
    since, until = report.get("since"), report.get("until")
    analysed = traces > 0
    workflow_cell = Cell(workflow, code=True) if workflow else Cell("all workflows")
    return WasteView(
        title=_TITLE + (f": {workflow}" if workflow else ""),
        traces=traces,
        workflow=workflow_cell,
        period=_period(since, until),
        filters=(("workflow", workflow_cell),
                 ("since", moment(since) if since else Cell("the beginning")),
                 ("until", moment(until) if until else Cell("now"))),
        headlines=_headlines(report),
        unpriced_warning=_unpriced_warning(int(report.get("unpriced_steps") or 0)),
        distribution=_distribution_sentences(report) if analysed else (),
        charts=_charts(report) if with_charts and analysed else (),
        tables=waste_tables(report) if analysed else (),
        analyzer_version=str(report.get("analyzer_version") or "unknown"),
        generated_at=moment(report.get("generated_at")),
    )



def _period(since: str | None, until: str | None) -> Cell:
    """The filter's time range in words; verbatim (as code) if a bound does not parse."""
    start, end = moment(since), moment(until)
    if start.code or end.code:
        return Cell(f"{since or 'the beginning'} to {until or 'now'}", code=True)
    if since and until:
        return Cell(f"{start.text} to {end.text}")
    if since:
        return Cell(f"since {start.text}")
    if until:
        return Cell(f"until {end.text}")
    return Cell("all time")


def _headlines(report: Mapping[str, Any]) -> tuple[Headline, ...]:
    total, wasted = report["total_usd"], report["wasted_usd"]
    traces, steps = int(report["traces"]), report.get("steps")
    unpriced = int(report.get("unpriced_steps") or 0)
    first_try, success = report.get("first_try_success_rate"), report.get("success_rate")
    wasted_share = report.get("wasted_share")
    return (
        Headline("Total spend", format_usd(total),
                 f"over {format_count(traces)} traces"
                 + (f" and {format_count(int(steps))} steps" if steps is not None else ""),
                 exact=f"${total}"),
        Headline("Wasted spend", format_usd(wasted),
                 f"{format_share(wasted_share)} of spend" if wasted_share is not None
                 else "no share: nothing was spent", exact=f"${wasted}"),
        Headline("Retry tax", format_share(report.get("retry_tax")),
                 "of spend went to attempts that failed and were retried"),
        Headline("First-try success", format_share(first_try),
                 f"of traces succeeded without a retry; {format_share(success)} succeeded "
                 "in the end" if success is not None else "of traces succeeded without a retry"),
        Headline("Unpriced steps", format_count(unpriced),
                 "left out of every total, not counted as $0" if unpriced
                 else "every step has a price", warning=unpriced > 0),
    )


def _unpriced_warning(unpriced: int) -> str | None:
    if not unpriced:
        return None
    steps = "1 step has" if unpriced == 1 else f"{format_count(unpriced)} steps have"
    return (f"{steps} no price. They are left out of every dollar figure in this report, "
            "not counted as $0, so real spend is higher than shown. Price their tools and "
            "models in tracegraph.toml and render the report again.")


def _distribution_sentences(report: Mapping[str, Any]) -> tuple[str, ...]:
    distribution = report.get("distribution") or {}
    if not distribution:
        return ()
    sentences = [" · ".join(f"{name} {format_usd(distribution[key])}" for name, key in (
        ("Median (p50)", "p50"), ("p90", "p90"), ("p99", "p99"), ("costliest", "max"))
        if distribution.get(key) is not None)]
    if distribution.get("tail_share") is not None:
        sentences.append(f"The long tail, the {TAIL}, makes "
                         f"{format_share(distribution['tail_share'])} of spend.")
    reached = charts.share_reaching(_pareto_points(distribution), "0.8")
    if reached is not None:
        sentences.append(f"{format_share(reached)} of traces make 80% of spend.")
    return tuple(sentence for sentence in sentences if sentence)


def _pareto_points(distribution: Mapping[str, Any]) -> list[tuple[Amount, Amount]]:
    return [(x, y) for x, y in distribution.get("pareto") or []]


def _charts(report: Mapping[str, Any]) -> tuple[Chart, ...]:
    by_reason = report.get("by_reason") or {}
    distribution = report.get("distribution") or {}
    bins = [charts.HistogramBin(b["low"], b["high"], int(b["traces"]), bool(b.get("tail")))
            for b in distribution.get("histogram") or []]
    markers = {name: distribution[name] for name in ("p50", "p90", "p99")
               if distribution.get(name) is not None}
    tail_share = distribution.get("tail_share")
    return (
        Chart("by-reason", Markup(charts.bar_chart(
            {reason_name(reason): usd for reason, usd in by_reason.items()},
            title="Wasted spend by reason", width=CHART_WIDTH,
            empty="No wasted spend: every priced step moved the outcome.")),
            "Why money was wasted: each step that did not move the outcome, by the first "
            "reason that applies."),
        Chart("distribution", Markup(charts.histogram(
            bins, title="Cost per trace", markers=markers,
            highlight_label="Long tail (costliest 5%)", width=CHART_WIDTH,
            empty="No cost distribution in this report.")),
            "How many traces cost how much. Dashed lines mark the median (p50), p90 and p99"
            + (f"; the long tail makes {format_share(tail_share)} of spend."
               if tail_share is not None else ".")),
        Chart("pareto", Markup(charts.pareto_chart(
            _pareto_points(distribution), title="Share of spend by share of traces",
            width=CHART_WIDTH, empty="No spend to rank traces by.")),
            "Traces sorted costliest first: how much of the spend the costliest traces make. "
            "The further the curve bows above the diagonal, the more a few traces dominate."),
    )
