"""The corpus generator: repeatable, and the same runs whichever format it writes."""

from __future__ import annotations

from pathlib import Path

from tracegraph.services.importing import import_paths
from tracegraph.services.synth import write_corpus
from tracegraph.store import SQLiteStore


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    write_corpus(tmp_path / "a.jsonl", traces=30, seed=5)
    write_corpus(tmp_path / "b.jsonl", traces=30, seed=5)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_native_and_otlp_corpora_import_to_the_same_runs(tmp_path: Path) -> None:
    """OTLP carries segments on the root span and the outcome as tracegraph.outcome."""
    facts = []
    for fmt in ("native", "otlp"):
        corpus = tmp_path / f"{fmt}.jsonl"
        stats = write_corpus(corpus, traces=60, format=fmt, seed=9)
        store = SQLiteStore(tmp_path / f"{fmt}.db")
        report = import_paths(store, [corpus])
        assert report.ok and report.steps == stats.steps
        facts.append(sorted(
            (row.workflow, row.outcome.value, row.steps, row.errors, row.input_tokens,
             row.attributes.get("claim.type"), row.attributes.get("ticket.priority"))
            for row in store.list_traces()))
        store.close()
    assert facts[0] == facts[1]
    assert any(f[5] == "auto" for f in facts[1]) and any(f[1] == "failure" for f in facts[1])
