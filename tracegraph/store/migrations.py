"""The SQLite schema, as an ordered list of migrations.

``PRAGMA user_version`` holds how many have run.  A migration is appended,
never edited: a user's ``tracegraph.db`` from an older version is brought
forward by running the ones it lacks, inside one transaction.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

MIGRATIONS: tuple[str, ...] = (
    # 1: the graph of DESIGN.md.  Steps keep their source ids; the composite key
    # (trace_id, id) because span ids are only unique within a trace.  `payload`
    # is the whole Step as JSON, so reads never lose a field; the other columns
    # are what queries filter and aggregate on.  Steps is a rowid table: its rows
    # are large, where WITHOUT ROWID is slower.
    """
    CREATE TABLE traces (
        id              TEXT PRIMARY KEY,
        workflow        TEXT,
        source_format   TEXT NOT NULL,
        session_id      TEXT,
        outcome         TEXT NOT NULL,
        outcome_reason  TEXT,
        start_ns        INTEGER,
        end_ns          INTEGER,
        step_count      INTEGER NOT NULL,
        error_count     INTEGER NOT NULL,
        input_tokens    INTEGER NOT NULL,
        output_tokens   INTEGER NOT NULL,
        attributes      TEXT NOT NULL,
        declared        BLOB NOT NULL,
        content_hash    TEXT NOT NULL
    );
    CREATE INDEX traces_workflow ON traces(workflow, start_ns);
    CREATE INDEX traces_outcome ON traces(outcome);
    CREATE INDEX traces_start ON traces(start_ns);

    CREATE TABLE steps (
        trace_id        TEXT NOT NULL,
        id              TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        kind            TEXT NOT NULL,
        name            TEXT NOT NULL,
        parent_id       TEXT,
        start_ns        INTEGER,
        end_ns          INTEGER,
        status          TEXT NOT NULL,
        error_type      TEXT,
        model           TEXT,
        provider        TEXT,
        tool_name       TEXT,
        input_tokens    INTEGER,
        output_tokens   INTEGER,
        cached_input_tokens INTEGER,
        cost            TEXT,
        payload         BLOB NOT NULL,
        PRIMARY KEY (trace_id, id)
    );

    -- Key columns first: SQLite 3.40's integrity_check misreads WITHOUT ROWID
    -- tables whose key columns follow a non-key column.
    CREATE TABLE step_documents (
        trace_id    TEXT NOT NULL,
        step_id     TEXT NOT NULL,
        position    INTEGER NOT NULL,
        document_id TEXT NOT NULL,
        PRIMARY KEY (trace_id, step_id, position)
    ) WITHOUT ROWID;
    CREATE INDEX step_documents_document ON step_documents(document_id);

    -- Edges that carry evidence of their own and cannot be derived from the
    -- steps (the analyzer's READ/USES).  Relationships a step states itself
    -- (parent, model, tool, retry_of, declared inputs) are derived on read.
    CREATE TABLE edges (
        trace_id    TEXT NOT NULL,
        source      TEXT NOT NULL,
        target      TEXT NOT NULL,
        type        TEXT NOT NULL,
        evidence    TEXT NOT NULL,
        origin      TEXT NOT NULL,
        PRIMARY KEY (trace_id, source, target, type)
    ) WITHOUT ROWID;

    CREATE TABLE workflows (name TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE models (name TEXT PRIMARY KEY, provider TEXT, model TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE tools (name TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE documents (id TEXT PRIMARY KEY, title TEXT) WITHOUT ROWID;
    CREATE TABLE rules (id TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE actors (id TEXT PRIMARY KEY, role TEXT) WITHOUT ROWID;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
