"""Importing files: summaries, rejections, strictness, idempotence, kills, flat memory."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import orjson
import pytest

from tracegraph.formats import read_path
from tracegraph.model import Trace
from tracegraph.services.importing import StrictImportError, import_paths
from tracegraph.services.synth import write_corpus
from tracegraph.store import SQLiteStore

from .conftest import FIXTURES


def test_importing_the_native_fixtures_counts_traces_and_steps(store: SQLiteStore) -> None:
    report = import_paths(store, [FIXTURES / "native"])
    assert report.ok
    assert [(Path(f.path).name, f.format, f.traces, f.steps) for f in report.files] == [
        ("claims-triage.jsonl", "native", 2, 20), ("invoices.json", "native", 2, 12),
        ("support-ticket-failed.json", "native", 1, 8)]
    assert store.counts().traces == 5


def test_rejected_records_are_reported_and_the_rest_imports(tmp_path: Path,
                                                            store: SQLiteStore) -> None:
    good = {"trace_id": "good", "steps": [{"id": "a", "kind": "llm"}]}
    bad = {"trace_id": "bad", "steps": [{"id": "a", "kind": "llm", "input_tokens": -1}]}
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join([orjson.dumps(good), orjson.dumps(bad), b"{oops"]))
    report = import_paths(store, [path])
    assert not report.ok and report.rejected == 2
    assert report.traces == 1
    messages = [str(e) for e in report.files[0].rejected]
    assert messages[0].startswith(f"{path}, line 2, field steps[0].input_tokens")
    assert messages[1].startswith(f"{path}, line 3: invalid JSON")
    assert store.find_trace_ids(["good", "bad"]) == {"good"}


def test_strict_stops_at_the_first_rejected_record(tmp_path: Path, store: SQLiteStore) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"trace_id": "x", "steps": [{"id": "a", "kind": "nope"}]}\n')
    with pytest.raises(StrictImportError, match="line 1, field steps\\[0\\].kind"):
        import_paths(store, [path], strict=True)


def test_unreadable_and_unknown_files_fail_whole_with_a_reason(tmp_path: Path,
                                                               store: SQLiteStore) -> None:
    unknown = tmp_path / "weather.json"
    unknown.write_text('{"city": "Oslo", "temperature": -3}')
    binary = tmp_path / "image.json"
    binary.write_bytes(bytes(range(256)) * 4)
    missing = tmp_path / "missing.jsonl"
    report = import_paths(store, [unknown, binary, missing])
    reasons = [f.failed or "" for f in report.files]
    assert "not a trace format tracegraph reads" in reasons[0] and "city" in reasons[0]
    assert "not JSON" in reasons[1]
    assert "cannot read" in reasons[2]
    assert report.rejected == 3 and store.counts().traces == 0


def test_reimporting_a_file_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    store = SQLiteStore(db)
    import_paths(store, [FIXTURES / "native"])
    store.close()
    with sqlite3.connect(db) as conn:
        before = list(conn.iterdump())
    store = SQLiteStore(db)
    report = import_paths(store, [FIXTURES / "native"])
    store.close()
    assert report.traces == 0 and sum(f.unchanged for f in report.files) == 5
    with sqlite3.connect(db) as conn:
        assert list(conn.iterdump()) == before


def test_an_import_killed_midway_leaves_whole_traces_and_a_rerun_completes(
        tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    stats = write_corpus(corpus, traces=30_000, seed=3)
    db = tmp_path / "killed.db"
    command = [sys.executable, "-m", "tracegraph.cli", "import", str(corpus), "--db", str(db),
               "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    # Kill it once some batches are committed but well before the end.
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            with sqlite3.connect(db, timeout=0.1) as conn:
                done = conn.execute("SELECT count(*) FROM traces").fetchone()[0]
        except sqlite3.OperationalError:
            continue
        if done > 0:
            break
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    # Its reader process (a fork, same command line) notices and stops by itself.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _processes_running(str(db)):
        time.sleep(0.2)
    assert not _processes_running(str(db)), "the reader process outlived its importer"
    store = SQLiteStore(db)
    assert store.integrity_problems() == []
    partial_count = store.counts().traces
    assert 0 < partial_count < stats.traces, "the kill must land mid-import"
    expected = {t.id: len(t.steps) for t in read_path(corpus) if isinstance(t, Trace)}
    for row in store.list_traces():
        assert row.steps == expected[row.trace_id]
    report = import_paths(store, [corpus])
    assert report.ok
    assert store.counts().traces == stats.traces and store.counts().steps == stats.steps
    assert store.integrity_problems() == []
    store.close()


def _processes_running(marker: str) -> bool:
    """Is any process running whose command line mentions ``marker``?"""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = next((line for line in (proc / "status").read_text().splitlines()
                          if line.startswith("State:")), "")
        except OSError:
            continue
        if marker.encode() in cmdline and "zombie" not in state:
            return True
    return False


@pytest.mark.parametrize("parallel", [False, True], ids=["one-process", "with-reader"])
def test_memory_stays_flat_as_the_file_grows(tmp_path: Path, parallel: bool,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Peak Python allocations for a 10x larger file stay within 2x (no whole-file reads)."""
    import tracegraph.services.importing as importing
    monkeypatch.setattr(importing, "PARALLEL_MIN_BYTES", 0)
    peaks = []
    for traces in (2_000, 20_000):
        corpus = tmp_path / f"c{traces}.jsonl"
        write_corpus(corpus, traces=traces, seed=1)
        store = SQLiteStore(tmp_path / f"m{traces}.db")
        tracemalloc.start()
        import_paths(store, [corpus], parallel=parallel)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        store.close()
    assert peaks[1] < 2 * peaks[0], peaks


