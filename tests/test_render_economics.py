"""The economics report rendered for people: Markdown, and one HTML file with charts.

The fixture is a trimmed copy of what ``tracegraph report economics --format
json`` printed for a 5,000-trace synthetic corpus (claims triage against a BPO
contract, invoices with no baseline), plus one small segment; no store or
service runs.
"""

from __future__ import annotations

import copy
import doctest
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tracegraph.render import axis_charts, page, tables
from tracegraph.render.axis_charts import ComparisonBar, PlotPoint, comparison_chart, line_chart
from tracegraph.render.economics import economics_html, economics_markdown, economics_view

from .browser import visit

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script>"
BASELINE_LINE = 'stroke-dasharray="6 4"'


def _segment(label: str, key: dict[str, Any], traces: int, successes: int, *, cost: str,
             per_success: str | None, interval: list[str] | None, margin: str | None,
             cheaper: bool | None, verdict: str, **extra: Any) -> dict[str, Any]:
    """A segment as the service writes it; figures not under test keep realistic values."""
    segment = {
        "key": key, "label": label, "traces": traces, "successes": successes,
        "success_rate": f"{successes / traces:.6f}", "success_interval": ["0.891998", "0.919942"],
        "first_try_rate": "0.497898", "cost_usd": cost, "cost_per_trace_usd": "1.156702144",
        "cost_per_success_usd": per_success, "cost_per_success_interval": interval,
        "retry_usd": "37.23391755", "retry_tax_share": "0.019333", "human_minutes": "1986",
        "human_usd": "1820.500000006", "p50_usd": "0.0489312", "p90_usd": "3.826799667",
        "p99_usd": "22.987883667", "tail_share": "0.635184", "value_usd": "21140",
        "value_per_dollar": "10.98", "margin_per_unit_usd": margin,
        "break_even_success_rate": "0.963918", "cheaper_than_baseline": cheaper,
        "verdict": verdict, "success_by_spend": {"cheaper_half": "0.920673",
                                                 "dearer_half": "0.893157"},
        "small_sample": traces < 30, "unpriced_steps": 0}
    segment.update(extra)
    return segment


DECILES = [(166, "0.006732482", "0.933735", "0.132281"), (167, "0.014657815", "0.940120", "0.090459"),
           (166, "0.022819087", "0.891566", "0.153991"), (167, "0.032596436", "0.892216", "0.144125"),
           (166, "0.043076217", "0.945783", "0.194182"), (167, "0.057761624", "0.916168", "0.150811"),
           (166, "0.078125371", "0.933735", "0.245013"), (167, "0.107883966", "0.892216", "0.298960"),
           (166, "0.817763901", "0.849398", "0.118084"), (167, "10.356772240", "0.874251", "0.004660")]

ROUTE_DECIDE = {
    "purpose": "decide",
    "from": {"model": "anthropic/claude-sonnet-4-20250514", "calls": 1511, "traces": 420,
             "success_rate": "0.895238", "mean_cost_usd": "0.021893240"},
    "to": {"model": "openai/gpt-4o-mini", "calls": 1468, "traces": 424,
           "success_rate": "0.922170", "mean_cost_usd": "0.001051298"},
    "saving_usd": "31.492173",
    "evidence": "decide: openai/gpt-4o-mini succeeded in 92.2% of 424 traces, "
                "anthropic/claude-sonnet-4-20250514 in 89.5% of 420; $0.001051 against "
                "$0.02189 per call"}


