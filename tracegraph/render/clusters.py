"""The failure clusters report for people: which kinds of failure eat the budget.

Both writers take the document that ``tracegraph clusters --format json``
prints and nothing else.  Like the other reports, the document is first
turned into one :class:`ClustersView` of formatted figures, a chart and
tables, which the Markdown writer and the HTML template both read.

The page answers, in order:

1. **how much failure money is concentrated** - headline cards (clusters,
   failures, traces, money in clusters, the top three clusters' share), how
   the clusters were made, and a prominent warning when only lexical
   features were used (no sentence embeddings, so paraphrases stay apart);
2. **which clusters** - a bar chart of the fifteen costliest (HTML only) and
   a table of every cluster by money;
3. **what each one is** - its id, label, a representative masked signature
   shown literally (placeholders such as ``<id>`` and ``<n>`` included), its
   money, counts, dates, workflows and tools, and its most recent members;
4. **what fits nowhere** - the unclustered failures.

Unpriced failures are left out of every dollar figure by the service, never
counted as $0; the page says so when there are any.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping, Sequence

from markupsafe import Markup

from . import charts
from .clusters_tables import (MEMBERS_SHOWN, cluster_key, members_table, overview_table,
                              unclustered_table, usd_cell)
from .formatting import format_count, format_share, format_usd, to_decimal
from .page import CHART_WIDTH, Chart, Headline, markdown_inline, moment
from .tables import Cell, Table, code_span, markdown_table, markdown_text
from .templating import environment, stylesheet

__all__ = ["CHART_BARS", "TOP_CLUSTERS", "ClusterView", "ClustersView", "clusters_view",
           "clusters_markdown", "clusters_html"]

CHART_BARS = 15
"""Clusters drawn in the cost chart; the table lists every one."""

TOP_CLUSTERS = 3
"""How many of the costliest clusters the concentration card adds up."""

_TITLE = "Failure clusters"
_NO_FAILURES = ("No failures match these filters, so there is nothing to cluster. Import or "
                "analyse traces, or widen the workflow filter or the date range.")
_NO_CLUSTERS = ("No failure clusters: no group of at least {size} similar failures matches "
                "these filters. The failures there are appear under Unclustered failures; "
                "lower --min-size to group them.")


@dataclass(frozen=True)
class ClusterView:
    """One cluster's section: who it is, what it costs, where and when, its members."""

    key: str
    rank: int
    id: str
    label: str
    example: str
    money: tuple[tuple[str, Cell], ...]
    counts: tuple[tuple[str, Cell], ...]
    seen: tuple[tuple[str, Cell], ...]
    places: tuple[tuple[str, Cell], ...]
    members: Table
    shown: int
    failures: int

    @property
    def hidden(self) -> int:
        """Failures of the cluster not listed under it (``clusters show`` lists them)."""
        return max(self.failures - self.shown, 0)

    @property
    def show_command(self) -> str:
        return f"tracegraph clusters show {self.id}"

    @property
    def listing(self) -> tuple[str, str]:
        """What is shown of the members: the words before and after :attr:`show_command`."""
        if not self.shown:
            return "", f"lists all {_failures(self.failures)}."
        return (f"Showing the {format_count(self.shown)} most recent of "
                f"{_failures(self.failures)};", "lists them all.")


@dataclass(frozen=True)
class ClustersView:
    """Everything the report says, formatted, in the order it says it."""

    title: str
    scope: tuple[tuple[str, Cell], ...]
    fallback: str | None
    unpriced_warning: str | None
    headlines: tuple[Headline, ...]
    method: str
    run: str
    charts: tuple[Chart, ...]
    overview: Table
    clusters: tuple[ClusterView, ...]
    unclustered: Table
    nothing: str | None
    analyzer_version: str
    generated_at: Cell


def clusters_markdown(report: Mapping[str, Any]) -> str:
    """The failure clusters report as GitHub-flavoured Markdown: the same figures, no chart."""
    view = clusters_view(report)
    lines = [f"# {markdown_text(view.title)}", "",
             " · ".join(f"**{name}:** {markdown_inline(cell)}" for name, cell in view.scope), ""]
    if view.fallback:
        lines += [f"> **Warning:** {markdown_text(view.fallback)}", ""]
    if view.unpriced_warning:
        lines += [f"> **Warning:** {markdown_text(view.unpriced_warning)}", ""]
    lines += [f"**Method:** {markdown_text(view.method)}", "", markdown_text(view.run), ""]
    if view.nothing:
        lines += [markdown_text(view.nothing), ""]
    else:
        lines += ["## Summary", "", "| Measure | Value | In context |", "|---|---:|---|"]
        lines += [f"| {markdown_text(h.label)} | {markdown_text(h.value)} | "
                  f"{markdown_text(h.detail)} |" for h in view.headlines]
        lines += ["", markdown_table(view.overview), "", "## Clusters", ""]
        for item in view.clusters:
            lines += _cluster_markdown(item)
    lines += [markdown_table(view.unclustered), ""]
    lines += ["---", "", f"Analyzer {code_span(view.analyzer_version)} · generated "
              f"{markdown_inline(view.generated_at)} · dollar figures rounded; unpriced "
              "failures are never counted as $0.", ""]
    return "\n".join(lines)


