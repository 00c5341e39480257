"""The failure clusters report rendered for people: Markdown, and one HTML file with a chart.

The fixture is a trimmed copy of what ``tracegraph clusters --format json``
printed for the 5,000-trace synthetic corpus (claims triage, invoices,
support tickets): five of its 45 clusters, a few members each, plus two
unclustered failures; no store or service runs.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tracegraph.render import charts
from tracegraph.render.clusters import clusters_html, clusters_markdown, clusters_view

from .browser import visit

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script>"
GAVE_UP = "; outcome claim processed: error: gave up after retries"
OVER_LIMIT = ("trace failed: no reason given | after: tool_call request_exception_document: "
              "ValidationError: claim amount <n> exceeds policy limit" + GAVE_UP)
HTTP_503 = ("trace failed: no reason given | after: tool_call lookup_policy: HTTPError: HTTP 503 "
            "Service Unavailable from claims-api <path>" + GAVE_UP)
FRAUD_SCORE = "tool_call check_fraud_score: ValidationError: claim amount <n> exceeds policy limit"


def _member(trace: str, step: str | None, signature: str, cost: str | None, seen: str,
            workflow: str = "claims-triage") -> dict[str, Any]:
    return {"trace_id": trace, "step_id": step, "signature": signature, "cost_usd": cost,
            "workflow": workflow, "seen": seen}


def _over_limit_members(count: int) -> list[dict[str, Any]]:
    """The first three as printed, then older ones of the same kind, newest first."""
    members = [_member(trace, None, OVER_LIMIT, cost, seen) for trace, cost, seen in (
        ("claim-00004634", "3.626799667", "2026-06-01T01:40:40+00:00"),
        ("claim-00004218", "6.978406133", "2026-05-31T18:44:40+00:00"),
        ("claim-00004159", "0.02882970", "2026-05-31T17:45:40+00:00"))]
    members += [_member(f"claim-0000{3900 - 10 * i}", None, OVER_LIMIT, "0.0551112",
                        f"2026-05-30T{20 - i // 4:02d}:{59 - i % 4 * 15:02d}:40+00:00")
                for i in range(count - len(members))]
    return members


def _cluster(cluster_id: str, label: str, *, size: int, failures: int, traces: int,
             signatures: int, cost: str, failed_traces: str, example: str,
             first: str, last: str, members: list[dict[str, Any]],
             tools: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    cluster = {"id": cluster_id, "label": label, "size": size, "failures": failures,
               "traces": traces, "signatures": signatures, "cost_usd": cost, "wasted_usd": cost,
               "failed_traces_usd": failed_traces, "unpriced_failures": 0, "example": example,
               "first_seen": first, "last_seen": last, "workflows": ["claims-triage"],
               "tools": tools or [], "members": members}
    cluster.update(extra)
    return cluster


def sample_report() -> dict[str, Any]:
    return {
        "generated_at": "2026-11-29T12:27:35+00:00", "analyzer_version": "9+cdf7338efbc6",
        "workflow": None, "since": None, "min_size": 2,
        "run": {"method": "all-MiniLM-L6-v2; word=1, char=1, concept=2, embedding=1, place=3; "
                          "average linkage at 0.3",
                "signatures": 60, "failures": 4805, "embedded": 0, "incremental": True,
                "fallback": None, "clusters": 45, "assigned": 0, "new_clusters": 0},
        "clusters": [
            _cluster("c3396a95b", "claim exceeds limit processed", size=0, failures=31,
                     traces=31, signatures=4, cost="66.178489358", failed_traces="66.178489358",
                     example=OVER_LIMIT, first="2026-05-28T20:34:40+00:00",
                     last="2026-06-01T01:40:40+00:00", members=_over_limit_members(25)),
            _cluster("c6f5306b5", "api httperror path processed", size=0, failures=37,
                     traces=37, signatures=3, cost="66.117222693", failed_traces="66.117222693",
                     example=HTTP_503, first="2026-05-28T21:44:40+00:00",
                     last="2026-06-01T04:13:40+00:00",
                     members=[_member("claim-00004787", None, HTTP_503, "5.624700200",
                                      "2026-06-01T04:13:40+00:00")]),
            _cluster("cc160ee4f", "processed claim given failed", size=0, failures=59,
                     traces=59, signatures=1, cost="36.728534766", failed_traces="36.728534766",
                     example="trace failed: no reason given | after: outcome claim processed: "
                             "error: gave up after retries",
                     first="2026-05-28T23:26:40+00:00", last="2026-06-01T07:25:40+00:00",
                     members=[]),
            _cluster("c462497db", "check_fraud_score exceeds limit validationerror", size=207,
                     failures=207, traces=147, signatures=1, cost="2.070", failed_traces="0",
                     example=FRAUD_SCORE, first="2026-05-28T20:40:40+00:00",
                     last="2026-06-01T07:34:40+00:00", tools=["check_fraud_score"],
                     members=[_member("claim-00004988", step, FRAUD_SCORE, "0.010",
                                      "2026-06-01T07:34:40+00:00") for step in ("s13", "s7")]),
            _cluster("c03cef93b", "triage agent claims error", size=155, failures=155,
                     traces=155, signatures=1, cost="0", failed_traces="0",
                     example="agent claims-triage: error", first="2026-05-28T20:34:40+00:00",
                     last="2026-06-01T07:25:40+00:00",
                     members=[_member("claim-00004979", "s1", "agent claims-triage: error", "0",
                                      "2026-06-01T07:25:40+00:00")]),
        ],
        "unclustered": [
            _member("invoi-00004092", "s4", "tool_call ocr_invoice: OSError: no such file <path>",
                    None, "2026-05-31T16:38:40+00:00", workflow="invoice-processing"),
            _member("suppo-00004111", None, "trace failed: ticket <id> reopened", "0.0031",
                    "2026-05-31T16:57:40+00:00", workflow="support-tickets"),
        ],
    }


def _svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL)


def _cluster_section(html: str, index: int) -> str:
    match = re.search(rf'<section class="cluster" id="cluster-{index}".*?(?=<section '
                      rf'class="cluster"|</main>)', html, flags=re.DOTALL)
    assert match, index
    return match.group(0)


def _outside_code(markdown: str) -> str:
    return re.sub(r"(`+).*?\1", "", markdown)


def test_the_renderer_loads_without_the_store_the_analyzer_or_the_services() -> None:
    probe = ("import sys, tracegraph.render.clusters; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'typer' or "
             "m.startswith(('tracegraph.store', 'tracegraph.analyze', 'tracegraph.services'))))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"


# --- what the page says --------------------------------------------------------------------


def test_markdown_has_every_section_with_formatted_figures() -> None:
    markdown = clusters_markdown(sample_report())
    for heading in ("# Failure clusters", "## Summary", "## Clusters by money", "## Clusters",
                    "### 1. `c3396a95b` claim exceeds limit processed",
                    "### 4. `c462497db` check_fraud_score exceeds limit validationerror",
                    "#### Members", "## Unclustered failures"):
        assert f"\n{heading}\n" in f"\n{markdown}", heading
    assert "| Clusters | 5 | from 10 distinct signatures |" in markdown
    assert "| Failures | 489 | 362 failed steps and 127 failed traces; 2 more listed " \
           "unclustered |" in markdown
    assert "| Traces | 429 |" in markdown
    assert "| Money in clusters | $171.09 | $171.09 of it wasted |" in markdown
    assert ("| Top 3 clusters | 98.8% | of the money in clusters: $169.02 in c3396a95b, "
            "c6f5306b5, cc160ee4f |") in markdown
    assert ("**Method:** all-MiniLM-L6-v2; word=1, char=1, concept=2, embedding=1, place=3; "
            "average linkage at 0.3") in markdown
    assert "Updated incrementally: 60 distinct signatures of 4,805 failures" in markdown
    assert ("| 1 | `c3396a95b` | claim exceeds limit processed | 31 | 31 | $66.18 | $66.18 | "
            "2026-06-01 01:40 UTC |") in markdown
    assert "**Smallest cluster:** 2 failures" in markdown
    assert "`9+cdf7338efbc6`" in markdown and "2026-11-29 12:27 UTC" in markdown
    assert "<svg" not in markdown


def test_each_cluster_shows_its_example_money_counts_dates_and_places() -> None:
    markdown = clusters_markdown(sample_report())
    assert f"**Example:** `{OVER_LIMIT}`" in markdown
    assert ("**Cost:** $66.18 · **Wasted:** $66.18 · **Failed traces' spend:** $66.18 · "
            "**Unpriced:** none") in markdown
    assert "**Failures:** 31 (0 steps, 31 traces) · **Traces:** 31 · **Distinct signatures:** 4" \
        in markdown
    assert "**First seen:** 2026-05-28 20:34 UTC · **Last seen:** 2026-06-01 01:40 UTC" in markdown
    assert "**Workflows:** `claims-triage` · **Tools:** none (trace-level failures)" in markdown
    assert "**Workflows:** `claims-triage` · **Tools:** `check_fraud_score`" in markdown
    html = _cluster_section(clusters_html(sample_report()), 4)
    assert '<code class="cluster-id">c462497db</code>' in html
    assert "<dt>Failed traces&#39; spend</dt><dd title=\"$0\">$0.00</dd>" in html
    assert "<dt>Failures</dt><dd>207 (207 steps, 0 traces)</dd>" in html
    assert '<dd title="2026-05-28T20:40:40+00:00">2026-05-28 20:40 UTC</dd>' in html
    assert "<code>check_fraud_score</code>" in html


def test_members_list_the_first_twenty_and_say_how_to_see_the_rest() -> None:
    markdown = clusters_markdown(sample_report())
    first = markdown.split("### 2.")[0].split("#### Members")[1]
    assert len(re.findall(r"^\| `claim-", first, flags=re.MULTILINE)) == 20
    assert ("_Showing the 20 most recent of 31 failures; `tracegraph clusters show c3396a95b` "
            "lists them all._") in markdown
    assert ("| `claim-00004634` | (trace) | $3.63 | 2026-06-01 01:40 UTC | `trace failed: no "
            "reason given \\| after:") in markdown
    assert "| `claim-00004988` | `s13` | $0.01 | 2026-06-01 07:34 UTC |" in markdown
    html = clusters_html(sample_report())
    section = _cluster_section(html, 1)
    assert section.count("<tr>") == 21  # the heading row and twenty members
    assert "most recent of 31 failures; <code>tracegraph clusters show c3396a95b</code>" in section
    # A cluster whose members the document left out still says where they are.
    assert "No members listed in this document." in _cluster_section(html, 3)
    assert "<code>tracegraph clusters show cc160ee4f</code> lists all 59 failures." \
        in _cluster_section(html, 3)
    assert "_`tracegraph clusters show cc160ee4f` lists all 59 failures._" in markdown


def test_the_unclustered_table_lists_failures_that_fit_nowhere() -> None:
    markdown = clusters_markdown(sample_report())
    unclustered = markdown.split("## Unclustered failures")[1]
    assert ("| `invoi-00004092` | `s4` | unpriced | 2026-05-31 16:38 UTC | `invoice-processing` "
            "| `tool_call ocr_invoice: OSError: no such file <path>` |") in unclustered
    assert "| `suppo-00004111` | (trace) | $0.0031 |" in unclustered
    assert "a cluster of fewer than 2 failures" in unclustered
    report = sample_report()
    report["unclustered"] = []
    assert "None: every failure fell in a cluster." in clusters_markdown(report)


def test_the_overview_links_each_cluster_to_its_section() -> None:
    html = clusters_html(sample_report())
    for index in range(1, 6):
        assert f'<a href="#cluster-{index}"><code>' in html
        assert f'<section class="cluster" id="cluster-{index}"' in html


def test_the_cost_chart_names_each_cluster_by_id_and_label_and_draws_the_top_fifteen() -> None:
    report = sample_report()
    extra = report["clusters"][3]
    report["clusters"][4:4] = [dict(extra, id=f"cx{n:02d}", cost_usd=f"0.0{n:02d}")
                               for n in range(20, 0, -1)]  # sorted by money, as served
    html = clusters_html(report)
    svgs = _svgs(html)
    assert len(svgs) == 1
    chart = ET.fromstring(svgs[0])
    titles = [element.text for element in chart.iter(f"{SVG}title")][1:]
    assert len(titles) == 15
    assert titles[0] == "c3396a95b claim exceeds limit processed: $66.18"
    assert titles[3] == "c462497db check_fraud_score exceeds limit validationerror: $2.07"
    assert titles[14] == "cx10 check_fraud_score exceeds limit validationerror: $0.01"
    assert "The 15 costliest of 25 clusters; the other 10 cost $0.045 together." in html


def test_the_method_and_a_full_or_missing_run_are_described() -> None:
    report = sample_report()
    report["run"] = {"method": "lexical only; word=1, char=1, concept=2, place=3; average "
                               "linkage at 0.35", "signatures": 60, "failures": 4805,
                     "embedded": 12, "incremental": False, "fallback": None, "clusters": 45,
                     "kept_ids": 40}
    markdown = clusters_markdown(report)
    assert ("Clustered afresh: 60 distinct signatures of 4,805 failures in the store; 12 newly "
            "embedded; 45 clusters, 40 of them keeping the id") in markdown
    report["run"] = None
    assert "the clustering was not refreshed for this report" in clusters_html(report)


def test_a_lexical_fallback_is_a_warning_above_everything_else() -> None:
    report = sample_report()
    fallback = ("lexical features only: sentence embeddings need pip install 'tracegraph[embed]'"
                "  (CPU torch 2.13.0, sentence-transformers and the offline all-MiniLM-L6-v2 "
                "model)")
    report["run"]["fallback"] = fallback
    html = clusters_html(report)
    warning = html.index('<aside class="warning fallback" role="note"><strong>Warning:</strong> '
                         'Lexical features only:')
    assert warning < html.index('id="summary-title"')
    assert "Lexical features only: sentence embeddings need pip install " \
           "&#39;tracegraph[embed]&#39;" in html
    assert "Paraphrases of one failure may stay in separate clusters." in html
    markdown = clusters_markdown(report)
    assert markdown.index("> **Warning:** Lexical features only: sentence embeddings need "
                          "pip install 'tracegraph\\[embed]'") < markdown.index("## Summary")
    assert "Lexical features only" not in clusters_html(sample_report())
    assert "Lexical features only" not in clusters_markdown(sample_report())


def test_unpriced_failures_are_a_warning_and_make_the_money_a_lower_bound() -> None:
    report = sample_report()
    report["clusters"][1]["unpriced_failures"] = 3
    html = clusters_html(report)
    assert "3 failures have no price. They are left out of every dollar figure" in html
    assert '<div class="card card-warning">' in html
    assert "a lower bound: 3 failures unpriced" in html
    assert "<dt>Unpriced</dt><dd>3 failures</dd>" in _cluster_section(html, 2)


def test_a_report_without_failures_renders_and_says_so() -> None:
    report = sample_report()
    report["clusters"], report["unclustered"], report["workflow"] = [], [], "nothing-here"
    markdown, html = clusters_markdown(report), clusters_html(report)
    for text in (markdown, html):
        assert "No failures match these filters, so there is nothing to cluster." in text
        assert "nothing-here" in text
    assert "## Summary" not in markdown and "<svg" not in html
    assert '<section class="cluster"' not in html


def test_a_report_with_only_small_groups_points_to_the_unclustered_failures() -> None:
    report = sample_report()
    report["clusters"], report["min_size"] = [], 5
    markdown, html = clusters_markdown(report), clusters_html(report)
    for text in (markdown, html):
        assert "No failure clusters: no group of at least 5 similar failures" in text
        assert "invoi-00004092" in text
    assert "a cluster of fewer than 5 failures" in markdown


def test_rendering_leaves_the_report_alone() -> None:
    report = sample_report()
    before = copy.deepcopy(report)
    clusters_html(report)
    clusters_markdown(report)
    assert report == before


# --- safety ---------------------------------------------------------------------------------


def test_placeholders_in_signatures_show_literally_not_as_tags() -> None:
    html = clusters_html(sample_report())
    assert "claim amount &lt;n&gt; exceeds policy limit" in html
    assert "claims-api &lt;path&gt;" in html and "ticket &lt;id&gt; reopened" in html
    assert "placeholders such as <code>&lt;id&gt;</code>" in html
    assert not re.search(r"<(n|path|id)>", html)
    markdown = clusters_markdown(sample_report())
    assert "`tool_call ocr_invoice: OSError: no such file <path>`" in markdown
    assert not re.search(r"<(n|path|id)>", _outside_code(markdown))


def _hostile_report() -> dict[str, Any]:
    report = sample_report()
    first, fraud = report["clusters"][0], report["clusters"][3]
    first["label"] = f"{HOSTILE} *bold* | pipe"
    first["example"] = f"tool_call {HOSTILE}: `tick` <img src=x onerror=alert(2)>"
    first["workflows"] = ["<b>claims</b>"]
    fraud["tools"] = ["<iframe src=//evil>", "a|b"]
    fraud["members"][0]["trace_id"] = HOSTILE
    fraud["members"][0]["step_id"] = "<i>s1</i>"
    fraud["members"][0]["signature"] = "x | y <script>"
    report["unclustered"][0]["workflow"] = "<b>w</b>"
    report["workflow"] = HOSTILE
    report["run"]["method"] = "<u>method</u>"
    report["run"]["fallback"] = "<marquee>install</marquee>"
    return report


def test_hostile_labels_and_tool_names_are_escaped_everywhere_in_the_html() -> None:
    html = clusters_html(_hostile_report())
    assert not re.search(r"<(script|img|iframe|b|i|u|marquee)\b", html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; *bold* | pipe" in html
    assert "<code>&lt;iframe src=//evil&gt;, a|b</code>" in html
    for svg in _svgs(html):
        root = ET.fromstring(svg)
        assert any("<script>alert(1)</script>" in (t or "") for t in root.itertext())


def test_hostile_labels_stay_literal_text_in_markdown() -> None:
    markdown = clusters_markdown(_hostile_report())
    assert "### 1. `c3396a95b` \\<script>alert(1)\\</script> \\*bold\\* \\| pipe" in markdown
    assert "**Tools:** `<iframe src=//evil>, a|b`" in markdown
    assert "**Example:** ``tool_call <script>alert(1)</script>: `tick` " \
           "<img src=x onerror=alert(2)>``" in markdown
    assert not re.search(r"(?<!\\)<(script|img|iframe|b|i|u|marquee)\b", _outside_code(markdown))
    for block in markdown.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:
            widths = {len(re.findall(r"(?<!\\)\|", _outside_code(row))) for row in rows}
            assert len(widths) == 1, block


def test_every_chart_is_well_formed_xml_with_a_title() -> None:
    svgs = _svgs(clusters_html(_hostile_report()))
    assert len(svgs) == 1
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.get("role") == "img" and root.get("aria-label")
        assert root.find(f"{SVG}title") is not None


def test_html_references_nothing_outside_itself() -> None:
    html = clusters_html(sample_report())
    assert not re.search(r"\bsrc\s*=|url\(|@import|<link\b|<script\b", html, re.I)
    links = re.findall(r'\bhref\s*=\s*"([^"]*)"', html)
    assert links and all(link.startswith("#") for link in links)


def test_the_view_keeps_section_ids_free_of_user_data() -> None:
    view = clusters_view(_hostile_report())
    assert [c.key for c in view.clusters] == [f"cluster-{i}" for i in range(1, 6)]
    assert view.clusters[0].members.key == "cluster-1-members"


def test_the_bar_chart_gives_labels_the_share_it_is_asked_for() -> None:
    label = "c4fbddb6f timed timeouterror request_exception_document lookup_policy"
    narrow = charts.bar_chart([(label, "1")], title="T", width=952)
    wide = charts.bar_chart([(label, "1")], title="T", width=952, label_share=0.6)
    assert "\u2026" in narrow and label in ET.fromstring(wide).findtext(f".//{SVG}g/{SVG}text", "")


# --- in a browser ----------------------------------------------------------------------------


@pytest.mark.slow
def test_the_html_opens_offline_in_a_browser_without_errors(tmp_path: Path) -> None:
    page_file = tmp_path / "clusters.html"
    page_file.write_text(clusters_html(_hostile_report()), encoding="utf-8")
    with visit(page_file.as_uri()) as seen:
        tab = seen.tab
        assert tab.title() == f"Failure clusters: {HOSTILE} · tracegraph"
        chart = tab.locator("svg.chart")
        assert chart.count() == 1
        box = chart.first.bounding_box()
        assert box and box["width"] > 600 and box["height"] > 100
        assert tab.locator("section.cluster").count() == 5
        example = tab.locator("#cluster-2 .example code").inner_text()
        assert "claims-api <path>" in example
        assert seen.scroll_width() <= 1280
        tab.screenshot(path=str(tmp_path / "clusters.png"), full_page=True)
    assert seen.errors == [] and seen.dialogs == []  # an alert() would mean a label ran
    assert seen.requests == [seen.url]