def _claims_triage() -> dict[str, Any]:
    return {
        "workflow": "claims-triage", "unit": "claim processed", "value_usd": "14",
        "baseline_usd": "1.20", "baseline_label": "BPO contract",
        "by": ["claim.type", "claim.requires_exception_doc"],
        "segments": [
            _segment("all traces", {}, 1665, 1510, cost="1925.909068946",
                     per_success="1.275436470", interval=["1.0782", "1.4727"],
                     margin="-0.075436470", cheaper=None,
                     verdict="inconclusive: the 95% interval $1.08-$1.47 contains the "
                             "baseline $1.20"),
            _segment("claim.requires_exception_doc=false", {"claim.requires_exception_doc": False},
                     1264, 1184, cost="757.182340685", per_success="0.639512112",
                     interval=["0.4817", "0.7973"], margin="0.560487888", cheaper=True,
                     verdict="cheaper than baseline"),
            _segment("claim.requires_exception_doc=true", {"claim.requires_exception_doc": True},
                     401, 326, cost="1168.726728261", per_success="3.585051314",
                     interval=["2.9095", "4.2606"], margin="-2.385051314", cheaper=False,
                     verdict="more expensive than baseline", first_try_rate="0.000000"),
            _segment("claim.type=glass, claim.requires_exception_doc=true",
                     {"claim.type": "glass", "claim.requires_exception_doc": True}, 9, 7,
                     cost="21.5", per_success="3.071428571", interval=["0.9", "6.1"],
                     margin="-1.871428571", cheaper=None,
                     verdict="inconclusive: the 95% interval $0.90-$6.10 contains the "
                             "baseline $1.20"),
        ],
        "cost_deciles": [{"decile": index, "traces": traces, "mean_cost_usd": mean,
                          "success_rate": rate, "retry_share": retry}
                         for index, (traces, mean, rate, retry) in enumerate(DECILES, start=1)],
        "context_growth": [
            {"turns": turns, "traces": traces, "median_input_tokens": tokens,
             "input_tokens_per_turn": per_turn, "mean_cost_usd": mean}
            for turns, traces, tokens, per_turn, mean in (
                ("2", 310, 11001, 5500, "0.550764415"), ("3", 371, 16522, 5507, "0.597706099"),
                ("5-6", 273, 31036, 6207, "1.679525582"), ("15+", 5, 117415, 7828, "1.30617307"))],
        "model_mix": [
            {"model": "anthropic/claude-sonnet-4-20250514", "calls": 1931, "usd": "40.8380418",
             "share": "0.500386"},
            {"model": "openai/gpt-4o-mini", "calls": 1892, "usd": "1.92709800",
             "share": "0.023613"}],
        "routing": [ROUTE_DECIDE],
        "warnings": [],
    }


def _invoices() -> dict[str, Any]:
    """A workflow with neither a value nor a baseline configured."""
    overall = _segment("all traces", {}, 1688, 1583, cost="754.507710853",
                       per_success="0.476631529", interval=["0.3769", "0.5764"], margin=None,
                       cheaper=None, verdict="no baseline configured", value_usd=None,
                       value_per_dollar=None, break_even_success_rate=None)
    return {
        "workflow": "invoice-processing", "unit": "successful outcome", "value_usd": None,
        "baseline_usd": None, "baseline_label": "baseline", "by": [], "segments": [overall],
        "cost_deciles": [
            {"decile": 1, "traces": 168, "mean_cost_usd": "0.003818743",
             "success_rate": "0.940476", "retry_share": "0.100796"},
            {"decile": 2, "traces": 169, "mean_cost_usd": "0.013500254",
             "success_rate": "0.958580", "retry_share": "0.062484"}],
        "context_growth": [{"turns": "2", "traces": 407, "median_input_tokens": 10682,
                            "input_tokens_per_turn": 5341, "mean_cost_usd": "0.401040758"}],
        "model_mix": [], "routing": [],
        "warnings": ["no baseline for invoice-processing: set baseline_usd in "
                     "[workflows.invoice-processing] of tracegraph.toml to compare with people "
                     "or a BPO"],
    }


