"""The GraphQL API over real HTTP: queries, mutations, auth, limits, errors, no N+1."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from tracegraph.services.importing import import_paths
from tracegraph.store import SQLiteStore

from .conftest import FIXTURES
from .server import TOKENS, config_with_tokens, gql, running


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("api") / "api.db"
    store = SQLiteStore(db)
    import_paths(store, [FIXTURES])
    store.close()
    with running(db, config_with_tokens()) as url:
        yield url


def _data(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def _error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body.get("errors"), body
    return body["errors"][0]  # type: ignore[no-any-return]


def test_a_trace_with_its_steps_by_kind_and_their_marks(base: str) -> None:
    data = _data(gql(base, """
      { trace(id: "claim-2026-0002") { id workflow outcome costUsd stepCount
          steps { __typename id kind role reason costUsd
                  ... on LlmStep { model inputTokens outputTokens }
                  ... on HumanOverrideStep { actor minutes replaces }
                  ... on ToolCallStep { tool } } } }"""))
    trace = data["trace"]
    assert trace["workflow"] == "claims-triage" and trace["stepCount"] == 12
    kinds = {s["id"]: s for s in trace["steps"]}
    assert kinds["s4"]["__typename"] == "LlmStep" and kinds["s4"]["model"] == "gpt-4o"
    assert kinds["s11"]["__typename"] == "HumanOverrideStep"
    assert kinds["s11"]["actor"] == "j.okafor" and kinds["s11"]["replaces"] == "s10"
    assert kinds["s10"]["role"] == "wasted" and kinds["s10"]["reason"] == "overridden"


def test_traces_page_through_a_relay_connection_with_filters(base: str) -> None:
    query = """query($after: String) { traces(first: 2, after: $after,
                 filter: {workflow: "claims-triage"}) {
                 edges { cursor node { id workflow } } pageInfo { hasNextPage endCursor } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = _data(gql(base, query, {"after": after}))["traces"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 5
    failures = _data(gql(base, """{ traces(first: 50, filter: {outcome: FAILURE}) {
                                     edges { node { outcome } } } }"""))
    assert {e["node"]["outcome"] for e in failures["traces"]["edges"]} == {"failure"}
    overrides = _data(gql(base, """{ traces(first: 50, filter: {hasOverride: true}) {
                                      edges { node { id } } } }"""))
    assert "claim-2026-0002" in {e["node"]["id"] for e in overrides["traces"]["edges"]}
    by_attribute = _data(gql(base, """{ traces(first: 50, filter: {attribute:
        {name: "claim.type", value: "auto"}}) { edges { node { id attributes } } } }"""))
    assert by_attribute["traces"]["edges"]
    assert all(e["node"]["attributes"]["claim.type"] == "auto"
               for e in by_attribute["traces"]["edges"])


def test_the_questions_users_ask_most(base: str) -> None:
    waste = _data(gql(base, "{ wasteReport(workflow: \"claims-triage\") }"))["wasteReport"]
    assert set(waste["by_reason"]) >= {"overridden", "failed_attempt"}
    cost = _data(gql(base, '{ explainCost(traceId: "claim-2026-0002") }'))["explainCost"]
    assert {d["driver"] for d in cost["drivers"]} >= {"retries", "human minutes"}
    outcome = _data(gql(base, '{ explainOutcome(traceId: "claim-2026-0002") }'))
    assert outcome["explainOutcome"]["rules"] == ["EXC-12"]
    compared = _data(gql(base, '{ comparePaths(a: "claim-2026-0001", b: "claim-2026-0002") }'))
    assert compared["comparePaths"]["divergence"] is not None
    economics = _data(gql(base, '{ workflow(name: "claims-triage") { traces successRate '
                                'costUsd } }'))
    assert economics["workflow"]["traces"] == 5
    documents = _data(gql(base, "{ documents(usedLessThan: 0.5) { id retrieved used } }"))
    assert all(d["used"] / d["retrieved"] < 0.5 for d in documents["documents"])


def test_a_page_of_50_traces_with_steps_takes_a_bounded_number_of_store_queries(
        tmp_path: Path) -> None:
    from tracegraph.api.context import Context
    from tracegraph.api.schema import schema
    from tracegraph.services.synth import write_corpus
    corpus = tmp_path / "c.jsonl"
    write_corpus(corpus, traces=60, seed=4)
    store = SQLiteStore(tmp_path / "n.db")
    import_paths(store, [corpus])
    from tracegraph.config import Config
    from tracegraph.services.analysis import analyze_stale
    analyze_stale(store, config=Config())
    import asyncio
    import time
    context = Context(store=store, config=Config(), role="reader", principal="test",
                      deadline=time.monotonic() + 60)
    before = store.queries
    result = asyncio.run(schema.execute(
        "{ traces(first: 50) { edges { node { id wastedUsd steps { id kind role costUsd "
        "evidence annotations { label } ... on RetrievalStep { documents { id used } } } "
        "} } } }", context_value=context))
    assert result.errors is None
    assert len(result.data["traces"]["edges"]) == 50
    assert sum(len(e["node"]["steps"]) for e in result.data["traces"]["edges"]) > 400
    # The page, the traces, the marks, the annotations: not 50 x anything.
    assert store.queries - before <= 5


def test_auth_roles_and_refusals(base: str) -> None:
    assert gql(base, "{ trace(id: \"x\") { id } }", role=None).status_code == 401
    bad = httpx.post(f"{base}/graphql", json={"query": "{ __typename }"},
                     headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    otlp = "4bf92f3577b34da6a3ce929d0e0e4736"
    first = _data(gql(base, f'{{ trace(id: "{otlp}") {{ steps {{ id }} }} }}'))
    step = first["trace"]["steps"][0]["id"]
    query = f'{{ step(traceId: "{otlp}", id: "{step}") {{ raw }} }}'
    assert _error(gql(base, query, role="reader"))["extensions"]["code"] == "FORBIDDEN"
    assert _data(gql(base, query, role="auditor"))["step"]["raw"]["spanId"] == step
    mutation = gql(base, 'mutation { annotateStep(traceId: "claim-2026-0002", stepId: "s4", '
                         'label: "good") { author } }', role="auditor")
    assert _error(mutation)["extensions"]["code"] == "FORBIDDEN"
    assert httpx.get(f"{base}/healthz").json()["status"] == "ok"


def test_limits_and_errors_come_back_as_graphql_errors_with_codes(base: str) -> None:
    too_many = gql(base, "{ traces(first: 1000) { edges { node { id } } } }")
    assert _error(too_many)["extensions"]["code"] == "LIMIT"
    deep = "{ trace(id: \"x\") { " + "steps { " * 12 + "id" + " }" * 12 + " } }"
    assert _error(gql(base, deep))["extensions"]["code"] in ("LIMIT", "BAD_INPUT")
    missing = gql(base, '{ explainCost(traceId: "no-such-trace") }')
    error = _error(missing)
    assert error["extensions"]["code"] == "NOT_FOUND" and "Traceback" not in missing.text
    cursor = gql(base, '{ traces(after: "garbage") { edges { cursor } } }')
    assert _error(cursor)["extensions"]["code"] == "BAD_INPUT"
    injection = gql(base, """{ traces(first: 5, filter: {attribute: {name: "x') OR 1=1 --",
                               value: "y"}}) { edges { node { id } } } }""")
    assert _data(injection)["traces"]["edges"] == []


def test_mutations_annotate_override_and_set_the_outcome(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    store = SQLiteStore(db)
    import_paths(store, [FIXTURES / "native"])
    store.close()
    with running(db, config_with_tokens()) as url:
        note = _data(gql(url, 'mutation { annotateStep(traceId: "claim-2026-0001", '
                              'stepId: "s4", label: "wrong-policy", note: "POL-1 not POL-2") '
                              '{ label author } }', role="admin"))
        assert note["annotateStep"] == {"label": "wrong-policy", "author": "test-admin"}
        shown = _data(gql(url, '{ step(traceId: "claim-2026-0001", id: "s4") '
                               '{ annotations { label note author } } }'))
        assert shown["step"]["annotations"][0]["note"] == "POL-1 not POL-2"
        step = _data(gql(url, 'mutation { recordOverride(traceId: "claim-2026-0001", '
                              'replaces: "s7", actor: "m.ruiz", reason: "limit", minutes: "4")'
                              ' { id kind } }', role="admin"))["recordOverride"]
        assert step["kind"] == "human_override"
        trace = _data(gql(url, 'mutation { setOutcome(traceId: "claim-2026-0001", '
                               'outcome: FAILURE, reason: "customer disputed") '
                               '{ outcome outcomeReason stepCount } }', role="admin"))
        assert trace["setOutcome"]["outcome"] == "failure"
        assert trace["setOutcome"]["stepCount"] == 9
        imported = _data(gql(url, "mutation($p: String!) { importTraces(payload: $p) "
                                  "{ traces rejected } }",
                             {"p": (FIXTURES / "native" / "invoices.json").read_text()},
                             role="ingest"))
        assert imported["importTraces"]["rejected"] == 0
    assert TOKENS["admin"] not in (tmp_path / "m.db").read_bytes().decode("latin-1")


def test_docs_schema_graphql_is_the_schema_the_code_serves() -> None:
    from tracegraph.api.schema import schema
    from .conftest import ROOT
    checked_in = (ROOT / "docs" / "schema.graphql").read_text()
    assert checked_in == schema.as_str() + "\n", (
        "docs/schema.graphql is stale: regenerate it with "
        "python -c \"from tracegraph.api.schema import schema; "
        "open('docs/schema.graphql','w').write(schema.as_str()+'\\n')\"")


def test_shared_entities_are_listed_once_each(base: str) -> None:
    data = _data(gql(base, "{ models { name } tools { name } rules { name } actors { name } }"))
    assert "EXC-12" in {r["name"] for r in data["rules"]}
    assert "j.okafor" in {a["name"] for a in data["actors"]}
    names = [t["name"] for t in data["tools"]]
    assert "lookup_policy" in names and len(names) == len(set(names))
