"""The wasted-spend report rendered for people: Markdown, and one HTML file with charts.

Built from a realistic report document written here, the shape that
``tracegraph report waste --format json`` prints; no store or analyzer runs.
"""

from __future__ import annotations

import copy
import doctest
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tracegraph.render import charts, formatting
from tracegraph.render.charts import HistogramBin, bar_chart, histogram, pareto_chart
from tracegraph.render.formatting import format_share, format_usd
from tracegraph.render.waste import waste_html, waste_markdown

HOSTILE_TOOL = "<script>alert(1)</script>"

from .browser import visit


def _pareto(points: int = 101) -> list[list[str]]:
    """A heavy-tailed Pareto curve: the costliest fifth of traces make about 74% of spend."""
    curve = []
    for index in range(points):
        x = Decimal(index) / (points - 1)
        y = 1 - (1 - x) ** 6
        curve.append([str(x.quantize(Decimal("0.01"))), str(y.quantize(Decimal("0.000001")))])
    return curve


def sample_report() -> dict[str, Any]:
    """A month of a claims-triage agent, with a hostile tool name and a tiny amount in it."""
    return {
        "workflow": "claims-triage",
        "since": "2026-01-01T00:00:00+00:00",
        "until": "2026-02-01T00:00:00+00:00",
        "generated_at": "2026-02-02T09:15:27.512000+00:00",
        "analyzer_version": "paths-3",
        "traces": 1204,
        "steps": 18230,
        "total_usd": "1234.5612",
        "wasted_usd": "287.104017",
        "wasted_share": "0.232559",
        "unpriced_steps": 37,
        "by_reason": {"failed_attempt": "112.40", "redundant_call": "61.2033",
                      "unused_retrieval": "48.9", "dead_end": "39.5", "loop": "25.1",
                      "overridden": "0.000717"},
        "by_workflow": [
            {"workflow": "claims-triage", "traces": 1100, "total_usd": "1180.00",
             "wasted_usd": "280.00"},
            {"workflow": None, "traces": 104, "total_usd": "54.5612", "wasted_usd": "7.104017"},
        ],
        "by_tool": {"policy_lookup": "98.25", "fraud_score": "54.10", "ocr_extract": "31.07",
                    HOSTILE_TOOL: "12.5", "search_docs": "0.000123", "a|b": "1.00"},
        "by_model": {"openai/gpt-4o": "150.33", "anthropic/claude-sonnet-4": "90.12",
                     "openai/gpt-4o-mini": "4.2"},
        "documents": [
            {"document_id": "kb/claims-policy-2019.pdf#p4", "retrieved": 812, "used": 3,
             "unused_tokens": 1519440},
            {"document_id": "kb/fraud-faq.md", "retrieved": 455, "used": 61,
             "unused_tokens": 301002},
        ],
        "retried_tools": [
            {"tool": "ocr_extract", "failed_attempts": 311, "usd": "61.3"},
            {"tool": HOSTILE_TOOL, "failed_attempts": 9, "usd": "12.5"},
        ],
        "retry_tax": "0.091047",
        "success_rate": "0.944352",
        "first_try_success_rate": "0.713455",
        "context_bloat_tokens": 2804113,
        "context_bloat_usd": "42.061695",
        "costliest": [
            {"trace_id": "claim-2026-0193", "workflow": "claims-triage", "outcome": "success",
             "cost_usd": "18.4402", "wasted_usd": "11.02"},
            {"trace_id": "claim-2026-0877", "workflow": None, "outcome": "failure",
             "cost_usd": "9.91", "wasted_usd": "0"},
        ],
        "distribution": {
            "p50": "0.41", "p90": "1.92", "p99": "9.3", "max": "18.4402",
            "tail_share": "0.318",
            "histogram": [
                {"low": str(low), "high": str(high), "traces": traces, "tail": tail}
                for low, high, traces, tail in (
                    ("0", "0.25", 301, False), ("0.25", "0.5", 388, False),
                    ("0.5", "1", 254, False), ("1", "2", 145, False), ("2", "3", 56, False),
                    ("3", "5", 30, True), ("5", "10", 22, True), ("10", "20", 8, True))],
            "pareto": _pareto(),
        },
    }


def empty_report() -> dict[str, Any]:
    """What the service says about a workflow with no traces at all."""
    return {
        "workflow": "nothing-here", "since": None, "until": None,
        "generated_at": "2026-02-02T09:15:27+00:00", "analyzer_version": "paths-3",
        "traces": 0, "steps": 0, "total_usd": "0", "wasted_usd": "0", "wasted_share": None,
        "unpriced_steps": 0, "by_reason": {}, "by_workflow": [], "by_tool": {}, "by_model": {},
        "documents": [], "retried_tools": [], "retry_tax": None, "success_rate": None,
        "first_try_success_rate": None, "context_bloat_tokens": 0, "context_bloat_usd": "0",
        "costliest": [],
        "distribution": {"p50": "0", "p90": "0", "p99": "0", "max": "0", "tail_share": None,
                         "histogram": [], "pareto": []},
    }


