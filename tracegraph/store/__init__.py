"""Stores: where the graph is kept.  ``open_store`` picks one from a URL or path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

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
    """Open (creating and migrating) the store named by ``db``.

    ``bolt://``, ``neo4j://`` (and ``+s``) URLs open a Bolt store, with the user,
    password and database from ``TRACEGRAPH_DB_USER``, ``TRACEGRAPH_DB_PASSWORD``
    and ``TRACEGRAPH_DB_NAME`` (default ``tracegraph``).  That store is the first
    part of issue 7: importing and browsing traces; analyses need SQLite for now.
    """
    url = resolve_db(db)
    if url.startswith(("bolt://", "bolt+s://", "neo4j://", "neo4j+s://")):
        from .neo4j import Neo4jStore
        bolt: Any = Neo4jStore(url, user=os.environ.get("TRACEGRAPH_DB_USER"),
                               password=os.environ.get("TRACEGRAPH_DB_PASSWORD"),
                               database=os.environ.get("TRACEGRAPH_DB_NAME"))
        return cast(SQLiteStore, bolt)
    if url.startswith("sqlite:///"):
        url = url.removeprefix("sqlite:///")
    return SQLiteStore(Path(url))
