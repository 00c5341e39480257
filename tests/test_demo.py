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
    assert f"tracegraph serve --db {db} --no-auth --config" in first.stdout
    assert "--config" in first.stdout.split("Prices of tools and people")[1]
    assert "http://" not in first.stdout  # nothing serves: no link to follow
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


def test_the_demo_serves_the_trail_it_names(tmp_path: Path) -> None:
    """The README's first command, past the install: the printed link opens a trail."""
    import re
    import subprocess
    import sys
    import time

    import httpx

    from .server import free_port
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tracegraph.cli", "demo", "--db", str(tmp_path / "d.db"),
         "--synthetic", "20", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        printed = ""
        deadline = time.monotonic() + 120
        while "Serving" not in printed and time.monotonic() < deadline:
            line = process.stdout.readline() if process.stdout else ""
            if not line and process.poll() is not None:
                break
            printed += line
        link = re.search(r"Costliest trail\s+(http://127\.0\.0\.1:\d+/ui/traces/\S+)", printed)
        assert link, printed
        for _ in range(100):
            try:
                page = httpx.get(link.group(1), timeout=30)
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert page.status_code == 200 and "Decision trail" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=True,
                         timeout=30).url.path == "/ui/traces"
    finally:
        process.terminate()
        process.wait(timeout=20)