def _svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL)


SECTIONS = ["Summary", "Total spend", "Wasted spend", "Retry tax", "First-try success",
            "Unpriced steps", "Waste by reason", "By workflow", "Wasted spend by tool",
            "Wasted spend by model", "Documents retrieved most, used least",
            "Most-retried tools", "Costliest traces", "Context bloat"]


def test_the_renderers_load_without_the_store_the_analyzer_the_services_or_typer() -> None:
    probe = ("import sys, tracegraph.render.waste, tracegraph.render.charts; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'typer' or "
             "m.startswith(('tracegraph.store', 'tracegraph.analyze', 'tracegraph.services'))))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"


# --- numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize("amount, shown", [
    ("1234.5612", "$1,234.56"), ("0", "$0.00"), ("0.5", "$0.50"), ("0.000123", "$0.000123"),
    ("0.00012345", "$0.000123"), ("0.0153", "$0.0153"), ("0.9999", "$1.00"),
    ("1000000", "$1,000,000.00"), ("-2.5", "-$2.50"), (Decimal("12.345"), "$12.35"),
    (None, "n/a"),
])
def test_dollars_read_like_dollars_and_tiny_amounts_never_read_as_zero(
        amount: str | Decimal | None, shown: str) -> None:
    assert format_usd(amount) == shown


@pytest.mark.parametrize("share, shown", [
    ("0.232559", "23.3%"), ("1", "100.0%"), ("0", "0%"), ("0.0004", "0.04%"), (None, "n/a"),
])
def test_shares_are_percentages_and_undefined_shares_say_so(share: str | None,
                                                              shown: str) -> None:
    assert format_share(share) == shown


def test_an_amount_that_is_not_a_number_is_refused_with_its_value() -> None:
    with pytest.raises(ValueError, match="'twelve'"):
        format_usd("twelve")


def test_docstring_examples_hold() -> None:
    for module in (formatting, charts):
        assert doctest.testmod(module).failed == 0


# --- Markdown ----------------------------------------------------------------------------


def test_markdown_has_every_section_with_formatted_figures() -> None:
    markdown = waste_markdown(sample_report())
    for section in SECTIONS:
        assert section in markdown, section
    assert "$1,234.56" in markdown and "$287.10" in markdown and "23.3% of spend" in markdown
    assert "$0.000123" in markdown  # search_docs' tiny waste
    assert "$0.000717" in markdown  # overridden
    assert "9.1%" in markdown and "71.3%" in markdown  # retry tax, first try
    assert "2,804,113" in markdown and "$42.06" in markdown  # context bloat
    assert "p99 $9.30" in markdown and "31.8% of spend" in markdown
    assert "not counted as $0" in markdown and "37 steps have no price" in markdown
    assert "2026-01-01 00:00 UTC to 2026-02-01 00:00 UTC" in markdown
    assert "`paths-3`" in markdown and "2026-02-02 09:15 UTC" in markdown
    assert "<svg" not in markdown


def test_markdown_tables_keep_their_columns_whatever_the_names_hold() -> None:
    markdown = waste_markdown(sample_report())
    assert f"`{HOSTILE_TOOL}`" in markdown  # a literal code span, never HTML
    assert "`a\\|b`" in markdown
    for block in re.split(r"\n\n", markdown):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:
            widths = {len(re.findall(r"(?<!\\)\|", row)) for row in rows}
            assert len(widths) == 1, block


def test_hostile_names_in_markdown_stay_literal_text() -> None:
    report = sample_report()
    report["workflow"] = "<img onerror=alert(1)>"
    report["since"] = "last *tuesday*"  # not ISO 8601: shown as given
    report["by_reason"]["<b>new_reason</b>"] = "1"
    markdown = waste_markdown(report)
    assert markdown.startswith("# Wasted spend: `<img onerror=alert(1)>`\n")
    assert "**Period:** `last *tuesday* to 2026-02-01T00:00:00+00:00`" in markdown
    assert "| `<b>new_reason</b>` |" in markdown
    outside_code = re.sub(r"`[^`]*`", "", markdown)
    assert "<img" not in outside_code and "<b>" not in outside_code


def test_markdown_says_none_for_an_empty_section_rather_than_an_empty_table() -> None:
    report = sample_report()
    report["retried_tools"], report["by_model"], report["documents"] = [], {}, []
    markdown = waste_markdown(report)
    assert "_No failed attempts._" in markdown
    assert "_No wasted spend attributed to a model._" in markdown
    assert "_No retrieved documents._" in markdown


def test_shares_of_nothing_spent_are_not_available_not_zero() -> None:
    report = sample_report()
    report.update(total_usd="0", wasted_usd="0", wasted_share=None, retry_tax=None,
                  unpriced_steps=18230)
    report["by_workflow"] = [{"workflow": "claims-triage", "traces": 1204, "total_usd": "0",
                              "wasted_usd": "0"}]
    markdown = waste_markdown(report)
    assert "| Retry tax | n/a |" in markdown
    assert "no share: nothing was spent" in markdown
    assert "| `claims-triage` | 1,204 | $0.00 | $0.00 | n/a |" in markdown
    assert "18,230 steps have no price" in markdown
    html = waste_html(report)
    assert '<dd class="figure">n/a</dd>' in html  # retry tax
    assert '<td class="num">n/a</td>' in html  # the workflow's wasted share