def _facts_markdown(facts: Sequence[tuple[str, Cell]]) -> str:
    return " · ".join(f"**{markdown_text(name)}:** {markdown_inline(cell)}"
                      for name, cell in facts)


def _cluster_markdown(item: ClusterView) -> list[str]:
    lines = [f"### {item.rank}. {code_span(item.id)} {markdown_text(item.label)}", "",
             f"**Example:** {code_span(item.example)}", ""]
    for facts in (item.money, item.counts, item.seen, item.places):
        lines += [_facts_markdown(facts), ""]
    lines.append(markdown_table(item.members, level=4))
    if item.hidden:
        before, after = item.listing
        sentence = f"{code_span(item.show_command)} {markdown_text(after)}"
        lines += ["", f"_{markdown_text(before)} {sentence}_" if before else f"_{sentence}_"]
    return lines + [""]


def clusters_html(report: Mapping[str, Any]) -> str:
    """The failure clusters report as one self-contained HTML page: inline CSS and SVG."""
    view = clusters_view(report, with_charts=True)
    template = environment().get_template("clusters.html")
    return template.render(view=view, stylesheet=stylesheet())


def clusters_view(report: Mapping[str, Any], *, with_charts: bool = False) -> ClustersView:
    """Format a clusters document for display; the chart only when asked (it costs time)."""
    clusters: Sequence[Mapping[str, Any]] = report.get("clusters") or []
    unclustered: Sequence[Mapping[str, Any]] = report.get("unclustered") or []
    workflow, since = report.get("workflow"), report.get("since")
    min_size = int(report.get("min_size") or 0)
    run: Mapping[str, Any] = report.get("run") or {}
    fallback = run.get("fallback")
    nothing = None
    if not clusters:
        nothing = (_NO_CLUSTERS.format(size=format_count(min_size)) if unclustered
                   else _NO_FAILURES)
    return ClustersView(
        title=_TITLE + (f": {workflow}" if workflow else ""),
        scope=(("Workflow", Cell(str(workflow), code=True) if workflow else Cell("all")),
               ("Since", moment(since) if since else Cell("the beginning")),
               ("Smallest cluster", Cell(_failures(min_size))),
               ("Clusters", Cell(format_count(len(clusters))))),
        fallback=(str(fallback)[:1].upper() + str(fallback)[1:] + ". Paraphrases of one "
                  "failure may stay in separate clusters.") if fallback else None,
        unpriced_warning=_unpriced_warning(sum(int(c.get("unpriced_failures") or 0)
                                               for c in clusters)),
        headlines=_headlines(clusters, unclustered),
        method=str(run.get("method") or "not recorded"),
        run=_run_sentence(report.get("run")),
        charts=(_cost_chart(clusters),) if with_charts and clusters else (),
        overview=overview_table(clusters),
        clusters=tuple(_cluster_view(item, index) for index, item in enumerate(clusters, 1)),
        unclustered=unclustered_table(unclustered, min_size=min_size),
        nothing=nothing,
        analyzer_version=str(report.get("analyzer_version") or "unknown"),
        generated_at=moment(report.get("generated_at")),
    )


def _failures(count: int) -> str:
    return "1 failure" if count == 1 else f"{format_count(count)} failures"


def _total(clusters: Sequence[Mapping[str, Any]], field: str) -> Decimal:
    return sum((to_decimal(c.get(field) or "0") for c in clusters), Decimal(0))


def _headlines(clusters: Sequence[Mapping[str, Any]],
               unclustered: Sequence[Mapping[str, Any]]) -> tuple[Headline, ...]:
    cost, wasted = _total(clusters, "cost_usd"), _total(clusters, "wasted_usd")
    failures = sum(int(c.get("failures") or 0) for c in clusters)
    steps = sum(int(c.get("size") or 0) for c in clusters)
    signatures = sum(int(c.get("signatures") or 0) for c in clusters)
    unpriced = sum(int(c.get("unpriced_failures") or 0) for c in clusters)
    top = clusters[:TOP_CLUSTERS]
    top_cost = _total(top, "cost_usd")
    share = None if cost == 0 else top_cost / cost
    return (
        Headline("Clusters", format_count(len(clusters)),
                 f"from {format_count(signatures)} distinct signatures"),
        Headline("Failures", format_count(failures),
                 f"{format_count(steps)} failed steps and {format_count(failures - steps)} "
                 "failed traces" + (f"; {format_count(len(unclustered))} more listed "
                                    "unclustered" if unclustered else "")),
        Headline("Traces", format_count(sum(int(c.get("traces") or 0) for c in clusters)),
                 "with a failure in a cluster; a trace failing in two clusters counts in both"),
        Headline("Money in clusters", format_usd(cost),
                 f"{format_usd(wasted)} of it wasted"
                 + (f"; a lower bound: {_failures(unpriced)} unpriced" if unpriced else ""),
                 exact=f"${cost}", warning=unpriced > 0),
        Headline(f"Top {TOP_CLUSTERS} clusters", format_share(share),
                 (f"of the money in clusters: {format_usd(top_cost)} in "
                  + ", ".join(str(c["id"]) for c in top)) if share is not None
                 else "no priced failure in any cluster"),
    )


