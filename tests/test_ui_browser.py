"""The auditor's UI in a real browser: Debian chromium, driven by Playwright, against a
real server (Uvicorn in a thread) over a SQLite store holding the fixtures, a trace
full of personal data and a 5,000-step trace.

What a user sees is what is asserted: the sign-in form, the list and its filters,
the decision trail, a step's details and permalink, "Explain the cost" loaded in
place, the comparison, the audit exports (downloads), redaction by role, access,
keyboard and contrast, and a big trace's pages.  A screenshot of each page goes to
``tests/artifacts/`` (kept by CI, ignored by git).  Without Playwright or chromium
the tests skip, saying why.
"""

from __future__ import annotations

import html.parser
import json
import re
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tracegraph.config import load_config
from tracegraph.model import Status, Step, StepKind, Trace
from tracegraph.services.analysis import analyze_stale
from tracegraph.services.importing import import_paths
from tracegraph.store import SQLiteStore

from .browser import Visit, chromium_browser, watch
from .conftest import FIXTURES
from .server import TOKENS, config_with_tokens, running

ARTIFACTS = Path(__file__).parent / "artifacts"
WASTED_TRACE = "claim-2026-0002"
"""A claims-triage trace with failed attempts, a dead end, a redundant call and an override."""
BIG_TRACE = "agent-5000-tool-calls"
PII_TRACE = "kyc-2026-0001"
EMAIL = "jane.doe@example.com"
PHONE = "+44 20 7946 0958"
IBAN = "DE89 3704 0044 0532 0130 00"
IBAN_COMPACT = "DE89370400440532013000"
PERSONAL_DATA = (EMAIL, PHONE, IBAN, IBAN_COMPACT)

# A customer check whose payloads, error, attributes and override hold an e-mail
# address, a phone number and an IBAN (native format, docs/trace-format.md).
PII_RECORD = {
    "format": "tracegraph.trace/v1", "trace_id": PII_TRACE, "workflow": "kyc-check",
    "attributes": {"customer.contact": EMAIL},
    "steps": [
        {"id": "root", "kind": "agent", "name": "kyc-check", "status": "ok",
         "start": "2026-03-05T10:00:00Z", "end": "2026-03-05T10:09:00Z"},
        {"id": "lookup", "kind": "tool_call", "name": "lookup_customer", "parent": "root",
         "tool": "lookup_customer", "status": "ok",
         "start": "2026-03-05T10:00:01Z", "end": "2026-03-05T10:00:02Z",
         "arguments": {"email": EMAIL},
         "result": {"name": "Jane Doe", "phone": PHONE, "iban": IBAN}},
        {"id": "pay-1", "kind": "tool_call", "name": "pay_out", "parent": "root",
         "tool": "pay_out", "status": "error", "error_type": "Rejected",
         "error": f"bank refused {IBAN} for {EMAIL}",
         "start": "2026-03-05T10:00:03Z", "end": "2026-03-05T10:00:04Z",
         "arguments": {"iban": IBAN_COMPACT}, "inputs": ["lookup"]},
        {"id": "pay-2", "kind": "retry", "name": "pay_out", "parent": "root", "tool": "pay_out",
         "retry_of": "pay-1", "status": "ok",
         "start": "2026-03-05T10:00:05Z", "end": "2026-03-05T10:00:06Z",
         "arguments": {"iban": IBAN_COMPACT}, "result": {"receipt_sent_to": EMAIL},
         "inputs": ["lookup"]},
        {"id": "review", "kind": "human_override", "name": "compliance review",
         "parent": "root", "start": "2026-03-05T10:01:00Z", "end": "2026-03-05T10:08:00Z",
         "override": {"actor": "m.ruiz", "role": "adjuster", "minutes": 7,
                      "reason": f"called the customer on {PHONE} to confirm",
                      "replaces": "pay-2"},
         "inputs": ["pay-2"]},
        {"id": "done", "kind": "outcome", "name": "customer verified", "parent": "root",
         "outcome": "success", "start": "2026-03-05T10:08:30Z",
         "end": "2026-03-05T10:08:31Z", "inputs": ["review"]},
    ],
}


