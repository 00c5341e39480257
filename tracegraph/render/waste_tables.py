"""The wasted-spend report's tables: one :class:`~.tables.Table` per breakdown.

Kept apart from :mod:`.waste` (the page around them) because this is where
the document's fields meet the reader's words: which column holds what, how
rows are ranked, what a missing section says.  Names from the data (tools,
models, trace ids, workflows) become ``code`` cells, so both writers keep
them literal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping, Sequence

from .formatting import Amount, format_count, format_share, format_usd, to_decimal
from .tables import Cell, Column, Table

__all__ = ["REASONS", "NO_WORKFLOW", "TOP_ROWS", "reason_name", "share_of", "waste_tables"]

REASONS: dict[str, tuple[str, str]] = {
    "failed_attempt": ("Failed attempt", "failed, and a later step tried again"),
    "redundant_call": ("Redundant call", "repeated a call whose result was already there"),
    "loop": ("Loop", "third or later repetition of the same call"),
    "unused_retrieval": ("Unused retrieval", "none of the documents it fetched was used"),
    "dead_end": ("Dead end", "its information never reached the outcome"),
    "overridden": ("Overridden", "a human replaced its work"),
}
"""Reason keys (the analyzer's ``Reason`` values) as a reader should see them, and why."""

NO_WORKFLOW = "(no workflow)"

TOP_ROWS = 20
"""Rows shown from a per-tool or per-model breakdown; the rest are summed in one row."""

def share_of(part: Amount, whole: Amount) -> Decimal | None:
    """``part / whole``, or None when the whole is zero (a share of nothing is undefined)."""
    total = to_decimal(whole)
    return None if total == 0 else to_decimal(part) / total


def _usd(value: Amount | None) -> Cell:
    return Cell(format_usd(value), exact=None if value is None else f"${value}")


def _share(value: Amount | None) -> Cell:
    return Cell(format_share(value))


def reason_name(reason: str) -> str:
    """The reader's name for a reason; an unknown key (a newer analyzer) as it is."""
    return REASONS.get(reason, (reason, ""))[0]


def _named_amounts(amounts: Mapping[str, Amount], *, name: str, wasted: Amount,
                   key: str, title: str, note: str) -> Table:
    """A name → wasted dollars breakdown, largest first, the long end summed in one row."""
    ranked = sorted(amounts.items(), key=lambda item: to_decimal(item[1]), reverse=True)
    rows = [(Cell(label, code=True), _usd(usd), _share(share_of(usd, wasted)))
            for label, usd in ranked[:TOP_ROWS]]
    if len(ranked) > TOP_ROWS:
        rest = sum((to_decimal(usd) for _, usd in ranked[TOP_ROWS:]), Decimal(0))
        rows.append((Cell(f"{len(ranked) - TOP_ROWS} more"), _usd(rest),
                     _share(share_of(rest, wasted))))
    return Table(key, title, (Column(name), Column("Wasted spend", True),
                              Column("Share of waste", True)), tuple(rows), note=note,
                 empty=f"No wasted spend attributed to a {name.lower()}.")


def waste_tables(report: Mapping[str, Any]) -> tuple[Table, ...]:
    """Every table of the report, in reading order; a missing section is an empty table."""
    wasted = report["wasted_usd"]
    return (
        _reason_table(report.get("by_reason") or {}, wasted),
        _workflow_table(report.get("by_workflow") or []),
        _named_amounts(report.get("by_tool") or {}, name="Tool", wasted=wasted, key="by-tool",
                       title="Wasted spend by tool",
                       note="Tools whose calls cost money without moving the outcome."),
        _named_amounts(report.get("by_model") or {}, name="Model", wasted=wasted,
                       key="by-model", title="Wasted spend by model",
                       note="Models whose calls cost money without moving the outcome."),
        _documents_table(report.get("documents") or []),
        _retried_table(report.get("retried_tools") or []),
        _costliest_table(report.get("costliest") or []),
        _bloat_table(int(report.get("context_bloat_tokens") or 0),
                     report.get("context_bloat_usd"), report["total_usd"]),
    )


def _reason_table(by_reason: Mapping[str, Amount], wasted: Amount) -> Table:
    ranked = sorted(by_reason.items(), key=lambda item: to_decimal(item[1]), reverse=True)
    rows = tuple((Cell(reason_name(reason), code=reason not in REASONS),
                  Cell(REASONS.get(reason, ("", ""))[1]),
                  _usd(usd), _share(share_of(usd, wasted))) for reason, usd in ranked)
    return Table("by-reason", "Waste by reason",
                 (Column("Reason"), Column("Meaning"), Column("Wasted spend", True),
                  Column("Share of waste", True)), rows,
                 empty="No wasted spend: every priced step moved the outcome.")


def _workflow_table(by_workflow: Sequence[Mapping[str, Any]]) -> Table:
    rows = tuple((Cell(w["workflow"], code=True) if w.get("workflow") else Cell(NO_WORKFLOW),
                  Cell(format_count(int(w["traces"]))), _usd(w["total_usd"]),
                  _usd(w["wasted_usd"]), _share(share_of(w["wasted_usd"], w["total_usd"])))
                 for w in by_workflow)
    return Table("by-workflow", "By workflow",
                 (Column("Workflow"), Column("Traces", True), Column("Spend", True),
                  Column("Wasted", True), Column("Wasted share", True)), rows,
                 empty="No workflows.")


def _documents_table(documents: Sequence[Mapping[str, Any]]) -> Table:
    rows = tuple((Cell(d["document_id"], code=True), Cell(format_count(int(d["retrieved"]))),
                  Cell(format_count(int(d["used"]))),
                  _share(share_of(int(d["used"]), int(d["retrieved"]))),
                  Cell(format_count(int(d["unused_tokens"])))) for d in documents)
    return Table("documents", "Documents retrieved most, used least",
                 (Column("Document"), Column("Retrieved", True), Column("Used", True),
                  Column("Use rate", True), Column("Unused tokens", True)), rows,
                 note="Documents fetched again and again that rarely reach the outcome: "
                      "candidates to drop from the index or rank lower.",
                 empty="No retrieved documents.")


def _retried_table(retried: Sequence[Mapping[str, Any]]) -> Table:
    rows = tuple((Cell(r["tool"], code=True), Cell(format_count(int(r["failed_attempts"]))),
                  _usd(r["usd"])) for r in retried)
    return Table("retried-tools", "Most-retried tools",
                 (Column("Tool"), Column("Failed attempts", True),
                  Column("Spent on failed attempts", True)), rows,
                 note="The retry tax by tool: calls that failed and had to be made again.",
                 empty="No failed attempts.")


def _costliest_table(costliest: Sequence[Mapping[str, Any]]) -> Table:
    rows = tuple((Cell(c["trace_id"], code=True),
                  Cell(c["workflow"], code=True) if c.get("workflow") else Cell(NO_WORKFLOW),
                  Cell(str(c.get("outcome") or "unknown"), code=True), _usd(c["cost_usd"]),
                  _usd(c["wasted_usd"]), _share(share_of(c["wasted_usd"], c["cost_usd"])))
                 for c in costliest)
    return Table("costliest", "Costliest traces",
                 (Column("Trace"), Column("Workflow"), Column("Outcome"), Column("Cost", True),
                  Column("Wasted", True), Column("Wasted share", True)), rows,
                 empty="No traces.")


def _bloat_table(tokens: int, usd: Amount | None, total: Amount) -> Table:
    spent = usd is not None and to_decimal(usd) != 0
    rows = ((Cell("Tokens carried but unused"), Cell(format_count(tokens))),
            (Cell("Spend on them"), _usd(usd)),
            (Cell("Share of all spend"),
             _share(None if usd is None else share_of(usd, total))))
    return Table("context-bloat", "Context bloat", (Column("Measure"), Column("Value", True)),
                 rows if tokens or spent else (),
                 note="Prompt tokens sent to models that never influenced the outcome.",
                 empty="No context bloat found.")