def test_an_empty_report_renders_and_says_nothing_was_analysed() -> None:
    markdown = waste_markdown(empty_report())
    html = waste_html(empty_report())
    for text in (markdown, html):
        assert "Nothing analysed" in text
        assert "nothing-here" in text and "paths-3" in text
    assert "## Summary" not in markdown and "<svg" not in html


def test_sections_an_older_document_leaves_out_render_as_none() -> None:
    report = {key: value for key, value in sample_report().items()
              if key in ("workflow", "traces", "total_usd", "wasted_usd", "by_reason",
                         "by_tool", "by_model", "retry_tax", "costliest", "unpriced_steps",
                         "context_bloat_tokens", "analyzer_version")}
    assert "_No workflows._" in waste_markdown(report)
    assert "Cost per trace" in waste_html(report)


# --- HTML --------------------------------------------------------------------------------


def test_html_has_every_section_chart_and_the_footer() -> None:
    html = waste_html(sample_report())
    for section in SECTIONS + ["Wasted spend by reason", "Cost per trace",
                               "Share of spend by share of traces"]:
        assert section in html, section
    assert "$1,234.56" in html and 'title="$1234.5612"' in html
    assert "$0.000123" in html and "(no workflow)" in html
    assert "not counted as $0" in html
    assert "<code>paths-3</code>" in html and 'datetime="2026-02-02T09:15:27.512000+00:00"' in html
    assert "since" in html and "until" in html
    assert len(_svgs(html)) == 3


def test_hostile_labels_are_escaped_everywhere_in_the_html() -> None:
    html = waste_html(sample_report())
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_rendering_leaves_the_report_alone() -> None:
    report = sample_report()
    before = copy.deepcopy(report)
    waste_html(report)
    waste_markdown(report)
    assert report == before


def test_html_references_nothing_outside_itself() -> None:
    html = waste_html(sample_report())
    assert not re.search(r"\b(?:src|href)\s*=|url\(|@import|<link\b|<script\b", html, re.I)


def test_every_chart_is_well_formed_xml_with_a_title() -> None:
    report = sample_report()
    report["by_reason"][HOSTILE_TOOL] = "1.5"  # an unknown reason key: user data too
    report["by_reason"]["tab\tand\x01control"] = "0.2"
    for svg in _svgs(waste_html(report)):
        root = ET.fromstring(svg)
        assert root.get("role") == "img" and root.get("aria-label")
        assert root.find("{http://www.w3.org/2000/svg}title") is not None


def test_the_histogram_marks_the_tail_and_percentiles() -> None:
    bins = [HistogramBin("0", "1", 10), HistogramBin("1", "2", 4),
            HistogramBin("2", "10", 1, highlighted=True)]
    svg = histogram(bins, title="Cost", markers={"p50": "0.5", "p90": "1.8", "p99": "9"},
                    highlight_label="Long tail (costliest 5%)")
    root = ET.fromstring(svg)
    text = " ".join(root.itertext())
    assert "p50 $0.50" in text and "p99 $9.00" in text and "Long tail (costliest 5%)" in text
    assert svg.count('fill="#c2410c"') == 2  # the tail bar and its legend swatch


def test_the_bar_chart_sums_a_long_list_into_one_bar() -> None:
    svg = bar_chart({f"tool-{i}": str(i) for i in range(1, 31)}, title="Tools", max_bars=5)
    text = " ".join(ET.fromstring(svg).itertext())
    assert "tool-30" in text and "26 others" in text and "$351.00" in text  # 1 + ... + 26


def test_the_pareto_chart_marks_where_the_curve_reaches_80_percent() -> None:
    svg = pareto_chart([("0", "0"), ("0.1", "0.5"), ("0.2", "0.9"), ("1", "1")], title="P")
    assert "17.5% of traces make 80% of spend" in svg


def test_charts_with_nothing_to_draw_say_so() -> None:
    for svg in (bar_chart({}, title="A"), histogram([], title="B"), pareto_chart([], title="C")):
        assert "No data" in " ".join(ET.fromstring(svg).itertext())


@pytest.mark.slow
def test_the_html_opens_offline_in_a_browser_without_errors(tmp_path: Path) -> None:
    page_file = tmp_path / "waste.html"
    page_file.write_text(waste_html(sample_report()), encoding="utf-8")
    with visit(page_file.as_uri()) as seen:
        assert seen.tab.title().startswith("Wasted spend: claims-triage")
        boxes = [seen.tab.locator("svg.chart").nth(i).bounding_box() for i in range(3)]
        assert all(box and box["width"] > 300 and box["height"] > 50 for box in boxes)
        assert seen.scroll_width() <= 1280
    assert seen.errors == [] and seen.dialogs == []
    assert seen.requests == [seen.url]