def test_every_bundled_fixture_imports_cleanly_as_its_own_trace(store: SQLiteStore) -> None:
    """The README's first command imports fixtures/: no rejection, no id collisions."""
    report = import_paths(store, [FIXTURES])
    assert report.ok, [str(e) for f in report.files for e in f.rejected]
    assert {f.format for f in report.files} == {"native", "otlp", "spans", "langfuse",
                                                 "langsmith"}
    assert store.counts().traces == report.traces


def test_two_imports_into_one_store_at_once_both_complete(tmp_path: Path) -> None:
    """Each batch is one IMMEDIATE transaction; trace keys are handed out inside it."""
    corpora = []
    for seed in (1, 2):
        corpus = tmp_path / f"c{seed}.jsonl"
        write_corpus(corpus, traces=3_000, seed=seed, format="otlp" if seed == 2 else "native")
        corpora.append(corpus)
    db = tmp_path / "shared.db"
    SQLiteStore(db).close()  # create the schema before both start
    processes = [subprocess.Popen([sys.executable, "-m", "tracegraph.cli", "import", str(c),
                                   "--db", str(db), "--quiet"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for c in corpora]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
    store = SQLiteStore(db)
    assert store.counts().traces == 6_000
    assert store.integrity_problems() == []
    store.close()


def test_the_reader_process_reports_rejections_like_the_importer(
        tmp_path: Path, store: SQLiteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import tracegraph.services.importing as importing
    monkeypatch.setattr(importing, "PARALLEL_MIN_BYTES", 0)
    path = tmp_path / "mixed.jsonl"
    good = {"trace_id": "good", "steps": [{"id": "a", "kind": "llm"}]}
    path.write_bytes(orjson.dumps(good) + b'\n{"trace_id": "bad", "steps": [{"id": 1}]}\n')
    one = import_paths(store, [path], parallel=False)
    two = import_paths(SQLiteStore(tmp_path / "other.db"), [path], parallel=True)
    assert [str(e) for e in one.files[0].rejected] == [str(e) for e in two.files[0].rejected]
    assert two.files[0].rejected[0].field == "steps[0].id"
