"""Syncing one store into another: everything travels, a rerun writes nothing, an
interrupted sync resumes, SQLite → Bolt → SQLite round-trips, a store never
syncs onto itself.  Real stores throughout: SQLite files and the session's
FalkorDB server."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import msgspec
import pytest

from tracegraph.config import Config, load_config
from tracegraph.errors import StoreError
from tracegraph.model import Step, StepKind, Trace
from tracegraph.services.analysis import analysis_version, analyze_stale
from tracegraph.services.clusters import cluster_failures
from tracegraph.services.importing import import_paths
from tracegraph.services.sync import EMBEDDING_MODEL, SyncReport, sync_stores
from tracegraph.store import SQLiteStore

from .conftest import FIXTURES

_ANNOTATIONS = 3
_EMBEDDED = 2


def _config() -> Config:
    return load_config(FIXTURES / "tracegraph.toml")


def _annotate_and_embed(store: SQLiteStore) -> None:
    """What only people and the embedder add: notes on steps, cached vectors."""
    first, second = store.list_traces()[:2]
    step = store.get_trace(first.trace_id).steps[0].id
    # The same note twice is two notes: both must travel.
    for created in (10, 10):
        store.add_annotation(first.trace_id, step, label="wrong", note="reread the policy",
                             author="ana", created_ns=created)
    other = store.get_trace(second.trace_id).steps[-1].id
    store.add_annotation(second.trace_id, other, label="ok", note=None, author="bo",
                         created_ns=11)
    hashes = [h for h, _, _ in store.failure_signatures()][:_EMBEDDED]
    store.put_embeddings(EMBEDDING_MODEL, {h: bytes([i]) * 1536 for i, h in enumerate(hashes)})
    store.put_embeddings("some-other-model", {hashes[0]: b"\x01\x02"})


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLiteStore]:
    """Every fixture imported, analysed, clustered, annotated; tests only read it."""
    store = SQLiteStore(tmp_path_factory.mktemp("sync") / "source.db")
    config = _config()
    assert import_paths(store, [FIXTURES]).ok
    analyze_stale(store, config=config, workers=1)
    cluster_failures(store, config=config, embedder=None)
    _annotate_and_embed(store)
    yield store
    store.close()


def _state(store: Any) -> dict[str, Any]:
    """Everything a sync must carry, as the contract reads it back."""
    rows = store.list_traces()
    ids = [r.trace_id for r in rows]
    traces = store.get_traces(ids)
    keys = [(t.id, s.id) for t in traces.values() for s in t.steps]
    hashes = [h for h, _, _ in store.failure_signatures()]
    return {
        "rows": rows, "counts": store.counts(),
        "traces": {i: store.get_trace(i) for i in ids},
        "import_order": [r.trace_id for _, r, _ in store.find_traces(limit=10_000)],
        "analyses": store.analyses(ids), "waste": store.waste_totals(),
        "stale": store.stale_analyses(analysis_version(_config())),
        "signatures": store.failure_signatures(), "clusters": store.clusters(),
        "annotations": store.annotations(keys),
        "embeddings": store.embeddings(EMBEDDING_MODEL, hashes),
        "other_embeddings": store.embeddings("some-other-model", hashes),
    }


def _assert_same(found: dict[str, Any], expected: dict[str, Any]) -> None:
    for name in expected:
        if name != "other_embeddings":
            assert found[name] == expected[name], name


def _analysed(store: SQLiteStore, ids: list[str] | None = None) -> int:
    every = [r.trace_id for r in store.list_traces()]
    return len(store.analyses(every if ids is None else ids))


def test_sqlite_to_sqlite_copies_everything_and_a_rerun_writes_nothing(
        source: SQLiteStore, tmp_path: Path) -> None:
    expected = _state(source)
    total = len(expected["rows"])
    assert total > 20 and expected["clusters"] and expected["stale"] == []
    target = SQLiteStore(tmp_path / "copy.db")
    seen: list[tuple[int, int]] = []
    report = sync_stores(source, target, batch=10, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(d, total) for d in range(10, total, 10)] + [(total, total)]
    assert report == SyncReport(
        traces_seen=total, traces_written=total, analyses_written=_analysed(source),
        clusters=len(expected["clusters"]), embeddings=_EMBEDDED,
        annotations_added=_ANNOTATIONS)
    state = _state(target)
    _assert_same(state, expected)
    # Only the default embedder's vectors are copied: they are what clustering reuses.
    assert expected["other_embeddings"] and not state["other_embeddings"]

    again = sync_stores(source, target, batch=10)
    assert again == SyncReport(traces_seen=total, traces_unchanged=total,
                               analyses_unchanged=_analysed(source))
    _assert_same(_state(target), expected)
    target.close()


class _Interrupted(Exception):
    pass


def test_an_interrupted_sync_resumes_writing_only_the_rest(source: SQLiteStore,
                                                           tmp_path: Path) -> None:
    expected = _state(source)
    total = len(expected["rows"])
    target = SQLiteStore(tmp_path / "copy.db")

    def stop_after_first_batch(done: int, _total: int) -> None:
        raise _Interrupted(done)

    with pytest.raises(_Interrupted):
        sync_stores(source, target, batch=5, progress=stop_after_first_batch)
    first = expected["import_order"][:5]
    assert [r.trace_id for _, r, _ in target.find_traces(limit=100)] == first
    assert target.clusters() == []  # clusters come after every trace

    report = sync_stores(source, target, batch=5)
    written_before = _analysed(source, first)
    copied_notes = sum(len(v) for (t, _), v in expected["annotations"].items() if t in first)
    assert report == SyncReport(
        traces_seen=total, traces_written=total - 5, traces_unchanged=5,
        analyses_written=_analysed(source) - written_before,
        analyses_unchanged=written_before, clusters=len(expected["clusters"]),
        embeddings=_EMBEDDED, annotations_added=_ANNOTATIONS - copied_notes)
    _assert_same(_state(target), expected)
    target.close()


def test_a_trace_changed_in_the_target_gets_the_source_content_and_a_current_analysis(
        source: SQLiteStore, tmp_path: Path) -> None:
    target = SQLiteStore(tmp_path / "copy.db")
    sync_stores(source, target)
    trace_id = source.list_traces()[0].trace_id
    trace = target.get_trace(trace_id)
    target.write_traces([msgspec.structs.replace(
        trace, attributes={**trace.attributes, "edited": "in the target"})])
    analyze_stale(target, config=_config(), workers=1)
    assert target.analyses([trace_id]) == source.analyses([trace_id])  # equal, other content

    report = sync_stores(source, target)
    assert (report.traces_written, report.analyses_written) == (1, 1)
    assert target.get_trace(trace_id) == source.get_trace(trace_id)
    assert target.stale_analyses(analysis_version(_config())) == []
    target.close()


def test_an_analysis_of_older_content_is_not_copied_as_current(tmp_path: Path) -> None:
    source = SQLiteStore(tmp_path / "source.db")
    import_paths(source, [FIXTURES / "native"])
    analyze_stale(source, config=_config(), workers=1)
    trace = source.get_trace(source.list_traces()[0].trace_id)
    source.write_traces([msgspec.structs.replace(trace, attributes={"late": "span"})])
    target = SQLiteStore(tmp_path / "copy.db")

    report = sync_stores(source, target)
    assert report.analyses_stale == 1
    assert report.analyses_written == len(source.list_traces()) - 1
    assert trace.id not in target.analyses([trace.id])
    assert target.stale_analyses(analysis_version(_config())) == [trace.id]
    source.close()
    target.close()


def test_refused_traces_are_reported_and_the_rest_copied(tmp_path: Path) -> None:
    """A fragment that closes a cycle with what the target holds is refused, said so."""
    source = SQLiteStore(tmp_path / "source.db")
    source.write_traces([
        Trace(id="t", source_format="otlp", partial=True,
              steps=(Step(id="a", kind=StepKind.AGENT, parent_id="b", start_ns=1),)),
        Trace(id="u", source_format="otlp",
              steps=(Step(id="a", kind=StepKind.AGENT, start_ns=1),))])
    target = SQLiteStore(tmp_path / "copy.db")
    target.write_traces([Trace(id="t", source_format="otlp", partial=True, steps=(
        Step(id="b", kind=StepKind.LLM, parent_id="a", start_ns=2),))])

    report = sync_stores(source, target)
    assert [e.trace_id for e in report.rejected] == ["t"]
    assert "once merged" in str(report.rejected[0])
    assert report.traces_written == 1
    assert target.get_trace("u") == source.get_trace("u")
    source.close()
    target.close()


def test_a_store_is_never_synced_onto_itself(source: SQLiteStore) -> None:
    with pytest.raises(StoreError, match="onto itself"):
        sync_stores(source, source)
    path = Path(source.url)
    same_file = SQLiteStore(path.parent / ".." / path.parent.name / path.name)
    assert same_file.url != source.url
    with pytest.raises(StoreError, match="onto itself"):
        sync_stores(same_file, source)
    same_file.close()


def test_sqlite_to_bolt_and_back_round_trips(source: SQLiteStore, bolt_store: Any,
                                             tmp_path: Path) -> None:
    bolt_store._run_text("MATCH (n) DETACH DELETE n", {})
    expected = _state(source)
    total = len(expected["rows"])
    there = sync_stores(source, bolt_store, batch=10)
    assert (there.traces_written, there.annotations_added, there.rejected) == (
        total, _ANNOTATIONS, [])
    _assert_same(_state(bolt_store), expected)

    back = SQLiteStore(tmp_path / "back.db")
    report = sync_stores(bolt_store, back)
    assert report == SyncReport(
        traces_seen=total, traces_written=total, analyses_written=_analysed(source),
        clusters=len(expected["clusters"]), embeddings=_EMBEDDED,
        annotations_added=_ANNOTATIONS)
    _assert_same(_state(back), expected)

    again = sync_stores(source, bolt_store)
    assert again == SyncReport(traces_seen=total, traces_unchanged=total,
                               analyses_unchanged=_analysed(source))
    back.close()


def test_two_databases_of_one_bolt_server_are_two_stores(bolt_store: Any) -> None:
    from tracegraph.store.neo4j import Neo4jStore
    bolt_store._run_text("MATCH (n) DETACH DELETE n", {})
    import_paths(bolt_store, [FIXTURES / "native"])
    other = Neo4jStore(bolt_store.url, database="sync-copy")
    same = Neo4jStore(bolt_store.url)
    try:
        other._run_text("MATCH (n) DETACH DELETE n", {})
        report = sync_stores(bolt_store, other)
        assert report.traces_written == bolt_store.counts().traces > 0
        assert other.list_traces() == bolt_store.list_traces()
        with pytest.raises(StoreError, match="onto itself"):
            sync_stores(same, bolt_store)
    finally:
        other.close()
        same.close()
