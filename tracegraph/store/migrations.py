"""The SQLite schema, as an ordered list of migrations.

``PRAGMA user_version`` holds how many have run.  A migration is appended,
never edited: a user's ``tracegraph.db`` from an older version is brought
forward by running the ones it lacks, inside one transaction.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

MIGRATIONS: tuple[str, ...] = (
    # 1: the graph of DESIGN.md.  A trace's full record (every step, every
    # field) is one JSON document in `traces.document`: a trace is read and
    # merged whole, and one encode per trace is far cheaper than one per step.
    # `steps` holds one narrow row per step for queries across traces (by
    # kind, model, tool, status); measured, each extra column costs ~5% of the
    # import, so tokens and costs per step, and which retrieved documents were
    # used, live with the analysis results (priced and judged there), not here.  Steps keep
    # their source ids, keyed (trace_key, id) since span ids are only unique
    # within a trace.  `model` is the Model node's name (provider/model).
    # Step rows are keyed by the trace's integer `key`, handed out in import
    # order, so a bulk import appends to the step index: keyed by the source
    # trace id (random hex in OTLP) every insert landed on a random page, and a
    # 1 GB import slowed by a fifth as the index outgrew the cache.
    """
    CREATE TABLE traces (
        key             INTEGER PRIMARY KEY,
        id              TEXT NOT NULL UNIQUE,
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
        document        BLOB NOT NULL,
        content_hash    TEXT NOT NULL
    );
    CREATE INDEX traces_workflow ON traces(workflow, start_ns);
    CREATE INDEX traces_outcome ON traces(outcome);
    CREATE INDEX traces_start ON traces(start_ns);

    CREATE TABLE steps (
        trace_key       INTEGER NOT NULL,
        id              TEXT NOT NULL,
        kind            TEXT NOT NULL,
        status          TEXT NOT NULL,
        model           TEXT,
        tool_name       TEXT,
        PRIMARY KEY (trace_key, id)
    ) WITHOUT ROWID;

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

    -- Shared nodes (Workflow, Model, Tool, Document, Rule, Actor): one row
    -- per label and name across all traces.
    CREATE TABLE entities (
        label       TEXT NOT NULL,
        name        TEXT NOT NULL,
        properties  TEXT NOT NULL,
        PRIMARY KEY (label, name)
    ) WITHOUT ROWID;
    """,
    # 2: analysis results, kept with the trace so reports are aggregate queries.
    # A result is current while its analyzer version and the trace's content
    # hash both match; amounts are exact decimal strings (summed by the
    # `decimal_sum` aggregate the store registers), NULL when unpriced.
    """
    CREATE TABLE analyses (
        trace_key        INTEGER PRIMARY KEY,
        analyzer_version TEXT NOT NULL,
        content_hash     TEXT NOT NULL,
        cost             TEXT NOT NULL,
        wasted           TEXT NOT NULL,
        unpriced_steps   INTEGER NOT NULL,
        bloat_tokens     INTEGER NOT NULL
    );
    CREATE TABLE step_analysis (
        trace_key   INTEGER NOT NULL,
        step_id     TEXT NOT NULL,
        role        TEXT NOT NULL,
        reason      TEXT,
        cost        TEXT,
        PRIMARY KEY (trace_key, step_id)
    ) WITHOUT ROWID;
    CREATE INDEX step_analysis_reason ON step_analysis(reason);
    """,
    # 3: what the waste report, explain and economics aggregate beyond totals:
    # the dollars of carried-but-unused context, human minutes, failed attempts
    # (first-try success is "succeeded with none"), and every retrieved
    # document's use.  Rows written by analyzer version 1 lack them and are
    # stale anyway (the analyzer version moved with this migration).
    """
    ALTER TABLE analyses ADD COLUMN bloat_usd TEXT NOT NULL DEFAULT '0';
    ALTER TABLE analyses ADD COLUMN human_minutes TEXT NOT NULL DEFAULT '0';
    ALTER TABLE analyses ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE document_use (
        trace_key   INTEGER NOT NULL,
        step_id     TEXT NOT NULL,
        document_id TEXT NOT NULL,
        used        INTEGER NOT NULL,
        tokens      INTEGER,
        PRIMARY KEY (trace_key, step_id, document_id)
    ) WITHOUT ROWID;
    CREATE INDEX document_use_document ON document_use(document_id);
    """,
    # 4: economics, and a faster waste report.  The cost of failed attempts
    # and of the model turns that handled them (the retry tax), of human
    # overrides, the number of model calls (context growth by turns), and each
    # model call's purpose (its span name: routing evidence compares models
    # per purpose).  Two covering indexes let the report read wasted steps and
    # documents without touching the tables (1.3 s and 0.5 s over a million
    # steps, now 0.07 s).  Analyses from before lack the new figures and are
    # stale anyway (the analyzer version moved with this migration).
    """
    ALTER TABLE analyses ADD COLUMN retry_usd TEXT NOT NULL DEFAULT '0';
    ALTER TABLE analyses ADD COLUMN human_usd TEXT NOT NULL DEFAULT '0';
    ALTER TABLE analyses ADD COLUMN model_calls INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE step_analysis ADD COLUMN purpose TEXT;
    DROP INDEX document_use_document;
    CREATE INDEX document_use_document ON document_use(document_id, used, tokens);
    CREATE INDEX step_analysis_wasted ON step_analysis(reason, cost)
        WHERE reason IS NOT NULL;
    """,
    # 5: failure clusters.  Each failed step, and each failed trace (step_id
    # ''), with its signature (a hash of the masked text, the text itself
    # once in `signatures`), written with the analysis.  Embeddings are
    # cached by signature and model, so a re-run embeds only what is new.
    # A cluster holds signatures; its money comes from the failures.
    """
    CREATE TABLE signatures (
        hash        TEXT PRIMARY KEY,
        text        TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE failures (
        trace_key   INTEGER NOT NULL,
        step_id     TEXT NOT NULL,
        signature   TEXT NOT NULL,
        kind        TEXT NOT NULL,
        tool        TEXT,
        model       TEXT,
        cost        TEXT,
        wasted      INTEGER NOT NULL,
        PRIMARY KEY (trace_key, step_id)
    ) WITHOUT ROWID;
    CREATE INDEX failures_signature ON failures(signature);
    CREATE TABLE embeddings (
        signature   TEXT NOT NULL,
        model       TEXT NOT NULL,
        vector      BLOB NOT NULL,
        PRIMARY KEY (signature, model)
    ) WITHOUT ROWID;
    CREATE TABLE clusters (
        id          TEXT PRIMARY KEY,
        label       TEXT NOT NULL,
        medoid      TEXT NOT NULL,
        method      TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE cluster_members (
        signature   TEXT PRIMARY KEY,
        cluster_id  TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX cluster_members_cluster ON cluster_members(cluster_id);
    """,
    # 6: human feedback on steps (GraphQL annotateStep), kept with its author
    # and time; never part of a trace's content, so it survives re-imports.
    """
    CREATE TABLE annotations (
        trace_id    TEXT NOT NULL,
        step_id     TEXT NOT NULL,
        label       TEXT NOT NULL,
        note        TEXT,
        author      TEXT NOT NULL,
        created_ns  INTEGER NOT NULL
    );
    CREATE INDEX annotations_step ON annotations(trace_id, step_id);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
