"""The UI over HTTP, without a browser: who sees what, bad parameters, headers, both
stores.  (The browser journey is tests/test_ui_browser.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import httpx
import orjson
import pytest

from tracegraph.config import load_config
from tracegraph.model import Status, Step, StepKind, Trace
from tracegraph.services.analysis import analyze_stale
from tracegraph.services.importing import import_paths
from tracegraph.store import SQLiteStore

from .conftest import FIXTURES
from .server import TOKENS, config_with_tokens, running

SECRET = Trace(id="secret-1", source_format="native", workflow="kyc", steps=(
    Step(id="root", kind=StepKind.AGENT, name="kyc", start_ns=1, end_ns=9, status=Status.OK),
    Step(id="ask", kind=StepKind.LLM, name="check", parent_id="root", start_ns=2, end_ns=3,
         model="gpt-4o-mini", provider="openai", input_tokens=10, output_tokens=5,
         input="Customer jane.doe+kyc@example.org, phone +44 20 7946 0958, "
               "IBAN DE89 3704 0044 0532 0130 00",
         output="verified jane.doe+kyc@example.org")))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("ui") / "ui.db"
    config = config_with_tokens(load_config(FIXTURES / "tracegraph.toml"))
    store = SQLiteStore(db)
    import_paths(store, [FIXTURES])
    store.write_traces([SECRET])
    analyze_stale(store, config=config, workers=1)
    store.close()
    with running(db, config) as base:
        yield base


def get(base: str, path: str, role: str | None = "reader", **kw: Any) -> httpx.Response:
    headers = {} if role is None else {"Authorization": f"Bearer {TOKENS[role]}"}
    return httpx.get(base + path, headers=headers, timeout=60, **kw)


def test_a_browser_without_a_token_is_sent_to_sign_in_and_back(served: str) -> None:
    first = get(served, "/ui/traces?workflow=claims-triage", role=None)
    assert first.status_code == 303
    assert first.headers["location"] == ("/ui/login?next=%2Fui%2Ftraces%3Fworkflow%3D"
                                         "claims-triage")
    with httpx.Client(base_url=served, timeout=30) as browser:
        wrong = browser.post("/ui/login", data={"token": "nope", "next": "/ui/traces"})
        assert wrong.status_code == 401 and "not known" in wrong.text
        signed = browser.post("/ui/login", data={"token": TOKENS["auditor"],
                                                 "next": "/ui/traces?workflow=claims-triage"})
        assert signed.status_code == 303
        assert signed.headers["location"] == "/ui/traces?workflow=claims-triage"
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/ui" in cookie
        page = browser.get("/ui/traces?workflow=claims-triage")
        assert page.status_code == 200 and "claim-2026-0002" in page.text
        assert browser.get("/graphql").status_code == 401  # the cookie is for /ui only
        away = browser.post("/ui/login", data={"token": TOKENS["reader"],
                                               "next": "https://evil.example/"})
        assert away.headers["location"] == "/ui/traces"


def test_ingest_tokens_see_no_page_and_pages_are_read_only(served: str) -> None:
    assert get(served, "/ui/traces", role="ingest").status_code == 403
    refused = httpx.post(served + "/ui/traces", headers={
        "Authorization": f"Bearer {TOKENS['admin']}", "Content-Length": "0"})
    assert refused.status_code == 405


def test_readers_see_payloads_redacted_auditors_raw(served: str) -> None:
    reader = get(served, "/ui/traces/secret-1").text
    assert "jane.doe+kyc@example.org" not in reader and "[redacted:email]" in reader
    assert "DE89 3704" not in reader and "7946 0958" not in reader
    auditor = get(served, "/ui/traces/secret-1", role="auditor").text
    assert "jane.doe+kyc@example.org" in auditor and "DE89 3704 0044 0532 0130 00" in auditor
    exported = orjson.loads(get(served, "/ui/traces/secret-1/export.json").content)
    assert exported["redacted"] and "redacted" in exported["redactions"]
    assert "jane.doe" not in orjson.dumps(exported).decode()
    raw = orjson.loads(get(served, "/ui/traces/secret-1/export.json", role="auditor").content)
    assert not raw["redacted"] and "jane.doe+kyc@example.org" in orjson.dumps(raw).decode()
    step = get(served, "/ui/traces/secret-1/steps/ask").text
    assert "[redacted:email]" in step and "jane.doe" not in step


@pytest.mark.parametrize("query, says", [
    ("min_cost=abc", "min_cost 'abc' is not an amount"),
    ("outcome=maybe", "outcome 'maybe'"),
    ("since=yesterday", "since 'yesterday' is not a date"),
    ("attr=novalue", "attr: write it as name=value"),
    ("override=perhaps", "override: use yes or no"),
    ("sort=price", "sort 'price'"),
    ("offset=-1", "offset '-1' is not a whole number"),
])
def test_a_bad_filter_is_a_400_that_names_it(served: str, query: str, says: str) -> None:
    page = get(served, f"/ui/traces?{query}")
    assert page.status_code == 400
    assert says in page.text.replace("&#39;", "'")


def test_filters_and_sorting_reach_the_store(served: str) -> None:
    failed = get(served, "/ui/traces?outcome=failure").text
    assert "ticket-2026-0107" in failed and "claim-2026-0002" not in failed
    dear = get(served, "/ui/traces?sort=cost").text
    assert dear.index("claim-2026-0002") < dear.index("claim-2026-0001")
    auto = get(served, "/ui/traces?attr=claim.type%3Dauto").text
    assert "claim-2026-0002" in auto and "invoice-2026-0042" not in auto
    found = get(served, "/ui/traces?q=claim-2026-0001").text
    assert found.count('href="/ui/traces/claim-2026-0001"') == 1
    assert 'href="/ui/traces/claim-2026-0002"' not in found
    started = get(served, "/ui/traces?q=claim-2026").text
    assert 'href="/ui/traces/claim-2026-0001"' in started
    assert 'href="/ui/traces/claim-2026-0002"' in started
    assert "invoice-2026" not in started


def test_missing_things_are_404_pages_without_the_store_address(served: str) -> None:
    for path in ("/ui/traces/nope", "/ui/traces/claim-2026-0001/steps/nope",
                 "/ui/workflows/nope", "/ui/traces/claim-2026-0001/export.pdf"):
        page = get(served, path)
        assert page.status_code == 404, path
        assert "ui.db" not in page.text
    assert get(served, "/ui/traces/claim-2026-0001?page=99").status_code == 400


def test_pages_carry_a_strict_content_security_policy(served: str) -> None:
    page = get(served, "/ui/traces/claim-2026-0002")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "http://" not in page.text.replace("http://www.w3.org", "")
    assert get(served, "/ui/static/ui.css").status_code == 200
    assert get(served, "/ui/static/../app.py").status_code == 404


def test_the_pages_answer_the_same_on_a_bolt_store(bolt_store: Any, tmp_path: Path) -> None:
    from tracegraph.server import create_app
    from starlette.testclient import TestClient
    bolt_store._run_text("MATCH (n) DETACH DELETE n", {})
    config = config_with_tokens(load_config(FIXTURES / "tracegraph.toml"))
    import_paths(bolt_store, [FIXTURES])
    analyze_stale(bolt_store, config=config, workers=1)
    app = create_app(bolt_store, config)
    app.router.lifespan_context = None  # type: ignore[assignment]  # keep the session store open
    client = TestClient(app, headers={"Authorization": f"Bearer {TOKENS['reader']}"})
    for path in ("/ui/traces?sort=cost", "/ui/traces/claim-2026-0002",
                 "/ui/workflows/claims-triage", "/ui/compare?a=claim-2026-0001&b=claim-2026-0002"):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:500])
    assert "claim-2026-0002" in client.get("/ui/traces?sort=cost").text


def test_graphql_gives_readers_what_the_pages_give_them(served: str) -> None:
    """The API is held to the same rule as the pages: payloads redacted for readers,
    raw for auditors, and nothing at all for ingest tokens."""
    from .server import gql
    query = ('{ trace(id: "secret-1") { attributes steps { id ... on LlmStep { input output } '
             'evidence } } }')
    reader = gql(served, query).json()
    assert "errors" not in reader, reader
    text = orjson.dumps(reader).decode()
    assert "jane.doe" not in text and "DE89" not in text and "[redacted:email]" in text
    auditor = orjson.dumps(gql(served, query, role="auditor").json()).decode()
    assert "jane.doe+kyc@example.org" in auditor
    refused = gql(served, '{ traces(first: 1) { edges { node { id } } } }', role="ingest")
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_graphiql_comes_from_this_server_and_holds_no_data(served: str) -> None:
    """The GraphQL IDE works on an air-gapped machine: its page and assets are ours; the
    page is served without a token (it holds nothing), queries still need one."""
    import re
    page = httpx.get(served + "/graphql", headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 200 and "graphiql" in page.text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/graphql/ide/") or s.startswith("data:")
                           for s in sources), sources
    for source in sources:
        if source.startswith("/"):
            asset = httpx.get(served + source, timeout=30)
            assert asset.status_code == 200 and "sourceMappingURL" not in asset.text, source
    assert httpx.get(served + "/graphql/ide/ide.html", timeout=30).status_code == 404
    anonymous = httpx.post(served + "/graphql", json={"query": "{ __typename }"}, timeout=30)
    assert anonymous.status_code == 401
