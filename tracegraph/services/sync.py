"""Copy one store into another: SQLite to a Bolt server, back, or SQLite to SQLite.

Everything a store holds travels: the traces (in the source's import order,
so paging the target later gives the same order), their analyses, the
annotations on their steps, the failure clusters and the cached embeddings of
the default embedder.  Only the ``Store`` contract is used, so any pair of
backends works.

Resuming is rerunning.  Stores number traces by their own keys, so there is no
cursor that means the same in both; instead every write is compared with what
the target already holds: traces are merged by content hash (an unchanged one
is counted, not written), analyses and embeddings equal to the target's are
skipped, annotations the target has are not added again.  A sync interrupted
after a few batches therefore writes only the rest when run again, and a full
rerun writes nothing.  Each batch is written traces first, then their analyses
and annotations, so an interruption leaves nothing that refers to a missing
trace.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any, Callable, Sequence

import msgspec

from ..analyze.embed import MiniLM
from ..errors import InputError, StoreError
from ..model import Trace
from ..store import AnalysisRecord, Store

__all__ = ["SyncReport", "sync_stores", "SYNC_METHOD", "EMBEDDING_MODEL"]

SYNC_METHOD = "copied by tracegraph sync"
"""The clustering method recorded for copied clusters.  The contract has no way to
read the source's method back (it is written, never read), so the target records
where its clusters came from instead of pretending to know how they were made."""

EMBEDDING_MODEL = MiniLM.name
"""The default embedder's model: its cached vectors are the ones clustering reuses."""


class SyncReport(msgspec.Struct, kw_only=True):
    """What a sync did, in the terms of ``WriteResult`` plus the analysis-side records."""

    traces_seen: int = 0
    traces_written: int = 0
    traces_unchanged: int = 0
    analyses_written: int = 0
    analyses_unchanged: int = 0
    analyses_stale: int = 0
    """Source analyses of an older content of their trace: not copied, since the
    target would take them as current; the target's next ``analyze`` redoes them."""
    clusters: int = 0
    """Clusters written (0 when the target already had the source's clusters)."""
    embeddings: int = 0
    """Cached embeddings written (those the target lacked or held otherwise)."""
    annotations_added: int = 0
    rejected: list[InputError] = msgspec.field(default_factory=list)
    """Traces the target refused (as ``write_traces`` reported them), never dropped."""


def sync_stores(source: Store, target: Store, *, batch: int = 200,
                progress: Callable[[int, int], None] | None = None) -> SyncReport:
    """Copy every trace, analysis, annotation, cluster and cached embedding of
    ``source`` into ``target``, ``batch`` traces per write.

    ``progress(done, total)`` is called after each batch with the traces read so
    far and the source's trace count; an exception it raises stops the sync
    with the finished batches written, and a rerun completes it.  Raises
    ``StoreError`` when both are the same store.
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1, not {batch}")
    _refuse_same_store(source, target)
    report = SyncReport()
    stale_in_source, stale_in_target = _StaleAnalyses(source), _StaleAnalyses(target)
    total = source.counts().traces
    after: int | None = None
    while True:
        page = source.find_traces(after_key=after, limit=batch)
        if not page:
            break
        after = page[-1][0]
        report.traces_seen += len(page)
        traces = source.get_traces([row.trace_id for _, row, _ in page])
        # In page order: the target numbers traces in the order it first sees them.
        ordered = [traces[row.trace_id] for _, row, _ in page if row.trace_id in traces]
        copied, rewrote = _copy_traces(target, ordered, report)
        _copy_analyses(source, target, [t.id for t in copied], rewrote=rewrote, report=report,
                       stale_in_source=stale_in_source, stale_in_target=stale_in_target)
        _copy_annotations(source, target, copied, report)
        if progress is not None:
            progress(report.traces_seen, max(total, report.traces_seen))
        if len(page) < batch:
            break
    _copy_clusters(source, target, report)
    _copy_embeddings(source, target, report, batch=batch)
    return report


def _refuse_same_store(source: Store, target: Store) -> None:
    """One store under two names would be read while written: refuse it.

    A Bolt server holds several databases under one URL, each a store of its
    own, so the database name (outside the contract: only Bolt stores have one)
    counts too; Neo4j folds its case, so it is compared folded, which at worst
    refuses two FalkorDB graphs differing only in case.
    """
    def database(store: Store) -> str:
        return str(getattr(store, "database", None) or "").casefold()

    same = source is target or (source.url, database(source)) == (target.url,
                                                                 database(target))
    if not same and os.path.exists(source.url) and os.path.exists(target.url):
        same = os.path.samefile(source.url, target.url)  # one SQLite file, two spellings
    if same:
        raise StoreError(f"cannot sync {source.url} onto itself: the source and the target "
                         "are the same store")


def _copy_traces(target: Store, traces: Sequence[Trace], report: SyncReport
                 ) -> tuple[list[Trace], bool]:
    """Write one batch: the traces the target now holds (the refused left out), and
    whether any of them was written (rather than found unchanged)."""
    if not traces:
        return [], False
    result = target.write_traces(traces)
    report.traces_written += result.traces_written
    report.traces_unchanged += result.traces_unchanged
    report.rejected.extend(result.rejected)
    refused = {error.trace_id for error in result.rejected}
    return [t for t in traces if t.id not in refused], result.traces_written > 0


class _StaleAnalyses:
    """Which of a store's analyses are of an older content of their trace.

    Asked once per analyzer version (``stale_analyses`` is one query over the
    store), not once per trace; valid for the traces the sync has not written
    since, which is every trace of a batch that wrote none.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._by_version: dict[str, set[str]] = {}

    def __call__(self, trace_id: str, version: str) -> bool:
        if version not in self._by_version:
            self._by_version[version] = set(self._store.stale_analyses(version))
        return trace_id in self._by_version[version]


