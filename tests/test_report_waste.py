"""The wasted-cycle report: what it aggregates from the stored analyses, exactly."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from hypothesis import given, strategies as st
from typer.testing import CliRunner

from tracegraph.cli import app
from tracegraph.config import Config
from tracegraph.model import DocumentRef, Outcome, Status, Step, StepKind, Trace
from tracegraph.services.analysis import analysis_version, cost_distribution, waste_report
from tracegraph.store import SQLiteStore
from tracegraph.store.migrations import MIGRATIONS

runner = CliRunner()
DAY = 86_400 * 10**9
NOV_1 = 1_793_491_200 * 10**9  # 2026-11-01T00:00:00Z
CONFIG = Config(tool_prices={"lookup": Decimal("0.01"), "search": Decimal("0.002")})


def _trace(trace_id: str, *, start: int, outcome: Outcome, retried: bool = False,
           cited: bool = True) -> Trace:
    """search → (failed lookup → retried lookup) → answer → outcome."""
    steps = [Step(id="s1", kind=StepKind.RETRIEVAL, tool_name="search", start_ns=start,
                  documents=(DocumentRef(id="DOC-1", tokens=300),
                             DocumentRef(id="DOC-2", tokens=500)))]
    if retried:
        steps.append(Step(id="s2", kind=StepKind.TOOL_CALL, tool_name="lookup",
                          arguments={"claim": "C-77"}, status=Status.ERROR,
                          error_type="Timeout", start_ns=start + 1))
    steps.append(Step(id="s3", kind=StepKind.TOOL_CALL, tool_name="lookup",
                      arguments={"claim": "C-77"}, result={"limit": 5000},
                      retry_of="s2" if retried else None, start_ns=start + 2))
    answer = "approved under DOC-1, limit 5000" if cited else "approved, limit 5000"
    steps.append(Step(id="s4", kind=StepKind.OUTCOME, outcome=outcome, output=answer,
                      start_ns=start + 3, inputs=("s3",)))
    return Trace(id=trace_id, source_format="native", workflow="claims", steps=tuple(steps),
                 outcome=outcome)


@pytest.fixture()
def store(tmp_path: Path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "r.db")
    store.write_traces([
        _trace("a", start=NOV_1, outcome=Outcome.SUCCESS),
        _trace("b", start=NOV_1 + DAY, outcome=Outcome.SUCCESS, retried=True),
        _trace("c", start=NOV_1 + 2 * DAY, outcome=Outcome.FAILURE, cited=False),
    ])
    return store


def test_success_and_first_try_rates_count_traces_with_failed_attempts(
        store: SQLiteStore) -> None:
    report = waste_report(store, config=CONFIG)
    assert report["traces"] == 3 and report["steps"] == 10
    assert report["success_rate"] == "0.666667"
    assert report["first_try_success_rate"] == "0.333333"  # b succeeded after a retry
    assert report["by_reason"]["failed_attempt"] == "0.01"
    assert report["retried_tools"] == [{"tool": "lookup", "failed_attempts": 1,
                                        "usd": "0.01"}]
    assert report["analyzer_version"] == analysis_version(CONFIG)


def test_documents_are_counted_per_retrieval_with_their_unused_tokens(
        store: SQLiteStore) -> None:
    documents = {d["document_id"]: d for d in waste_report(store, config=CONFIG)["documents"]}
    assert documents["DOC-2"] == {"document_id": "DOC-2", "retrieved": 3, "used": 0,
                                  "unused_tokens": 1500}
    assert documents["DOC-1"] == {"document_id": "DOC-1", "retrieved": 3, "used": 2,
                                  "unused_tokens": 300}
    assert list(documents) == ["DOC-2", "DOC-1"]  # used least first


def test_since_and_until_bound_the_traces_start(store: SQLiteStore) -> None:
    from datetime import datetime, timezone
    since = datetime(2026, 11, 2, tzinfo=timezone.utc)
    until = datetime(2026, 11, 3, tzinfo=timezone.utc)
    report = waste_report(store, config=CONFIG, since=since, until=until)
    assert report["traces"] == 1 and report["costliest"][0]["trace_id"] == "b"
    assert report["since"] == "2026-11-02T00:00:00+00:00"
    assert waste_report(store, config=CONFIG, since=since)["traces"] == 2
    assert waste_report(store, config=CONFIG, workflow="other")["traces"] == 0


def test_total_equals_the_sum_of_the_per_workflow_rows(store: SQLiteStore) -> None:
    report = waste_report(store, config=CONFIG)
    assert sum(Decimal(w["total_usd"]) for w in report["by_workflow"]) == Decimal(
        report["total_usd"])
    assert report["by_workflow"][0]["traces"] == 3


def test_an_empty_store_gives_an_empty_report(tmp_path: Path) -> None:
    report = waste_report(SQLiteStore(tmp_path / "e.db"), config=CONFIG)
    assert report["traces"] == 0 and report["total_usd"] == "0"
    assert report["wasted_share"] is None and report["first_try_success_rate"] is None
    assert report["distribution"]["pareto"] == []


def test_cost_distribution_uses_nearest_rank_and_marks_the_tail() -> None:
    costs = sorted(Decimal(c) for c in ["1"] * 95 + ["100"] * 5)
    found = cost_distribution(costs)
    assert (found["p50"], found["p90"], found["p99"], found["max"]) == ("1", "1", "100", "100")
    assert found["tail_share"] == str((Decimal(500) / 595).quantize(Decimal("0.000001")))
    assert sum(b["traces"] for b in found["histogram"]) == 100
    assert found["histogram"][-1]["tail"] and not found["histogram"][0]["tail"]
    assert found["pareto"][0] == ["0.000000", "0.000000"] and found["pareto"][-1][1] == "1.000000"


@given(st.lists(st.decimals(min_value=0, max_value=1000, places=6), min_size=1,
                max_size=300))
def test_pareto_is_monotone_and_ends_at_all_the_spend(values: list[Decimal]) -> None:
    found = cost_distribution(sorted(values))
    shares = [Decimal(s) for _, s in found["pareto"]]
    assert shares == sorted(shares)
    assert shares[-1] in (Decimal(1), Decimal(0))  # 0 when nothing was spent
    assert sum(b["traces"] for b in found["histogram"]) == len(values)


@pytest.mark.parametrize("old", [2, 3])
def test_an_older_store_is_migrated_and_its_analyses_redone(tmp_path: Path, old: int) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:old], start=1):
        db.executescript(script)
        db.execute(f"PRAGMA user_version={number}")
    db.close()
    store = SQLiteStore(path)
    assert store.schema_version == len(MIGRATIONS)
    store.write_traces([_trace("a", start=NOV_1, outcome=Outcome.SUCCESS)])
    assert waste_report(store, config=CONFIG)["documents"][0]["retrieved"] == 1


def test_cli_writes_markdown_and_html_reports(store: SQLiteStore, tmp_path: Path) -> None:
    store.close()
    db = str(tmp_path / "r.db")
    html = tmp_path / "waste.html"
    result = runner.invoke(app, ["report", "waste", "--db", db, "-f", "html", "-o", str(html)])
    assert result.exit_code == 0, result.output
    assert html.read_text().lstrip().lower().startswith("<!doctype html")
    result = runner.invoke(app, ["report", "waste", "--db", db, "-f", "md"])
    assert result.exit_code == 0 and "# Wasted spend" in result.stdout
    result = runner.invoke(app, ["report", "waste", "--db", db, "-f", "json",
                                 "--since", "2026-11-02", "--until", "2026-11-03T00:00:00Z"])
    assert orjson.loads(result.stdout)["traces"] == 1


def test_cli_refuses_a_time_that_is_not_iso_8601(store: SQLiteStore) -> None:
    result = runner.invoke(app, ["report", "waste", "--db", store.url, "--since", "last week"])
    assert result.exit_code == 2 and "ISO 8601" in result.output


def test_analysis_in_worker_processes_stores_the_same_results(tmp_path: Path) -> None:
    from tracegraph.services.analysis import analyze_stale
    from tracegraph.services.importing import import_paths
    from .conftest import FIXTURES
    totals = []
    for workers in (1, 2):
        store = SQLiteStore(tmp_path / f"w{workers}.db")
        import_paths(store, [FIXTURES])
        assert analyze_stale(store, config=CONFIG, batch=3, workers=workers) > 6
        assert analyze_stale(store, config=CONFIG, workers=workers) == 0
        found = store.waste_totals()
        totals.append({k: v for k, v in found.items() if k != "costliest"})
        store.close()
    assert totals[0] == totals[1]
