"""The CLI over Bolt: the same JSON as on SQLite (import, traces, show, analyze, the
reports, explain, diff, clusters), and the questions only a graph answers.

Every command runs through Typer against a real FalkorDB server (the session's
``bolt_store`` fixture) and a real SQLite file, on the same fixtures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from tracegraph.cli import app
from tracegraph.model import DocumentRef, Outcome, Override, Status, Step, StepKind, Trace
from tracegraph.services.analysis import analyze_stale
from tracegraph.config import Config

from .conftest import FIXTURES

runner = CliRunner()
CONFIG = str(FIXTURES / "tracegraph.toml")


def _json(*args: str) -> Any:
    """The command's JSON, without the moment it was made."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    found = orjson.loads(result.stdout)
    if isinstance(found, dict):
        found.pop("generated_at", None)
    return found


def test_every_command_gives_the_same_json_on_sqlite_and_bolt(bolt_store: Any,
                                                              tmp_path: Path) -> None:
    bolt_store._run_text("MATCH (n) DETACH DELETE n", {})
    sqlite, bolt = str(tmp_path / "c.db"), bolt_store.url
    for db in (sqlite, bolt):
        imported = runner.invoke(app, ["import", str(FIXTURES), "--db", db, "--quiet"])
        assert imported.exit_code == 0, imported.output
    listing = _json("traces", "--db", sqlite, "--format", "json")
    assert len(listing) > 20
    assert _json("traces", "--db", bolt, "--format", "json") == listing
    for trace_id in (listing[0]["trace_id"], listing[-1]["trace_id"]):
        assert (_json("show", trace_id, "--db", bolt, "--format", "json")
                == _json("show", trace_id, "--db", sqlite, "--format", "json"))
    analysed = _json("analyze", "--all", "--db", sqlite, "--config", CONFIG, "--format", "json")
    assert analysed and _json("analyze", "--all", "--db", bolt, "--config", CONFIG,
                              "--format", "json") == analysed
    for extra in ([], ["--workflow", "claims-triage"]):
        waste = _json("report", "waste", "--db", sqlite, "--config", CONFIG, "--format",
                      "json", *extra)
        assert waste["traces"] > 0, waste
        assert _json("report", "waste", "--db", bolt, "--config", CONFIG, "--format", "json",
                     *extra) == waste
    failed = [t["trace_id"] for t in listing if t["outcome"] == "failure"]
    succeeded = [t["trace_id"] for t in listing if t["outcome"] == "success"]
    for args in (["report", "economics"], ["explain", failed[0]],
                 ["diff", succeeded[0], failed[0]], ["clusters"]):
        on_sqlite = _json(*args, "--db", sqlite, "--config", CONFIG, "--format", "json")
        assert _json(*args, "--db", bolt, "--config", CONFIG, "--format", "json") == on_sqlite
    cluster = on_sqlite["clusters"][0]["id"]
    assert (_json("clusters", "show", cluster, "--db", bolt, "--config", CONFIG, "--format",
                  "json")
            == _json("clusters", "show", cluster, "--db", sqlite, "--config", CONFIG,
                     "--format", "json"))


def _step(id: str, kind: StepKind, start: int, **fields: Any) -> Step:
    return Step(id=id, kind=kind, start_ns=start, parent_id=None if id == "root" else "root",
                **fields)


def _graph_traces() -> list[Trace]:
    """Three claims: a tool that fails before people step in, a rule they overrule,
    a document fetched and never used, and a precedent chain c → b → a."""
    def claim(trace_id: str, *, fails: bool, overridden: bool, cites: tuple[str, ...]) -> Trace:
        steps = [_step("root", StepKind.AGENT, 1, name="claim"),
                 _step("lookup", StepKind.RETRIEVAL, 2, tool_name="kb",
                       documents=(DocumentRef(id="DOC-NEVER", tokens=300),)),
                 _step("rule", StepKind.TOOL_CALL, 3, tool_name="policy", rules=("EXC-12",)),
                 _step("pay", StepKind.TOOL_CALL, 4, tool_name="payments",
                       status=Status.ERROR if fails else Status.OK,
                       error="timeout" if fails else None)]
        if overridden:
            steps.append(_step("human", StepKind.HUMAN_OVERRIDE, 5, override=Override(
                actor="ana", reason="manual payout", replaces="pay")))
        return Trace(id=trace_id, source_format="native", workflow="claims",
                     outcome=Outcome.SUCCESS, steps=tuple(steps), cites=cites)

    return [claim("a", fails=True, overridden=True, cites=()),
            claim("b", fails=True, overridden=False, cites=("a",)),
            claim("c", fails=False, overridden=True, cites=("b",))]


