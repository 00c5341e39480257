"""Analyze a corpus on every core: worker processes analyze, this one writes.

Analysis is pure Python (values, edges, marks, prices) and holds the GIL, so
threads would not overlap it.  Each worker opens the store itself (SQLite in
WAL mode serves many readers beside one writer), analyzes a batch of traces
and hands back the records; the parent writes each batch in one transaction
as it arrives, so a killed run leaves whole batches or nothing, and the next
run picks up what is still stale.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Sequence

from ..config import Config
from ..store import AnalysisRecord, Store, open_store

__all__ = ["analyze_in_workers", "default_workers"]

_state: dict[str, Any] = {}


def default_workers() -> int:
    """One worker per core the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _start(url: str, credentials: dict[str, Any] | None, config: Config,
           analyze: Callable[[Store, str, Config], AnalysisRecord]) -> None:
    if credentials is None:
        _state["store"] = open_store(url)
    else:  # a Bolt store: the same server, user and database as the parent's
        from ..store.neo4j import Neo4jStore
        _state["store"] = Neo4jStore(url, **credentials)
    _state["config"] = config
    _state["analyze"] = analyze


def _analyze_batch(trace_ids: Sequence[str]) -> list[AnalysisRecord]:
    store, config, analyze = _state["store"], _state["config"], _state["analyze"]
    return [analyze(store, trace_id, config) for trace_id in trace_ids]


def analyze_in_workers(store: Store, trace_ids: Sequence[str], *, config: Config,
                       analyze: Callable[[Store, str, Config], AnalysisRecord],
                       workers: int, batch: int) -> None:
    """Analyze ``trace_ids`` with ``analyze`` in ``workers`` processes; write here."""
    context: Any = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    batches = [trace_ids[i:i + batch] for i in range(0, len(trace_ids), batch)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start,
                             initargs=(store.url, getattr(store, "credentials", None), config,
                                       analyze)) as pool:
        for records in pool.map(_analyze_batch, batches):
            store.write_analyses(records)