def sample_report() -> dict[str, Any]:
    return {
        "generated_at": "2026-11-29T11:59:43+00:00", "analyzer_version": "6+0b9799c9da95",
        "config": "/srv/tracegraph.toml", "workflow": None, "by": [],
        "workflows": [_claims_triage(), _invoices()],
        "allocation": [
            {"workflow": "claims-triage", "segment": {"claim.requires_exception_doc": True},
             "action": "keep_with_people",
             "text": "claims-triage: $0.6395 per claim processed with the agent against $1.20 "
                     "by BPO contract when claim.requires_exception_doc=false, but when "
                     "claim.requires_exception_doc=true human review pushes it to $3.59: keep "
                     "those with people", "figures": {}},
            {"workflow": "claims-triage", "segment": {}, "action": "cap",
             "text": "claims-triage: the costliest 5% of traces take 64% of spend: cap spend "
                     "per trace near its p90 of $3.83 and look at those traces", "figures": {}},
            {"workflow": "claims-triage", "segment": {}, "action": "insufficient_evidence",
             "text": "claims-triage: inconclusive: the 95% interval $1.08-$1.47 contains the "
                     "baseline $1.20", "figures": {}},
            {"workflow": "claims-triage", "segment": {}, "action": "switch_model",
             "text": "claims-triage: route decide to openai/gpt-4o-mini (from "
                     "anthropic/claude-sonnet-4-20250514), saving about $31.49 on this volume; "
                     + ROUTE_DECIDE["evidence"],
             "figures": {"purpose": "decide", "to": "openai/gpt-4o-mini",
                         "saving_usd": "31.492173", "routes": [ROUTE_DECIDE]}},
        ],
    }


def _svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL)


def _workflow_section(html: str, index: int) -> str:
    match = re.search(rf'<section class="workflow" id="workflow-{index}".*?(?=<section '
                      rf'class="workflow"|</main>)', html, flags=re.DOTALL)
    assert match, index
    return match.group(0)


SECTIONS = ["What to do", "Workflows at a glance", "Workflow", "Cost per claim processed",
            "Against the BPO contract $1.20", "Success rate", "Retry tax", "Human review",
            "Value per $1", "Segments", "Model mix", "Routing evidence", "Context growth",
            "Cost deciles", "Warnings"]