def _copy_analyses(source: Store, target: Store, ids: Sequence[str], *, rewrote: bool,
                   report: SyncReport, stale_in_source: _StaleAnalyses,
                   stale_in_target: _StaleAnalyses) -> None:
    """Write the source's current analyses of ``ids`` that the target lacks or differs on.

    A record equal to the target's is rewritten all the same when the target's
    copy is not current (an interrupted sync may have changed the trace after
    its analysis was written); ``rewrote``: this batch changed traces, so ask
    the target about each such record instead of trusting what it said before.
    """
    if not ids:
        return
    current: list[AnalysisRecord] = []
    for record in source.analyses(ids).values():
        if stale_in_source(record.trace_id, record.version):
            report.analyses_stale += 1
        else:
            current.append(record)
    held = target.analyses([r.trace_id for r in current])

    def outdated(record: AnalysisRecord) -> bool:
        if held.get(record.trace_id) != record:
            return True
        if rewrote:
            return not target.analysis_is_current(record.trace_id, record.version)
        return stale_in_target(record.trace_id, record.version)

    changed = [r for r in current if outdated(r)]
    if changed:
        target.write_analyses(changed)
    report.analyses_written += len(changed)
    report.analyses_unchanged += len(current) - len(changed)


def _annotation_key(annotation: dict[str, Any]) -> tuple[Any, ...]:
    return (annotation["label"], annotation["note"], annotation["author"],
            annotation["created_ns"])


def _copy_annotations(source: Store, target: Store, traces: Sequence[Trace],
                      report: SyncReport) -> None:
    """Add the source's annotations on these traces' steps that the target lacks.

    Compared as multisets of (label, note, author, time): annotations have no
    id, and the same note twice is two notes.
    """
    keys = [(t.id, s.id) for t in traces for s in t.steps]
    if not keys:
        return
    wanted = source.annotations(keys)
    if not wanted:
        return
    held = target.annotations(list(wanted))
    for (trace_id, step_id), annotations in wanted.items():
        missing = Counter(map(_annotation_key, annotations)) - Counter(
            map(_annotation_key, held.get((trace_id, step_id), [])))
        for annotation in annotations:  # oldest first, as the source lists them
            key = _annotation_key(annotation)
            if missing[key] > 0:
                missing[key] -= 1
                target.add_annotation(trace_id, step_id, label=annotation["label"],
                                      note=annotation["note"], author=annotation["author"],
                                      created_ns=annotation["created_ns"])
                report.annotations_added += 1


def _copy_clusters(source: Store, target: Store, report: SyncReport) -> None:
    """Replace the target's clusters by the source's, unless they are the same already.

    A source without clusters leaves the target's alone: there is nothing to copy,
    and wiping clusters is a re-cluster's decision, not a copy's.
    """
    clusters = source.clusters()
    if not clusters or target.clusters() == clusters:
        return
    target.replace_clusters(clusters, SYNC_METHOD)
    report.clusters = len(clusters)


def _copy_embeddings(source: Store, target: Store, report: SyncReport, *,
                     batch: int) -> None:
    """Copy the default model's cached vectors of the source's failure signatures."""
    hashes = [h for h, _, _ in source.failure_signatures()]
    for start in range(0, len(hashes), batch):
        chunk = hashes[start:start + batch]
        vectors = source.embeddings(EMBEDDING_MODEL, chunk)
        if not vectors:
            continue
        held = target.embeddings(EMBEDDING_MODEL, list(vectors))
        missing = {h: v for h, v in vectors.items() if held.get(h) != v}
        if missing:
            target.put_embeddings(EMBEDDING_MODEL, missing)
            report.embeddings += len(missing)