def agent_with_tool_calls(count: int) -> Trace:
    """One agent making ``count`` tool calls: a search three times in a row (a run the
    drawing folds into "×3"), then a policy look-up and a fraud check; every seventh
    fraud check times out and is retried."""
    second = 1_000_000_000
    t0 = 1_772_000_000 * second
    steps = [Step(id="agent", kind=StepKind.AGENT, name="bulk-claims-agent", start_ns=t0,
                  end_ns=t0 + (count + 2) * second, status=Status.OK)]
    n = 0
    while n < count:
        start = t0 + (n + 1) * second
        tool = ("search_kb", "search_kb", "search_kb", "lookup_policy",
                "check_fraud_score")[n % 5]
        if tool == "check_fraud_score" and (n // 5) % 7 == 3 and n + 1 < count:
            steps.append(Step(id=f"call-{n}", kind=StepKind.TOOL_CALL, name=tool,
                              tool_name=tool, parent_id="agent", start_ns=start,
                              end_ns=start + second // 4, status=Status.ERROR,
                              error_type="Timeout", error="fraud service timed out"))
            n += 1
            steps.append(Step(id=f"call-{n}", kind=StepKind.RETRY, name=tool, tool_name=tool,
                              parent_id="agent", retry_of=f"call-{n - 1}",
                              start_ns=start + second // 2, end_ns=start + second * 3 // 4,
                              status=Status.OK, arguments={"claim": n}))
        else:
            steps.append(Step(id=f"call-{n}", kind=StepKind.TOOL_CALL, name=tool,
                              tool_name=tool, parent_id="agent", start_ns=start,
                              end_ns=start + second // 2, status=Status.OK,
                              arguments={"claim": n}, result={"ok": True}))
        n += 1
    return Trace(id=BIG_TRACE, source_format="native", workflow="bulk-claims",
                 steps=tuple(steps))


# -- the server, the browser and helpers -------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server over the fixtures, the personal-data trace and the big trace."""
    folder = tmp_path_factory.mktemp("ui-browser")
    pii_file = folder / "kyc.json"
    pii_file.write_text(json.dumps(PII_RECORD))
    config = config_with_tokens(load_config(FIXTURES / "tracegraph.toml"))
    store = SQLiteStore(folder / "ui.db")
    import_paths(store, [FIXTURES, pii_file])
    store.write_traces([agent_with_tool_calls(5000)])
    analyze_stale(store, config=config)
    assert store.find_trace_ids([PII_TRACE, BIG_TRACE, WASTED_TRACE]) == {
        PII_TRACE, BIG_TRACE, WASTED_TRACE}
    store.close()
    with running(folder / "ui.db", config) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium_browser() as opened:
        yield opened


@pytest.fixture
def new_tab(browser: Any) -> Iterator[Callable[[], Visit]]:
    """Tabs in fresh browser contexts (no cookies), downloads accepted; closed after."""
    contexts: list[Any] = []

    def open_tab() -> Visit:
        context = browser.new_context(accept_downloads=True,
                                      viewport={"width": 1280, "height": 900})
        contexts.append(context)
        return watch(context.new_page())

    yield open_tab
    for context in contexts:
        context.close()


def screenshot(tab: Any, name: str, *, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    ignore = ARTIFACTS / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n!.gitignore\n")
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def sign_in(tab: Any, base: str, role: str, *, next_path: str | None = None) -> None:
    """Through the form, as a person does: paste the token, press Sign in."""
    query = "?" + urlencode({"next": next_path}) if next_path else ""
    tab.goto(f"{base}/ui/login{query}")
    tab.get_by_label("Token").fill(TOKENS[role])
    with tab.expect_response(lambda r: r.request.method == "POST"
                             and urlsplit(r.url).path == "/ui/login"):
        tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_load_state()


def dollars(text: str) -> Decimal:
    """``$1,234.56`` as an amount; anything else (``unpriced``) fails the test."""
    match = re.fullmatch(r"\s*(-?)\$([\d,]+(?:\.\d+)?)\s*", text)
    assert match, f"{text!r} is not an amount in dollars"
    return Decimal(match.group(1) + match.group(2).replace(",", ""))


def download(tab: Any, link_name: str) -> tuple[str, bytes]:
    with tab.expect_download() as started:
        tab.get_by_role("link", name=link_name).click()
    got = started.value
    return got.suggested_filename, Path(got.path()).read_bytes()


class _Addresses(html.parser.HTMLParser):
    """Every URL an HTML file would load or link to: src, href, xlink:href, action,
    srcset, and url(...) in style attributes and blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if value and name in ("src", "href", "xlink:href", "action", "srcset", "poster",
                                  "data"):
                self.urls.append(value)
            if value and name == "style":
                self.urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", value)

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", data)
            self.urls += re.findall(r"@import\s+['\"]([^'\"]+)", data)


# -- 1. the journey ----------------------------------------------------------------------

def test_a_reader_signs_in_filters_sorts_opens_a_trail_explains_compares_and_exports(
        site: str, new_tab: Callable[[], Visit]) -> None:
    seen = new_tab()
    tab = seen.tab
    tab.goto(f"{site}/ui/login")
    screenshot(tab, "login")
    sign_in(tab, site, "reader")
    assert urlsplit(tab.url).path == "/ui/traces"
    assert tab.get_by_role("heading", level=1).inner_text() == "Traces"
    cookie = next(c for c in tab.context.cookies() if c["name"] == "tracegraph_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
    assert "reader" in tab.locator(".who").inner_text()
    screenshot(tab, "traces")

    # Filter: choose a workflow, submit; the URL carries it; every row is of it.
    tab.get_by_label("Workflow").select_option("claims-triage")
    tab.get_by_role("button", name="Filter").click()
    tab.wait_for_url(re.compile(r"workflow=claims-triage"))
    rows = tab.locator("table.list tbody tr")
    assert rows.count() >= 2
    assert set(rows.locator("td:nth-child(2)").all_inner_texts()) == {"claims-triage"}
    assert tab.get_by_label("Workflow").input_value() == "claims-triage"

    # Sort by cost: the filter stays, dearest first.
    tab.get_by_role("link", name="cost, dearest first").click()
    tab.wait_for_url(re.compile(r"sort=cost"))
    assert parse_qs(urlsplit(tab.url).query)["workflow"] == ["claims-triage"]
    costs = [dollars(t) for t in rows.locator("td:nth-child(4)").all_inner_texts()]
    assert costs[0] >= costs[1] and costs == sorted(costs, reverse=True)
    assert set(rows.locator("td:nth-child(2)").all_inner_texts()) == {"claims-triage"}
    screenshot(tab, "traces-claims-by-cost")

    # A trace with wasted steps.
    tab.get_by_role("link", name=WASTED_TRACE, exact=True).click()
    tab.wait_for_url(f"**/ui/traces/{WASTED_TRACE}")
    assert WASTED_TRACE in tab.get_by_role("heading", level=1).inner_text()
    reasons = tab.locator("section[aria-labelledby=waste-h] ul.reasons li").all_inner_texts()
    assert reasons, "no wasted steps listed"
    for line in reasons:
        assert re.fullmatch(r"[a-z ]+ \d+ steps? · \$[\d,.]+", line.strip()), line
    assert any(line.startswith("failed attempt 2 steps · $") for line in reasons), reasons
    wasted_nodes = tab.locator(".figure.trail svg a.tg-node.role-wasted")
    assert wasted_nodes.count() >= 4
    badge = tab.locator(".figure.trail svg a.tg-node.role-wasted.reason-failed_attempt "
                        "text.tg-pt").first
    assert re.fullmatch(r"failed attempt · \$[\d.]+", badge.text_content() or "")
    assert badge.is_visible()
    screenshot(tab, "trace")

    # A step's summary opens its details: cost, role, evidence.
    step = tab.locator("details#step-s5")
    assert step.get_attribute("open") is None
    step.locator("summary").click()
    assert step.get_attribute("open") is not None
    details = step.locator("dl.kv")
    assert details.is_visible()
    assert dollars(details.locator("dt:text-is('Cost') + dd").inner_text().split(" (")[0]) \
        == Decimal("0.004")
    assert details.locator("dt:text-is('Mark') + dd").inner_text().split() == [
        "wasted", "failed", "attempt"]
    evidence = details.locator("dt:text-is('Evidence') + dd")
    assert evidence.is_visible()
    assert "retried by s6" in (evidence.text_content() or "")

    # Its permalink, and back.
    step.get_by_role("link", name="Permalink to this step").click()
    tab.wait_for_url(f"**/ui/traces/{WASTED_TRACE}/steps/s5")
    assert tab.get_by_role("heading", level=1).inner_text().startswith("Step s5")
    assert "$0.004" in tab.locator("dl.kv").inner_text()
    screenshot(tab, "step")
    tab.go_back()
    tab.wait_for_url(f"**/ui/traces/{WASTED_TRACE}")

    # "Explain the cost": the drivers table, with dollars, and an offer to compare.
    # (In place, without leaving the page: test_explain_loads_in_place.)
    tab.get_by_role("link", name="Explain the cost").click()
    drivers = tab.locator("table:has(caption:has-text('Cost drivers'))")
    drivers.wait_for()
    driver_rows = drivers.locator("tbody tr")
    assert driver_rows.count() >= 2
    for amount in driver_rows.locator("td:nth-child(2)").all_inner_texts():
        dollars(amount)
    compare_link = tab.get_by_role("link", name="Compare with it")
    assert compare_link.is_visible()
    screenshot(tab, "trace-explained")

    # The comparison: both ids, where they diverge, cost by reason.
    other = parse_qs(urlsplit(compare_link.get_attribute("href") or "").query)["b"][0]
    compare_link.click()
    tab.wait_for_url("**/ui/compare?*")
    header = tab.locator("table.sides thead").inner_text()
    assert WASTED_TRACE in header and other in header
    marker = tab.locator("tr#divergence .badge.divergence")
    assert marker.inner_text() == "diverges" and marker.is_visible()
    assert "diverge at position" in tab.locator("main").inner_text()
    by_reason = tab.locator("h2:text-is('Cost difference by what it bought') + table")
    reason_rows = by_reason.locator("tbody tr")
    assert reason_rows.count() >= 2
    assert reason_rows.last.locator("td").first.inner_text() == "total"
    for amount in reason_rows.locator("td.num").all_inner_texts():
        dollars(amount)
    screenshot(tab, "compare")

    # The audit exports, as downloads.
    tab.goto(f"{site}/ui/traces/{WASTED_TRACE}")
    json_name, json_body = download(tab, "Export (JSON)")
    record = json.loads(json_body)
    step_ids = [s["id"] for s in record["steps"]]
    assert json_name == f"tracegraph-audit-{WASTED_TRACE}.json"
    assert record["trace"]["id"] == WASTED_TRACE and len(step_ids) == 12
    assert record["generated_for_role"] == "reader" and record["redacted"] is True

    html_name, html_body = download(tab, "Export for the audit file (HTML)")
    assert html_name == f"tracegraph-audit-{WASTED_TRACE}.html"
    text = html_body.decode()
    addresses = _Addresses()
    addresses.feed(text)
    outside = [u for u in addresses.urls if not u.startswith(("#", "data:"))]
    assert outside == [], f"the export points outside itself: {outside}"
    assert "script" not in addresses.tags and "link" not in addresses.tags
    assert "svg" in addresses.tags and 'class="tg-node' in text
    missing = [s for s in step_ids if f'id="step-{s}"' not in text]
    assert missing == [], f"steps missing from the HTML export: {missing}"

    # Opened from disk it loads nothing at all.
    saved = ARTIFACTS / "export.html"
    ARTIFACTS.mkdir(exist_ok=True)
    saved.write_bytes(html_body)
    offline = new_tab()
    offline.tab.goto(saved.as_uri())
    assert offline.requests == [saved.as_uri()], offline.requests
    assert offline.tab.locator("ol.steps > li").count() == len(step_ids)
    screenshot(offline.tab, "export")
    assert seen.dialogs == []
    assert [e for e in seen.errors if "Content Security Policy" not in e] == []


def test_explain_loads_in_place(site: str, new_tab: Callable[[], Visit]) -> None:
    seen = new_tab()
    tab = seen.tab
    sign_in(tab, site, "reader", next_path=f"/ui/traces/{WASTED_TRACE}")
    tab.evaluate("window.stillTheSamePage = true")
    tab.get_by_role("link", name="Explain the cost").click()
    tab.locator("table:has(caption:has-text('Cost drivers'))").wait_for()
    assert urlsplit(tab.url).path == f"/ui/traces/{WASTED_TRACE}"
    assert tab.evaluate("window.stillTheSamePage") is True
    drivers = tab.locator("#explain table")
    assert drivers.is_visible()
    assert tab.evaluate("document.activeElement.closest('#explain') !== null")
    assert tab.locator("#explain").get_by_role("link", name="Compare with it").is_visible()
    assert seen.errors == []


def test_a_steps_evidence_reads_as_sentences(site: str, new_tab: Callable[[], Visit]) -> None:
    tab = new_tab().tab
    sign_in(tab, site, "auditor", next_path=f"/ui/traces/{WASTED_TRACE}#step-s5")
    items = tab.locator("details#step-s5 ul.evidence li").all_inner_texts()
    assert items and all(len(item) > 1 for item in items), items[:5]


# -- 2. redaction by role ------------------------------------------------------------------

def _leaks(text: str) -> list[str]:
    return [value for value in PERSONAL_DATA if value in text]


def test_a_reader_sees_personal_data_redacted_and_an_auditor_raw(
        site: str, new_tab: Callable[[], Visit]) -> None:
    reader = new_tab().tab
    sign_in(reader, site, "reader", next_path=f"/ui/traces/{PII_TRACE}#step-lookup")
    lookup = reader.locator("details#step-lookup")
    assert lookup.get_attribute("open") is not None  # opened from the address
    shown = lookup.inner_text()
    for replacement in ("[redacted:email]", "[redacted:phone]", "[redacted:account]"):
        assert replacement in shown
    assert _leaks(shown) == []
    assert "redacted for the reader role" in reader.locator("main p.note").inner_text()
    reader.locator("details#step-pay-1 > summary").click()
    failed = reader.locator("details#step-pay-1").inner_text()
    assert "[redacted:account]" in failed and _leaks(failed) == []
    attributes = reader.locator("main p.attrs").inner_text()
    assert "[redacted:email]" in attributes and _leaks(attributes) == []
    screenshot(reader, "trace-reader-redacted")

    reader.goto(f"{site}/ui/traces/{PII_TRACE}/steps/lookup")
    assert "[redacted:phone]" in reader.locator("main").inner_text()
    assert _leaks(reader.content()) == []

    reader.goto(f"{site}/ui/traces/{PII_TRACE}")
    _, body = download(reader, "Export (JSON)")
    record = json.loads(body)
    assert record["redacted"] is True
    lookup_record = next(s for s in record["steps"] if s["id"] == "lookup")
    assert "[redacted:email]" in lookup_record["arguments"]
    assert "[redacted:phone]" in lookup_record["result"]
    assert _leaks(body.decode()) == []
    _, page_export = download(reader, "Export for the audit file (HTML)")
    assert "[redacted:email]" in page_export.decode()

    auditor = new_tab().tab
    sign_in(auditor, site, "auditor", next_path=f"/ui/traces/{PII_TRACE}#step-lookup")
    raw = auditor.locator("details#step-lookup").inner_text()
    assert EMAIL in raw and PHONE in raw and IBAN in raw
    assert "[redacted:" not in auditor.locator("main").inner_text()
    assert not auditor.locator("main p.note").filter(has_text="redacted").count()
    _, body = download(auditor, "Export (JSON)")
    record = json.loads(body)
    assert record["redacted"] is False
    assert EMAIL in body.decode() and IBAN_COMPACT in body.decode()
    screenshot(auditor, "trace-auditor-raw")


def test_a_reader_finds_no_personal_data_in_the_trail_drawing_or_its_export(
        site: str, new_tab: Callable[[], Visit]) -> None:
    tab = new_tab().tab
    sign_in(tab, site, "reader", next_path=f"/ui/traces/{PII_TRACE}")
    tooltips = " ".join(tab.locator(".figure.trail svg title").all_text_contents())
    assert "bank refused [redacted:account]" in tooltips
    assert _leaks(tab.content()) == []
    _, export = download(tab, "Export for the audit file (HTML)")
    assert _leaks(export.decode()) == []


def test_a_reader_finds_no_personal_data_in_the_explanation(
        site: str, new_tab: Callable[[], Visit]) -> None:
    tab = new_tab().tab
    sign_in(tab, site, "reader", next_path=f"/ui/traces/{PII_TRACE}/explain")
    decisive = tab.locator("main ul").filter(has_text="overrode").inner_text()
    assert "called the customer on [redacted:phone]" in decisive
    assert _leaks(tab.locator("main").inner_text()) == []


# -- 3. access -----------------------------------------------------------------------------

def test_without_a_cookie_a_page_asks_to_sign_in_refuses_a_wrong_token_and_comes_back(
        site: str, new_tab: Callable[[], Visit]) -> None:
    tab = new_tab().tab
    wanted = "/ui/traces?workflow=claims-triage"
    tab.goto(site + wanted)
    assert urlsplit(tab.url).path == "/ui/login"
    assert parse_qs(urlsplit(tab.url).query)["next"] == [wanted]
    assert tab.get_by_role("heading", level=1).inner_text() == "Sign in"
    assert WASTED_TRACE not in tab.content()

    tab.get_by_label("Token").fill("tg_not_a_token_of_this_server")
    with tab.expect_response(lambda r: r.request.method == "POST") as answer:
        tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_load_state()
    assert answer.value.status == 401
    assert "not known" in tab.get_by_role("alert").inner_text()
    assert urlsplit(tab.url).path == "/ui/login"
    assert not [c for c in tab.context.cookies() if c["name"] == "tracegraph_token"]
    screenshot(tab, "login-refused")

    tab.get_by_label("Token").fill(TOKENS["reader"])
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(site + wanted)
    assert tab.get_by_label("Workflow").input_value() == "claims-triage"

    tab.get_by_role("button", name="Sign out").click()
    tab.wait_for_url("**/ui/login")
    tab.goto(f"{site}/ui/traces/{WASTED_TRACE}")
    assert urlsplit(tab.url).path == "/ui/login"


def test_an_ingest_token_sees_no_page(site: str, new_tab: Callable[[], Visit]) -> None:
    tab = new_tab().tab
    sign_in(tab, site, "ingest")  # refused at the door, with the reason
    assert tab.get_by_role("heading", level=1).inner_text() == "Sign in"
    assert "sends traces and reads nothing" in tab.get_by_role("alert").inner_text()
    screenshot(tab, "forbidden")
    # A script carrying the token in the header gets no page either.
    tab.set_extra_http_headers({"Authorization": f"Bearer {TOKENS['ingest']}"})
    for path in ("/ui/traces", f"/ui/traces/{WASTED_TRACE}",
                 f"/ui/traces/{WASTED_TRACE}/steps/s5", f"/ui/traces/{WASTED_TRACE}/export.json",
                 f"/ui/compare?a={WASTED_TRACE}&b=claim-2026-0001", "/ui/workflows/claims-triage"):
        response = tab.goto(site + path)
        assert response is not None and response.status == 403, path
        assert "'ingest' role sees no pages" in tab.get_by_role("alert").inner_text()
        assert tab.locator("main table, main dl, main svg").count() == 0, path


def test_the_ui_is_read_only(site: str, new_tab: Callable[[], Visit]) -> None:
    tab = new_tab().tab
    sign_in(tab, site, "admin")
    for path in ("/ui/traces", f"/ui/traces/{WASTED_TRACE}"):
        tab.goto(site + path)
        actions = tab.locator("form[method=post]").evaluate_all(
            "forms => forms.map(f => f.getAttribute('action'))")
        assert actions == ["/ui/logout"], path  # the only form that posts signs out
    request = tab.context.request
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for path in ("/ui/traces", f"/ui/traces/{WASTED_TRACE}",
                 f"/ui/traces/{WASTED_TRACE}/steps/s5", f"/ui/traces/{WASTED_TRACE}/export.json",
                 "/ui/compare", "/ui/workflows/claims-triage"):
        for method in ("post", "put", "delete", "patch"):
            answer = getattr(request, method)(site + path, data="outcome=success", headers=form)
            assert answer.status == 405, (method, path, answer.status)
    assert request.get(f"{site}/ui/traces").status == 200  # the cookie did go along


def test_signing_in_never_sends_a_browser_off_site(site: str,
                                                   new_tab: Callable[[], Visit]) -> None:
    seen = new_tab()
    tab = seen.tab
    here = urlsplit(site).netloc
    for target in ("https://evil.example/steal", "//evil.example/steal", "/\\evil.example",
                   "javascript:alert(1)", "/ui/..//evil.example", "/ui/../\\evil.example"):
        tab.goto(f"{site}/ui/login?{urlencode({'next': target})}")
        assert tab.locator("input[name=next]").input_value().startswith("/ui"), target
        tab.get_by_label("Token").fill(TOKENS["reader"])
        tab.get_by_role("button", name="Sign in").click()
        tab.wait_for_load_state()
        assert urlsplit(tab.url).netloc == here, (target, tab.url)
    assert not [u for u in seen.requests if urlsplit(u).netloc != here]
    assert seen.dialogs == []


# -- 4. accessibility ----------------------------------------------------------------------

UNLABELLED_FIELDS = """() => Array.from(document.querySelectorAll(
    'input:not([type=hidden]), select, textarea')).filter(el => {
  const named = (el.getAttribute('aria-label') || '').trim()
    || (el.getAttribute('aria-labelledby') || '').split(/\\s+/).some(id =>
         (document.getElementById(id)?.textContent || '').trim());
  const label = (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`))
    || el.closest('label');
  return !named && !(label && label.textContent.trim());
}).map(el => el.outerHTML)"""

UNTITLED_GRAPHICS = """() => [
  ...Array.from(document.querySelectorAll('svg')).filter(svg =>
    svg.getAttribute('aria-hidden') !== 'true' && !svg.closest('[aria-hidden=true]')
    && !(svg.getAttribute('aria-label') || '').trim()
    && !(svg.querySelector(':scope > title')?.textContent || '').trim())
    .map(svg => svg.outerHTML.slice(0, 120)),
  ...Array.from(document.querySelectorAll('img:not([alt])')).map(img => img.outerHTML)]"""


def test_pages_label_every_field_have_one_h1_and_name_every_drawing(
        site: str, new_tab: Callable[[], Visit]) -> None:
    tab = new_tab().tab
    sign_in(tab, site, "reader")
    for path in ("/ui/traces", "/ui/traces?workflow=claims-triage&sort=cost",
                 f"/ui/traces/{WASTED_TRACE}", f"/ui/traces/{WASTED_TRACE}/steps/s5",
                 f"/ui/compare?a={WASTED_TRACE}&b=claim-2026-0001",
                 "/ui/workflows/claims-triage", "/ui/login"):
        tab.goto(site + path)
        assert tab.locator("h1").count() == 1, path
        assert tab.evaluate("document.documentElement.lang") == "en"
        assert tab.title().endswith("· tracegraph"), path
        assert tab.evaluate(UNLABELLED_FIELDS) == [], path
        assert tab.evaluate(UNTITLED_GRAPHICS) == [], path
    tab.goto(f"{site}/ui/traces/{WASTED_TRACE}")
    assert tab.locator("svg").count() >= 3  # trail, timeline, waterfall


def test_the_explain_page_has_a_heading_of_its_own(site: str,
                                                   new_tab: Callable[[], Visit]) -> None:
    tab = new_tab().tab
    sign_in(tab, site, "reader", next_path=f"/ui/traces/{WASTED_TRACE}/explain")
    assert tab.locator("h1").count() == 1


def test_the_keyboard_skips_to_main_reaches_filters_and_traces_and_opens_steps(
        site: str, new_tab: Callable[[], Visit]) -> None:
    tab = new_tab().tab
    sign_in(tab, site, "reader")
    tab.goto(f"{site}/ui/traces")
    tab.keyboard.press("Tab")
    skip = tab.locator("a.skip")
    assert tab.evaluate("document.activeElement.className") == "skip"
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0  # shown when focused
    assert skip.inner_text() == "Skip to content"
    tab.keyboard.press("Enter")
    assert tab.evaluate("document.activeElement.id") == "main"

    tab.goto(f"{site}/ui/traces")
    reached: list[tuple[str, str, bool]] = []
    for _ in range(80):
        tab.keyboard.press("Tab")
        reached.append(tuple(tab.evaluate(
            "[document.activeElement.id, document.activeElement.getAttribute('href') || '',"
            " !!document.activeElement.closest('form.filters')]")))
        if re.fullmatch(r"/ui/traces/[^?#]+", reached[-1][1]):
            break
    assert {"q", "workflow", "outcome"} <= {i for i, _, in_form in reached if in_form}
    assert re.fullmatch(r"/ui/traces/[^?#]+", reached[-1][1]), reached[-5:]
    tab.keyboard.press("Enter")
    tab.wait_for_url(re.compile(r"/ui/traces/[^?#]+$"))

    tab.goto(f"{site}/ui/traces/{WASTED_TRACE}")
    summary = tab.locator("details#step-s5 > summary")
    summary.focus()
    tab.keyboard.press("Enter")
    assert tab.locator("details#step-s5").get_attribute("open") is not None
    assert tab.locator("details#step-s5 dl.kv").is_visible()
    tab.keyboard.press("j")  # ui.js: j / k move between steps
    assert tab.evaluate("document.activeElement.parentElement.id") == "step-s6"


COLOURS = """(selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const style = getComputedStyle(el);
  const backgrounds = [];
  for (let node = el; node && node.nodeType === 1; node = node.parentElement)
    backgrounds.push(getComputedStyle(node).backgroundColor);
  return {text: style.color, backgrounds: backgrounds};
}"""

SVG_COLOURS = """([text, shape]) => {
  const t = document.querySelector(text), s = document.querySelector(shape);
  if (!t || !s) return null;
  return {text: getComputedStyle(t).fill, backgrounds: [getComputedStyle(s).fill, 'rgb(255, 255, 255)']};
}"""


def _rgba(css: str) -> tuple[float, float, float, float]:
    match = re.fullmatch(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)", css)
    assert match, f"not a colour: {css!r}"
    r, g, b, a = match.groups()
    return float(r), float(g), float(b), 1.0 if a is None else float(a)


def _over(top: tuple[float, float, float, float],
          under: tuple[float, float, float]) -> tuple[float, float, float]:
    alpha = top[3]
    return tuple(alpha * t + (1 - alpha) * u for t, u in zip(top[:3], under))  # type: ignore


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(found: dict[str, Any]) -> float:
    """WCAG contrast of text over what is behind it (backgrounds innermost first, over a
    white canvas)."""
    behind: tuple[float, float, float] = (255.0, 255.0, 255.0)
    for layer in reversed(found["backgrounds"]):
        behind = _over(_rgba(layer), behind)
    text = _over(_rgba(found["text"]), behind)
    light, dark = sorted((_luminance(text), _luminance(behind)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_text_and_badges_meet_wcag_aa_contrast(site: str,
                                               new_tab: Callable[[], Visit]) -> None:
    tab = new_tab().tab
    sign_in(tab, site, "reader")
    tab.mouse.move(0, 0)
    checks = {
        "/ui/traces": ["main h1", "p.sorting", "table.list caption", ".filters label",
                       "thead th", "table.list tbody td a", "table.list tbody td .muted",
                       ".badge.outcome-success", ".badge.outcome-failure", ".who .badge",
                       ".who .muted", ".filters button[type=submit]", "footer.foot"],
        f"/ui/traces/{WASTED_TRACE}": [
            "dl.summary dt", "dd.wasted", "p.note", "a.button", ".badge.role-wasted",
            ".badge.role-essential", "[class*='badge reason-']", ".badge.status-error",
            ".badge.outcome", "details.step.role-wasted > summary .kind",
            "details.step.role-wasted > summary .name", "ul.reasons li"],
    }
    failures = []
    for path, selectors in checks.items():
        tab.goto(site + path)
        for selector in selectors:
            found = tab.evaluate(COLOURS, selector)
            assert found is not None, f"{path}: nothing matches {selector}"
            if contrast(found) < 4.5:
                failures.append((path, selector, found["text"], round(contrast(found), 2)))
    for text, shape in ((".tg-node.reason-failed_attempt .tg-pt",
                         ".tg-node.reason-failed_attempt .tg-pill"),
                        (".tg-node.role-wasted .tg-l1", ".tg-node.role-wasted .tg-box"),
                        (".tg-node.role-essential .tg-l1", ".tg-node.role-essential .tg-box")):
        found = tab.evaluate(SVG_COLOURS, [text, shape])
        assert found is not None, f"nothing matches {text} on {shape}"
        if contrast(found) < 4.5:
            failures.append(("trail drawing", text, found["text"], round(contrast(found), 2)))
    assert failures == []


# -- 5. a 5,000-step trace -------------------------------------------------------------------

def _trail_bytes(tab: Any) -> int:
    return len(tab.locator(".figure.trail svg").evaluate("svg => svg.outerHTML").encode())


def _boxes_and_details(tab: Any) -> tuple[set[str], list[str]]:
    """The ids the drawing's boxes link to (#step-…), and those of the listed details."""
    linked = set(tab.locator(".figure.trail svg a.tg-node").evaluate_all(
        "links => links.map(a => decodeURIComponent(a.getAttribute('href').slice(1)))"))
    listed = tab.locator("ol.steps details.step").evaluate_all("d => d.map(x => x.id)")
    return linked, listed


def test_a_5000_step_trail_opens_in_pages(site: str, new_tab: Callable[[], Visit]) -> None:
    seen = new_tab()
    tab = seen.tab
    sign_in(tab, site, "reader")
    started = time.monotonic()
    response = tab.goto(f"{site}/ui/traces/{BIG_TRACE}")
    assert response is not None and response.status == 200
    assert time.monotonic() - started < 20
    pager = tab.get_by_role("navigation", name="Trail pages")
    assert pager.is_visible()
    pages = int(re.search(r"of (\d+)", pager.inner_text()).group(1))  # type: ignore[union-attr]
    assert pages >= 5  # 5,001 steps, runs of three searches drawn as one box, 400 a page
    assert pager.locator("[aria-current=page]").inner_text() == "1"
    assert _trail_bytes(tab) < 1_500_000
    assert tab.locator(".figure.trail svg a.tg-node").count() <= 400
    linked, first_page = _boxes_and_details(tab)
    assert linked and linked <= set(first_page)
    screenshot(tab, "trace-5000-page-1", full_page=False)

    started = time.monotonic()
    pager.get_by_role("link", name="2", exact=True).click()
    tab.wait_for_url(re.compile(r"[?&]page=1\b"))
    tab.wait_for_load_state()
    assert time.monotonic() - started < 20
    assert pager.locator("[aria-current=page]").inner_text() == "2"
    assert "page 2 of" in (tab.locator(".figure.trail svg").get_attribute("aria-label") or "")
    assert _trail_bytes(tab) < 1_500_000
    linked, second_page = _boxes_and_details(tab)
    assert linked and linked <= set(second_page)
    assert second_page and not set(second_page) & set(first_page)
    assert tab.locator("#steps-h").inner_text().startswith("Steps")
    screenshot(tab, "trace-5000-page-2", full_page=False)

    tab.goto(f"{site}/ui/traces/{BIG_TRACE}?page={pages}")  # one past the last
    assert "page" in tab.get_by_role("alert").inner_text()
    assert [e for e in seen.errors if "Content Security Policy" not in e
            and "status of 400" not in e] == []


def test_axe_finds_no_accessibility_violation_on_any_page(
        site: str, new_tab: Callable[[], Visit]) -> None:
    """axe-core's WCAG 2 A/AA rules (bundled with axe-playwright-python, no network) over
    every kind of page a reader opens."""
    from axe_playwright_python.sync_playwright import Axe
    axe = Axe()
    tab = new_tab().tab
    sign_in(tab, site, "reader")
    found: dict[str, list[str]] = {}
    for path in ("/ui/traces", f"/ui/traces/{WASTED_TRACE}",
                 f"/ui/traces/{WASTED_TRACE}/steps/s5", f"/ui/traces/{WASTED_TRACE}/explain",
                 f"/ui/compare?a=claim-2026-0001&b={WASTED_TRACE}",
                 "/ui/workflows/claims-triage", "/ui/login"):
        tab.goto(site + path)
        results = axe.run(tab, options={"runOnly": {"type": "tag", "values": [
            "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}})
        violations = [f"{v['impact']} {v['id']}: {v['nodes'][0]['target']}"
                      for v in results.response["violations"]]
        if violations:
            found[path] = violations
    assert found == {}