def _unpriced_warning(failures: int) -> str | None:
    if not failures:
        return None
    counted = "1 failure has" if failures == 1 else f"{format_count(failures)} failures have"
    return (f"{counted} no price. They are left out of every dollar figure, not counted as "
            "$0, so each cluster's cost is a lower bound. Price their tools and models in "
            "tracegraph.toml and render the report again.")


def _run_sentence(run: Mapping[str, Any] | None) -> str:
    """What the clustering run before this report did, in a sentence."""
    if not run:
        return "Clusters as last computed: the clustering was not refreshed for this report."
    counted = (f"{format_count(int(run.get('signatures') or 0))} distinct signatures of "
               f"{_failures(int(run.get('failures') or 0))} in the store")
    embedded = int(run.get("embedded") or 0)
    new = f"; {format_count(embedded)} newly embedded" if embedded else ""
    if run.get("incremental"):
        return (f"Updated incrementally: {counted}{new}; "
                f"{format_count(int(run.get('assigned') or 0))} new signatures joined existing "
                f"clusters, {format_count(int(run.get('new_clusters') or 0))} new clusters "
                f"formed ({format_count(int(run.get('clusters') or 0))} in all, before the "
                "size and workflow filters).")
    return (f"Clustered afresh: {counted}{new}; {format_count(int(run.get('clusters') or 0))} "
            f"clusters, {format_count(int(run.get('kept_ids') or 0))} of them keeping the id of "
            "the cluster they mostly overlap.")


def _chart_label(item: Mapping[str, Any]) -> str:
    return f"{item['id']} {item.get('label') or ''}".strip()


def _cost_chart(clusters: Sequence[Mapping[str, Any]]) -> Chart:
    drawn = clusters[:CHART_BARS]
    svg = charts.bar_chart([(_chart_label(c), c.get("cost_usd") or "0") for c in drawn],
                           title="Cost by cluster", width=CHART_WIDTH, max_bars=CHART_BARS,
                           sort=False, label_share=0.5, empty="No failure clusters.")
    caption = ("What each cluster's failures cost: failed steps at their own price, failed "
               "traces at everything they spent.")
    rest = clusters[CHART_BARS:]
    if rest:
        caption += (f" The {len(drawn)} costliest of {len(clusters)} clusters; the other "
                    f"{len(rest)} cost {format_usd(_total(rest, 'cost_usd'))} together.")
    return Chart("by-cluster", Markup(svg), caption)


def _listed(items: Sequence[Any], *, empty: str) -> Cell:
    return Cell(", ".join(str(item) for item in items), code=True) if items else Cell(empty)


def _cluster_view(item: Mapping[str, Any], index: int) -> ClusterView:
    key = cluster_key(index)
    failures = int(item.get("failures") or 0)
    steps = int(item.get("size") or 0)
    unpriced = int(item.get("unpriced_failures") or 0)
    members = members_table(item, key=f"{key}-members")
    return ClusterView(
        key=key, rank=index, id=str(item["id"]), label=str(item.get("label") or ""),
        example=str(item.get("example") or ""),
        money=(("Cost", usd_cell(item.get("cost_usd") or "0")),
               ("Wasted", usd_cell(item.get("wasted_usd") or "0")),
               ("Failed traces' spend", usd_cell(item.get("failed_traces_usd") or "0")),
               ("Unpriced", Cell(_failures(unpriced) if unpriced else "none"))),
        counts=(("Failures", Cell(f"{format_count(failures)} ({format_count(steps)} steps, "
                                  f"{format_count(failures - steps)} traces)")),
                ("Traces", Cell(format_count(int(item.get("traces") or 0)))),
                ("Distinct signatures", Cell(format_count(int(item.get("signatures") or 0))))),
        seen=(("First seen", moment(item.get("first_seen"))),
              ("Last seen", moment(item.get("last_seen")))),
        places=(("Workflows", _listed(item.get("workflows") or [], empty="none recorded")),
                ("Tools", _listed(item.get("tools") or [], empty="none (trace-level failures)"
                                  if steps == 0 else "none recorded"))),
        members=members, shown=min(len(item.get("members") or []), MEMBERS_SHOWN),
        failures=failures,
    )
