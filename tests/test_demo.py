"""`tracegraph demo`, the end of the README's first command: it loads, analyses, reports
and names the pages; run again, it imports nothing twice."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tracegraph.cli import app
from tracegraph.store import SQLiteStore

runner = CliRunner()


def test_the_demo_loads_analyses_reports_and_prints_the_urls(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    args = ["demo", "--db", str(db), "--synthetic", "40", "--no-serve", "--port", "8399"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "Waste over" in first.stdout
    assert "http://127.0.0.1:8399/ui/traces" in first.stdout
    assert "http://127.0.0.1:8399/ui/traces/" in first.stdout.split("Costliest trail")[1]
    assert "http://127.0.0.1:8399/graphql" in first.stdout
    store = SQLiteStore(db)
    try:
        counts = store.counts()
        assert counts.traces >= 60  # the bundled fixtures and the synthetic ones
        ids = [row.trace_id for row in store.list_traces()]
        assert len(store.analysis_totals(ids)) == len(ids)  # every trace analysed
        assert store.clusters()
    finally:
        store.close()
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    store = SQLiteStore(db)
    try:
        assert store.counts() == counts
    finally:
        store.close()
