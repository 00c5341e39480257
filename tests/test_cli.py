"""The CLI as a user runs it: exit codes, tables, and the JSON contracts tools rely on."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from tracegraph.cli import app

from .conftest import FIXTURES

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "cli.db")
    result = runner.invoke(app, ["import", str(FIXTURES / "native"), "--db", path])
    assert result.exit_code == 0, result.output
    return path


def test_import_prints_a_summary_by_file_and_format(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(FIXTURES / "native"), "--db",
                                 str(tmp_path / "x.db")])
    assert result.exit_code == 0
    assert "claims-triage.jsonl" in result.output
    total = next(line for line in result.output.splitlines() if "total" in line)
    assert total.split("│")[3].strip() == "5" and total.split("│")[4].strip() == "40"


def test_import_exits_1_and_lists_reasons_when_records_are_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"trace_id": "t", "steps": [{"id": "a", "kind": "llm", '
                   '"input_tokens": "many"}]}\n')
    result = runner.invoke(app, ["import", str(bad), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 1
    assert "line 1, field steps[0].input_tokens" in result.output


def test_an_unknown_format_name_is_refused_before_anything_runs(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(FIXTURES), "--format", "csv", "--db",
                                 str(tmp_path / "x.db")])
    assert result.exit_code == 2 and "unknown format 'csv'" in result.output


def test_traces_json_is_an_array_with_the_contract_fields(db: str) -> None:
    result = runner.invoke(app, ["traces", "--db", db, "--format", "json"])
    assert result.exit_code == 0
    items = orjson.loads(result.stdout)
    assert {i["trace_id"] for i in items} == {"claim-2026-0001", "claim-2026-0002",
                                              "ticket-2026-0107", "invoice-2026-0042",
                                              "invoice-2026-0043"}
    ticket = next(i for i in items if i["trace_id"] == "ticket-2026-0107")
    assert (ticket["workflow"], ticket["outcome"], ticket["steps"]) == (
        "support-tickets", "failure", 8)


def test_traces_filters_by_workflow_and_outcome(db: str) -> None:
    result = runner.invoke(app, ["traces", "--db", db, "--format", "json", "--workflow",
                                 "claims-triage", "--outcome", "success"])
    assert [i["trace_id"] for i in orjson.loads(result.stdout)] == ["claim-2026-0001",
                                                                    "claim-2026-0002"]


def test_show_json_has_the_contract_fields_steps_and_edges(db: str) -> None:
    result = runner.invoke(app, ["show", "claim-2026-0002", "--db", db, "--format", "json"])
    assert result.exit_code == 0
    doc = orjson.loads(result.stdout)
    assert (doc["trace_id"], doc["workflow"], doc["outcome"]) == (
        "claim-2026-0002", "claims-triage", "success")
    assert doc["attributes"]["claim.type"] == "auto"
    step = next(s for s in doc["steps"] if s["id"] == "s4")
    assert {k: step[k] for k in ("id", "kind", "name", "parent", "status", "model",
                                 "input_tokens", "output_tokens")} == {
        "id": "s4", "kind": "llm", "name": "plan", "parent": "s1", "status": "ok",
        "model": "gpt-4o", "input_tokens": 4480, "output_tokens": 310}
    edges = {(e["source"], e["target"], e["type"]) for e in doc["edges"]}
    assert ("s6", "s5", "RETRY_OF") in edges and ("s11", "s10", "OVERRIDES") in edges
    assert ("s4", "s3", "USES") in edges and ("s11", "Actor:j.okafor", "BY") in edges


def test_show_tree_reads_as_a_timeline(db: str) -> None:
    result = runner.invoke(app, ["show", "claim-2026-0002", "--db", db])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "outcome=success" in lines[0]
    assert any("request_exception_document" in line and "error" in line
               and "HTTPError" in line for line in lines)
    assert any("retry of s5" in line for line in lines)
    assert any("by j.okafor" in line and "12 min" in line for line in lines)


def test_show_an_unknown_trace_is_one_sentence_and_exit_2(db: str) -> None:
    result = runner.invoke(app, ["show", "nope", "--db", db])
    assert result.exit_code == 2
    assert "no trace 'nope'" in result.output and "Traceback" not in result.output


def test_synth_writes_a_corpus_that_imports(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    result = runner.invoke(app, ["synth", str(out), "--traces", "50"])
    assert result.exit_code == 0 and "wrote 50 traces" in result.output
    result = runner.invoke(app, ["import", str(out), "--db", str(tmp_path / "s.db")])
    assert result.exit_code == 0


def test_every_command_has_help_with_an_example() -> None:
    for command in ("import", "traces", "show", "synth"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output, command


def test_import_reads_standard_input_and_names_it_in_errors(tmp_path: Path) -> None:
    data = (FIXTURES / "native" / "claims-triage.jsonl").read_bytes()
    bad = b'{"trace_id": "x", "steps": [{"id": "a", "kind": "zz"}]}\n'
    result = runner.invoke(app, ["import", "-", "--db", str(tmp_path / "s.db")],
                           input=data + bad)
    assert result.exit_code == 1
    assert "<stdin>, line 3, field steps[0].kind" in result.output
    listed = runner.invoke(app, ["traces", "--db", str(tmp_path / "s.db"), "-f", "json"])
    assert len(orjson.loads(listed.stdout)) == 2


def test_analyze_json_has_the_contract_fields_and_exact_money(db: str) -> None:
    config = str(FIXTURES / "tracegraph.toml")
    result = runner.invoke(app, ["analyze", "claim-2026-0002", "--db", db, "--config", config,
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.stdout)
    steps = {s["id"]: s for s in doc["steps"]}
    assert (steps["s10"]["role"], steps["s10"]["reason"]) == ("wasted", "overridden")
    assert Decimal(steps["s11"]["cost_usd"]) == Decimal("13.6")  # 12 min at $68/h, exactly
    assert doc["unpriced_steps"] == []
    assert Decimal(doc["cost_usd"]) == sum(Decimal(s["cost_usd"]) for s in doc["steps"])
    assert Decimal(doc["wasted_usd"]) == sum(Decimal(s["cost_usd"]) for s in doc["steps"]
                                             if s["role"] == "wasted")
    assert {(d["id"], d["used"]) for d in doc["documents"]} >= {("FAQ-12", False),
                                                                 ("POL-AUTO-11", True)}


def test_analyze_all_jsonl_is_one_object_per_trace(db: str) -> None:
    result = runner.invoke(app, ["analyze", "--all", "--db", db, "--format", "jsonl"])
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 5 and {line["trace_id"] for line in lines} >= {"ticket-2026-0107"}


def test_analyze_without_ids_or_all_is_a_usage_error(db: str) -> None:
    result = runner.invoke(app, ["analyze", "--db", db])
    assert result.exit_code == 2 and "--all" in result.output


def test_report_waste_sums_the_stored_analyses_exactly(db: str) -> None:
    config = str(FIXTURES / "tracegraph.toml")
    result = runner.invoke(app, ["report", "waste", "--db", db, "--config", config,
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert report["traces"] == 5
    per_trace = [orjson.loads(line) for line in runner.invoke(
        app, ["analyze", "--all", "--db", db, "--config", config, "-f", "jsonl"]
    ).stdout.splitlines()]
    assert Decimal(report["total_usd"]) == sum(Decimal(d["cost_usd"]) for d in per_trace)
    assert Decimal(report["wasted_usd"]) == sum(Decimal(d["wasted_usd"]) for d in per_trace)
    assert sum(Decimal(v) for v in report["by_reason"].values()) == Decimal(
        report["wasted_usd"])
    assert {"overridden", "failed_attempt", "redundant_call"} <= set(report["by_reason"])
    assert report["by_tool"]["request_exception_document"] == "0.008"  # 2 failed x $0.004
    assert report["by_model"]["openai/gpt-4o"] == report["by_reason"]["overridden"]
    assert report["costliest"][0]["trace_id"] == "claim-2026-0002"
    assert Decimal(report["retry_tax"]) == (Decimal(report["by_reason"]["failed_attempt"])
                                            / Decimal(report["total_usd"])).quantize(
        Decimal("0.000001"))


def test_a_stored_analysis_goes_stale_when_late_spans_change_the_trace(tmp_path: Path) -> None:
    from tracegraph.model import Step, StepKind, Trace
    from tracegraph.services.analysis import analysis_version, analyze_stale
    from tracegraph.config import Config
    from tracegraph.store import SQLiteStore
    store = SQLiteStore(tmp_path / "s.db")
    first = Trace(id="t", source_format="otlp", partial=True,
                  steps=(Step(id="a", kind=StepKind.LLM, model="gpt-4o-mini",
                              input_tokens=1000, output_tokens=10),))
    store.write_traces([first])
    assert analyze_stale(store, config=Config()) == 1
    assert store.analysis_is_current("t", analysis_version(Config()))
    assert analyze_stale(store, config=Config()) == 0
    late = Trace(id="t", source_format="otlp", partial=True,
                 steps=(Step(id="b", kind=StepKind.LLM, model="gpt-4o-mini",
                             input_tokens=500, output_tokens=5),))
    store.write_traces([late])
    assert not store.analysis_is_current("t", analysis_version(Config()))
    assert analyze_stale(store, config=Config()) == 1
    assert store.waste_totals()["traces"] == 1
    store.close()


def test_token_prints_the_secret_to_the_terminal_and_only_toml_to_stdout() -> None:
    """`tracegraph token ROLE >> tracegraph.toml` must append a valid table and never the
    secret (the file gets committed)."""
    import hashlib
    import re
    import tomllib
    result = runner.invoke(app, ["token", "auditor", "--name", "alice"])
    assert result.exit_code == 0, result.output
    table = tomllib.loads(result.stdout)["server"]["tokens"]["alice"]
    assert table["role"] == "auditor" and "tg_" not in result.stdout
    secret = re.search(r"tg_[A-Za-z0-9_-]+", result.stderr)
    assert secret is not None
    assert table["sha256"] == hashlib.sha256(secret.group(0).encode()).hexdigest()
