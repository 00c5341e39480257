"""Stores: where the graph is kept.  ``open_store`` picks one from a URL or path."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import StoreError
from .base import AnalysisRecord, ClusterRow, FailureRow, OutcomeRow, Store, StoreCounts, TraceRow, WriteResult
from .sqlite import SQLiteStore

__all__ = ["AnalysisRecord", "ClusterRow", "FailureRow", "OutcomeRow", "Store", "StoreCounts", "TraceRow", "WriteResult", "SQLiteStore", "open_store",
           "resolve_db", "DEFAULT_DB"]

DEFAULT_DB = "tracegraph.db"


def resolve_db(db: str | None) -> str:
    """``--db``, else ``TRACEGRAPH_DB``, else ``./tracegraph.db``."""
    return db or os.environ.get("TRACEGRAPH_DB") or DEFAULT_DB


def open_store(db: str | None = None) -> SQLiteStore:
    """Open (creating and migrating) the store named by ``db``."""
    url = resolve_db(db)
    if url.startswith(("bolt://", "bolt+s://", "neo4j://", "neo4j+s://")):
        raise StoreError(f"{url}: the Neo4j store is not part of this version; "
                         "use a SQLite file path")
    if url.startswith("sqlite:///"):
        url = url.removeprefix("sqlite:///")
    return SQLiteStore(Path(url))