def test_the_cross_trace_questions(bolt_store: Any) -> None:
    bolt_store._run_text("MATCH (n) DETACH DELETE n", {})
    bolt_store.write_traces(_graph_traces())
    analyze_stale(bolt_store, config=Config(), workers=1)
    unused = bolt_store.ask("unused-documents", min_retrieved=2, limit=10)
    assert [(r["document"], r["retrieved"], r["traces"]) for r in unused] == [
        ("DOC-NEVER", 3, 3)]
    tools = bolt_store.ask("failures-before-escalation", limit=10)
    assert [(r["tool"], r["failed_traces"], r["escalated_traces"], r["examples"])
            for r in tools] == [("payments", 2, 1, ["a"])]
    rules = bolt_store.ask("rules-before-override", limit=10)
    assert [(r["rule"], r["applied_traces"], r["overridden_traces"]) for r in rules] == [
        ("EXC-12", 3, 2)]
    assert rules[0]["override_rate"] == pytest.approx(2 / 3)
    chains = bolt_store.ask("precedents", trace=None, limit=10)
    assert [r["chain"] for r in chains] == [["c", "b", "a"], ["b", "a"]]
    only = bolt_store.ask("precedents", trace="b", limit=10)
    assert [(r["chain"], r["outcomes"]) for r in only] == [(["b", "a"],
                                                             ["success", "success"])]


def test_ask_on_the_command_line(bolt_store: Any, tmp_path: Path) -> None:
    bolt_store._run_text("MATCH (n) DETACH DELETE n", {})
    bolt_store.write_traces(_graph_traces())
    rows = _json("ask", "precedents", "--db", bolt_store.url, "--format", "json")
    assert rows[0]["chain"] == ["c", "b", "a"]
    table = runner.invoke(app, ["ask", "rules-before-override", "--db", bolt_store.url])
    assert table.exit_code == 0 and "EXC-12" in table.stdout
    on_sqlite = runner.invoke(app, ["ask", "precedents", "--db", str(tmp_path / "s.db")])
    assert on_sqlite.exit_code != 0 and "graph database" in on_sqlite.output


def test_bolt_urls_carry_user_and_database_but_never_show_the_password(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tracegraph.store import bolt_credentials
    monkeypatch.setenv("TRACEGRAPH_DB_PASSWORD", "from-env")
    monkeypatch.delenv("TRACEGRAPH_DB_USER", raising=False)
    monkeypatch.delenv("TRACEGRAPH_DB_NAME", raising=False)
    address, creds = bolt_credentials("neo4j+s://ops:s%40cret@db.example:7687?database=audit")
    assert address == "neo4j+s://db.example:7687"
    assert creds == {"user": "ops", "password": "s@cret", "database": "audit"}
    address, creds = bolt_credentials("bolt://localhost:7687")
    assert address == "bolt://localhost:7687"
    assert creds == {"user": None, "password": "from-env", "database": None}


def test_sync_on_the_command_line_there_and_back(bolt_store: Any, tmp_path: Path) -> None:
    bolt_store._run_text("MATCH (n) DETACH DELETE n", {})
    source, back = str(tmp_path / "s.db"), str(tmp_path / "back.db")
    assert runner.invoke(app, ["import", str(FIXTURES), "--db", source, "-q"]).exit_code == 0
    assert runner.invoke(app, ["analyze", "--all", "--db", source, "--config", CONFIG,
                               "--format", "json"]).exit_code == 0
    there = _json("sync", "--from", source, "--to", bolt_store.url, "-q", "--format", "json")
    assert there["traces_written"] == there["traces_seen"] > 20
    assert there["analyses_written"] == there["traces_seen"]
    again = _json("sync", "--from", source, "--to", bolt_store.url, "-q", "--format", "json")
    assert again["traces_written"] == 0 and again["analyses_written"] == 0
    _json("sync", "--from", bolt_store.url, "--to", back, "-q", "--format", "json")
    for args in (["traces"], ["report", "waste", "--config", CONFIG]):
        assert (_json(*args, "--db", back, "--format", "json")
                == _json(*args, "--db", source, "--format", "json"))
