"""The failure clusters report's tables: clusters by money, each cluster's members, the rest.

Kept apart from :mod:`.clusters` (the page around them) because this is where
the document's fields meet the reader's words.  Cluster ids, trace and step
ids, workflows, tools and masked signatures are user data and become ``code``
cells, so both writers keep them literal: a placeholder such as ``<id>`` in a
signature reads as ``<id>``, never as a tag.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .formatting import Amount, format_count, format_usd
from .page import moment
from .tables import Cell, Column, Table
from .waste_tables import NO_WORKFLOW

__all__ = ["MEMBERS_SHOWN", "UNCLUSTERED_SHOWN", "TRACE_LEVEL", "UNPRICED", "cluster_key",
           "usd_cell", "overview_table", "members_table", "unclustered_table"]

MEMBERS_SHOWN = 20
"""Members listed under each cluster; ``tracegraph clusters show ID`` lists them all."""

UNCLUSTERED_SHOWN = 50
"""Rows of the unclustered failures table; the JSON document holds the rest."""

TRACE_LEVEL = "(trace)"
"""The step column of a failure of the whole trace rather than of one step."""

UNPRICED = "unpriced"
"""A failure without a price: left out of every total, never shown as $0."""


def cluster_key(index: int) -> str:
    """The HTML id of the ``index``-th cluster's section (1-based): never user data."""
    return f"cluster-{index}"


def usd_cell(value: Amount | None) -> Cell:
    """Dollars rounded for reading, the exact amount on hover; ``unpriced`` for None."""
    if value is None:
        return Cell(UNPRICED)
    return Cell(format_usd(value), exact=f"${value}")


def overview_table(clusters: Sequence[Mapping[str, Any]]) -> Table:
    """One row per cluster, costliest first, each linked to its section."""
    rows = tuple((
        Cell(str(index)),
        Cell(str(item["id"]), code=True, link=f"#{cluster_key(index)}"),
        Cell(str(item.get("label") or "")),
        Cell(format_count(int(item.get("failures") or 0))),
        Cell(format_count(int(item.get("traces") or 0))),
        usd_cell(item.get("cost_usd") or "0"),
        usd_cell(item.get("wasted_usd") or "0"),
        moment(item.get("last_seen")),
    ) for index, item in enumerate(clusters, start=1))
    return Table("by-money", "Clusters by money",
                 (Column("#", True), Column("Cluster", nowrap=True), Column("Label"),
                  Column("Failures", True), Column("Traces", True), Column("Cost", True),
                  Column("Wasted", True), Column("Last seen", nowrap=True)), rows,
                 note="Every cluster, costliest first. The label is the cluster's most "
                      "distinctive words; its section below shows a real example.",
                 empty="No clusters.", compact=True)


def _member_row(member: Mapping[str, Any], *, workflow: bool) -> tuple[Cell, ...]:
    step = member.get("step_id")
    cells = [Cell(str(member.get("trace_id")), code=True),
             Cell(str(step), code=True) if step else Cell(TRACE_LEVEL),
             usd_cell(member.get("cost_usd")),
             moment(member.get("seen"))]
    if workflow:
        name = member.get("workflow")
        cells.append(Cell(str(name), code=True) if name else Cell(NO_WORKFLOW))
    cells.append(Cell(str(member.get("signature") or ""), code=True))
    return tuple(cells)


_MEMBER_COLUMNS = (Column("Trace", nowrap=True), Column("Step", nowrap=True),
                   Column("Cost", True), Column("Seen", nowrap=True))


def members_table(cluster: Mapping[str, Any], *, key: str) -> Table:
    """The cluster's first :data:`MEMBERS_SHOWN` failures, most recent first."""
    members = list(cluster.get("members") or [])[:MEMBERS_SHOWN]
    return Table(key, "Members", (*_MEMBER_COLUMNS, Column("Signature")),
                 tuple(_member_row(m, workflow=False) for m in members), compact=True,
                 empty="No members listed in this document.")


def unclustered_table(members: Sequence[Mapping[str, Any]], *, min_size: int) -> Table:
    """Failures in no cluster, or in one under ``min_size``: the first :data:`UNCLUSTERED_SHOWN`."""
    shown = members[:UNCLUSTERED_SHOWN]
    hidden = len(members) - len(shown)
    smaller = (f"fewer than {format_count(min_size)} failures" if min_size != 1
               else "no other failure")
    return Table(
        "unclustered", "Unclustered failures",
        (*_MEMBER_COLUMNS, Column("Workflow", nowrap=True), Column("Signature")),
        tuple(_member_row(m, workflow=True) for m in shown), compact=True,
        note=f"Failures like no other, or in a cluster of {smaller}: one-offs to read "
             "rather than patterns to fix.",
        empty="None: every failure fell in a cluster.",
        footnote=(f"Showing {format_count(len(shown))} of the {format_count(len(members))} "
                  "listed; the JSON document holds the rest." if hidden else ""))