def test_the_renderer_loads_without_the_store_the_analyzer_or_the_services() -> None:
    probe = ("import sys, tracegraph.render.economics; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'typer' or "
             "m.startswith(('tracegraph.store', 'tracegraph.analyze', 'tracegraph.services'))))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"


def test_docstring_examples_hold() -> None:
    for module in (axis_charts, page, tables):
        assert doctest.testmod(module).failed == 0


# --- what the page says --------------------------------------------------------------------


def test_markdown_has_every_section_with_formatted_figures() -> None:
    markdown = economics_markdown(sample_report())
    for section in SECTIONS:
        assert section in markdown, section
    assert "| Cost per claim processed | $1.28 | 95% interval $1.08–$1.47; $1.16 per trace |" \
        in markdown
    assert "| Against the BPO contract $1.20 | Inconclusive |" in markdown
    assert "margin -$0.0754 per claim processed; breaks even at 96.4% success" in markdown
    assert "95% interval 89.2%–92.0%; 49.8% on the first try" in markdown
    assert "| Human review | 33.1 h | 1,986 minutes costing $1,820.50, 94.5% of spend |" \
        in markdown
    assert "| Value per $1 | $10.98 |" in markdown
    assert "**Traces:** 3,353" in markdown and "**Spend:** $2,680.42" in markdown
    assert "`/srv/tracegraph.toml`" in markdown and "`6+0b9799c9da95`" in markdown
    assert "2026-11-29 11:59 UTC" in markdown
    assert "<svg" not in markdown


def test_the_segments_table_gives_each_verdict_its_interval_and_flags_small_samples() -> None:
    markdown = economics_markdown(sample_report())
    assert ("| `claim.requires_exception_doc=false` | 1,264 | 93.7% | 49.8% | $0.64 | "
            "$0.482–$0.797 | +$0.56 | 1.9% | $3.83 | cheaper |") in markdown
    assert ("| `claim.requires_exception_doc=true` | 401 | 81.3% | 0% | $3.59 | $2.91–$4.26 | "
            "-$2.39 |") in markdown
    assert "| All traces | 1,665 | 90.7% |" in markdown
    assert ("| `claim.type=glass, claim.requires_exception_doc=true` _(small sample)_ | 9 |"
            in markdown)
    assert "fewer than 30 traces" in markdown
    html = economics_html(sample_report())
    assert '<span class="badge">small sample</span>' in html
    assert '<td class="tone-good" title="cheaper than baseline">cheaper</td>' in html
    assert '<td class="tone-bad" title="more expensive than baseline">more expensive</td>' in html


def test_allocation_lines_are_grouped_under_their_action_in_reading_order() -> None:
    markdown = economics_markdown(sample_report())
    headings = re.findall(r"^### (.+) \(\d+\)$", markdown, flags=re.MULTILINE)
    assert headings == ["Keep with people", "Not enough evidence", "Cap spend", "Switch model"]
    assert ("- **Keep with people** · `claims-triage`: $0.6395 per claim processed with the "
            "agent against $1.20 by BPO contract") in markdown
    assert "- **Cap spend** · `claims-triage`: the costliest 5% of traces take 64%" in markdown
    # The routing line keeps its claim and lists its evidence under it.
    assert ("- **Switch model** · `claims-triage`: route decide to openai/gpt-4o-mini (from "
            "anthropic/claude-sonnet-4-20250514), saving about $31.49 on this volume\n"
            "  - decide: openai/gpt-4o-mini succeeded in 92.2% of 424 traces") in markdown
    html = economics_html(sample_report())
    for action, badge in (("keep_with_people", "Keep with people"), ("cap", "Cap spend"),
                          ("switch_model", "Switch model"),
                          ("insufficient_evidence", "Not enough evidence")):
        assert f'<span class="badge badge-{action}">{badge}</span>' in html
    assert html.index("badge-keep_with_people") < html.index("badge-switch_model")
    assert '<ul class="evidence">' in html


def test_an_unknown_action_or_a_changed_sentence_is_shown_as_it_is() -> None:
    report = sample_report()
    report["allocation"].append({"workflow": "claims-triage", "segment": {},
                                 "action": "renegotiate_contract", "text": "ask for 10% off",
                                 "figures": {}})
    report["allocation"][3]["text"] += " (rounded)"  # no longer ends with its evidence
    markdown = economics_markdown(report)
    assert "### Renegotiate contract (1)" in markdown
    assert "per call (rounded)" in markdown
    assert '<span class="badge badge-other">Renegotiate contract</span>' in economics_html(report)


def test_the_baseline_chart_draws_the_contract_price_and_each_verdict() -> None:
    html = _workflow_section(economics_html(sample_report()), 1)
    chart = ET.fromstring(_svgs(html)[0])
    text = " ".join(chart.itertext())
    assert "BPO contract $1.20" in text and "Cheaper than the BPO contract" in text
    assert "95% interval" in text and "(small sample)" in text
    assert BASELINE_LINE in _svgs(html)[0]
    fills = [rect.get("fill") for rect in chart.iter(f"{SVG}rect")]
    assert axis_charts.TONES["good"][0] in fills and axis_charts.TONES["bad"][0] in fills


def test_a_workflow_without_a_baseline_draws_no_line_and_says_how_to_set_one() -> None:
    html = economics_html(sample_report())
    section = _workflow_section(html, 2)
    assert BASELINE_LINE not in _svgs(section)[0]
    assert "Cheaper than" not in _svgs(section)[0]
    assert "set baseline_usd (and baseline_label) under [workflows.invoice-processing] in " \
           "tracegraph.toml" in section
    assert '<aside class="hint" role="note">' in section
    assert "Margin vs baseline" not in section and "Verdict" not in section
    markdown = economics_markdown(sample_report())
    assert "> **No baseline:**" in markdown
    assert "| `invoice-processing` | 1,688 | 93.8% | $754.51 | $0.477 | successful outcome | " \
           "not set | no baseline | n/a |" in markdown
    assert "| Value per $1 | n/a | set value_usd" in markdown
    assert "| All traces | 1,688 | 93.8% | 49.8% | $0.477 | $0.377–$0.576 | 1.9% | $3.83 |" \
        in markdown  # no margin, no verdict


def test_a_workflow_with_no_successes_costs_everything_and_buys_nothing() -> None:
    report = sample_report()
    doomed = _claims_triage()
    doomed["workflow"] = "doomed"
    doomed["segments"] = [_segment(
        "all traces", {}, 40, 0, cost="12.5", per_success=None, interval=None, margin=None,
        cheaper=False, verdict="more expensive: no successful outcome, every dollar bought "
                               "nothing", success_interval=["0.000000", "0.087622"],
        value_usd="0", value_per_dollar="0.00", break_even_success_rate="0.260417")]
    doomed["cost_deciles"] = [{"decile": 1, "traces": 40, "mean_cost_usd": "0.3125",
                               "success_rate": "0.000000", "retry_share": "0.4"}]
    report["workflows"] = [doomed]
    markdown = economics_markdown(report)
    assert "| Cost per claim processed | no successes | no successful outcome in 40 traces: " \
           "the $12.50 spent bought nothing |" in markdown
    assert "| Against the BPO contract $1.20 | No successes | no successful outcome" in markdown
    assert "| All traces | 40 | 0% |" in markdown and "| no successes |" in markdown
    html = economics_html(report)
    chart = ET.fromstring(_svgs(html)[0])
    assert "no successful outcome" in " ".join(chart.itertext())
    for svg in _svgs(html):
        ET.fromstring(svg)


def test_unpriced_steps_are_a_warning_at_the_top_and_on_their_workflow() -> None:
    report = sample_report()
    report["workflows"][0]["segments"][0]["unpriced_steps"] = 212
    html = economics_html(report)
    top = html.index('<aside class="warning"')
    assert top < html.index("What to do")
    assert "212 steps have no price (in claims-triage)" in html
    assert "not counted as $0" in html[top:top + 600]
    assert html.count('<aside class="warning"') == 2  # the page and claims-triage
    assert "a lower bound: 212 steps unpriced" in html
    markdown = economics_markdown(report)
    assert markdown.count("> **Warning:** ") == 2


def test_an_empty_report_says_nothing_was_analysed() -> None:
    report = {"generated_at": "2026-11-29T11:59:43+00:00", "analyzer_version": "6",
              "config": None, "workflow": "nothing-here", "by": ["claim.type"],
              "workflows": [], "allocation": []}
    markdown, html = economics_markdown(report), economics_html(report)
    for text in (markdown, html):
        assert "Nothing analysed" in text and "nothing-here" in text
        assert "no tracegraph.toml" in text
    assert "## What to do" not in markdown and "<svg" not in html


def test_rendering_leaves_the_report_alone() -> None:
    report = sample_report()
    before = copy.deepcopy(report)
    economics_html(report)
    economics_markdown(report)
    assert report == before


# --- safety ---------------------------------------------------------------------------------


def _hostile_report() -> dict[str, Any]:
    report = sample_report()
    workflow = report["workflows"][0]
    workflow["workflow"] = HOSTILE
    workflow["unit"] = "<b>claim</b>"
    workflow["baseline_label"] = '"><img src=x onerror=alert(2)>'
    segment = workflow["segments"][1]
    segment["key"] = {"claim.type": HOSTILE}
    segment["label"] = f"claim.type={HOSTILE}\x01"
    workflow["model_mix"][0]["model"] = "<iframe src=//evil>"
    workflow["routing"][0]["purpose"] = "*bold* | pipe"
    workflow["context_growth"][0]["turns"] = "<i>2</i>"
    workflow["warnings"] = [f"attribute {HOSTILE} missing"]
    report["allocation"][0]["workflow"] = HOSTILE
    report["allocation"][0]["text"] = f"claim.type={HOSTILE}: [click](javascript:alert(3)) *now*"
    report["by"] = [HOSTILE]
    return report


def test_hostile_labels_are_escaped_everywhere_in_the_html() -> None:
    html = economics_html(_hostile_report())
    assert not re.search(r"<(script|img|iframe|b|i)\b", html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;iframe src=//evil&gt;" in html


def test_hostile_labels_stay_literal_text_in_markdown() -> None:
    markdown = economics_markdown(_hostile_report())
    assert f"`{HOSTILE}`" in markdown
    assert ("· `<script>alert(1)</script>`: claim.type=\\<script>alert(1)\\</script>: "
            "\\[click](javascript:alert(3)) \\*now\\*") in markdown
    assert "| Cost per \\<b>claim\\</b> |" in markdown  # the unit, in a heading too
    outside_code = re.sub(r"(`+).*?\1", "", markdown)
    assert not re.search(r"(?<!\\)<(script|img|iframe|b|i)\b", outside_code)
    for block in markdown.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:
            widths = {len(re.findall(r"(?<!\\)\|", re.sub(r"(`+).*?\1", "", row)))
                      for row in rows}
            assert len(widths) == 1, block


def test_every_chart_is_well_formed_xml_with_a_title() -> None:
    svgs = _svgs(economics_html(_hostile_report()))
    assert len(svgs) == 6  # three charts for each of two workflows
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.get("role") == "img" and root.get("aria-label")
        assert root.find(f"{SVG}title") is not None


def test_html_references_nothing_outside_itself() -> None:
    html = economics_html(sample_report())
    assert not re.search(r"\bsrc\s*=|url\(|@import|<link\b|<script\b", html, re.I)
    links = re.findall(r'\bhref\s*=\s*"([^"]*)"', html)
    assert links and all(link.startswith("#") for link in links)  # the page's own contents


# --- the chart builders -----------------------------------------------------------------------


def test_the_comparison_chart_draws_whiskers_a_reference_and_missing_values() -> None:
    svg = comparison_chart([ComparisonBar("a", "1.5", interval=("1", "2"), tone="bad"),
                            ComparisonBar("b", None, missing="no successful outcome")],
                           title="T", reference="1.2", reference_label="BPO",
                           legend={"bad": "Dearer", "good": "Cheaper"})
    text = " ".join(ET.fromstring(svg).itertext())
    assert "BPO $1.20" in text and "no successful outcome" in text
    assert "Dearer" in text and "Cheaper" not in text  # only the tones in use
    assert "a: $1.50 (95% interval $1.00 to $2.00); Dearer" in text
    assert BASELINE_LINE in svg
    assert BASELINE_LINE not in comparison_chart([ComparisonBar("a", "1")], title="T")


def test_the_line_chart_goes_logarithmic_only_when_the_spread_is_wide() -> None:
    wide = line_chart([PlotPoint("0.01", "0.9"), PlotPoint("10", "0.8")], title="T",
                      x_label="Cost", y_label="Success")
    narrow = line_chart([PlotPoint("1", "0.9"), PlotPoint("2", "0.8")], title="T",
                        x_label="Cost", y_label="Success")
    zero = line_chart([PlotPoint("0", "0.9"), PlotPoint("10", "0.8")], title="T",
                      x_label="Cost", y_label="Success")
    assert "Cost (log scale)" in wide and "$0.01" in wide and "100%" in wide
    assert "log scale" not in narrow and "log scale" not in zero


def test_chart_builders_with_nothing_to_draw_say_so() -> None:
    for svg in (comparison_chart([], title="A"), line_chart([], title="B", x_label="x",
                                                            y_label="y")):
        assert "No data" in " ".join(ET.fromstring(svg).itertext())


# --- in a browser ----------------------------------------------------------------------------


@pytest.mark.slow
def test_the_html_opens_offline_in_a_browser_without_errors(tmp_path: Path) -> None:
    page_file = tmp_path / "economics.html"
    page_file.write_text(economics_html(sample_report()), encoding="utf-8")
    with visit(page_file.as_uri()) as seen:
        assert seen.tab.title() == "Unit economics · tracegraph"
        charts = seen.tab.locator("svg.chart")
        boxes = [charts.nth(i).bounding_box() for i in range(charts.count())]
        assert len(boxes) == 6
        assert all(box and box["width"] > 300 and box["height"] > 50 for box in boxes)
        assert seen.scroll_width() <= 1280
        seen.tab.screenshot(path=str(tmp_path / "economics.png"), full_page=True)
    assert seen.errors == [] and seen.dialogs == []
    assert seen.requests == [seen.url]


def test_the_view_keeps_workflow_ids_free_of_user_data() -> None:
    view = economics_view(_hostile_report())
    assert [w.key for w in view.workflows] == ["workflow-1", "workflow-2"]
    assert view.workflows[0].segments.key == "workflow-1-segments"
