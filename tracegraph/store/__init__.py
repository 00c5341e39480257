"""Stores: where the graph is kept.  ``open_store`` picks one from a URL or path."""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit
from pathlib import Path
from typing import Any, cast

from .base import AnalysisRecord, ClusterRow, FailureRow, OutcomeRow, Store, StoreCounts, TraceRow, WriteResult
from .sqlite import SQLiteStore

__all__ = ["AnalysisRecord", "ClusterRow", "FailureRow", "OutcomeRow", "Store", "StoreCounts", "TraceRow", "WriteResult", "SQLiteStore", "open_store",
           "resolve_db", "DEFAULT_DB", "bolt_credentials"]

DEFAULT_DB = "tracegraph.db"


def resolve_db(db: str | None) -> str:
    """``--db``, else ``TRACEGRAPH_DB``, else ``./tracegraph.db``."""
    return db or os.environ.get("TRACEGRAPH_DB") or DEFAULT_DB


def open_store(db: str | None = None) -> SQLiteStore:
    """Open (creating and migrating) the store named by ``db``.

    A path (or ``sqlite:///path``) opens the embedded SQLite store.  ``bolt://``,
    ``bolt+s://``, ``neo4j://`` and ``neo4j+s://`` URLs open a Bolt store (Neo4j
    5, Aura, a cluster, or FalkorDB): the user from the URL
    (``bolt://USER@HOST:7687``) or ``TRACEGRAPH_DB_USER``; the password from
    ``TRACEGRAPH_DB_PASSWORD`` (or the URL, where ``ps`` and shell history see
    it); the database from ``?database=NAME`` or ``TRACEGRAPH_DB_NAME``, else the
    server's default.  Passwords are never read from ``tracegraph.toml``, which
    gets committed, and never appear in messages.
    """
    url = resolve_db(db)
    if url.startswith(("bolt://", "bolt+s://", "neo4j://", "neo4j+s://")):
        from .neo4j import Neo4jStore
        address, credentials = bolt_credentials(url)
        bolt: Any = Neo4jStore(address, **credentials)
        return cast(SQLiteStore, bolt)
    if url.startswith("sqlite:///"):
        url = url.removeprefix("sqlite:///")
    return SQLiteStore(Path(url))


def bolt_credentials(url: str) -> tuple[str, dict[str, str | None]]:
    """Split a Bolt URL into the address the driver takes and the credentials.

    Credentials in the URL win over the environment; the address keeps the
    scheme, host, port and routing query, without user, password or database.
    """
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k != "database"]
    database = dict(parse_qsl(parts.query)).get("database") or os.environ.get(
        "TRACEGRAPH_DB_NAME")
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    address = urlunsplit((parts.scheme, netloc, "", urlencode(query), ""))
    return address, {
        "user": unquote(parts.username) if parts.username else os.environ.get(
            "TRACEGRAPH_DB_USER"),
        "password": unquote(parts.password) if parts.password else os.environ.get(
            "TRACEGRAPH_DB_PASSWORD"),
        "database": database}
