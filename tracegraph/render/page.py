"""Pieces every report page shares: headline figures, captioned charts, moments in time.

Each report (waste, economics) builds a view of these from its document, so
a card, a chart or a timestamp reads the same on every page, in Markdown and
in HTML alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup

from .tables import Cell, code_span, markdown_text

__all__ = ["CHART_WIDTH", "Headline", "Chart", "moment", "markdown_inline"]

CHART_WIDTH = 952
"""The page's content width (report.css), so chart text shows at its design size."""


@dataclass(frozen=True)
class Headline:
    """One figure of a summary: what it is, its value, and a line that puts it in context.

    ``tone`` colours the card: ``good``, ``bad`` or ``unsure`` (a verdict),
    or nothing; ``warning`` marks a figure the reader must not miss.
    """

    label: str
    value: str
    detail: str
    exact: str | None = None
    warning: bool = False
    tone: str = ""


@dataclass(frozen=True)
class Chart:
    """A chart for the HTML report: its SVG (built here, so trusted) and a caption."""

    key: str
    svg: Markup
    caption: str


def moment(text: str | None) -> Cell:
    """An ISO 8601 time as ``2026-03-01 14:05 UTC``; kept verbatim (as code) if it does not parse.

    >>> moment("2026-03-01T14:05:09+00:00").text
    '2026-03-01 14:05 UTC'
    >>> moment("last tuesday").code
    True
    """
    if not text:
        return Cell("unknown")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return Cell(text, code=True)
    if len(text) <= 10:  # a bare date
        return Cell(parsed.strftime("%Y-%m-%d"), exact=text)
    offset = parsed.utcoffset()
    zone = "" if offset is None else " UTC" if offset == timedelta(0) else parsed.strftime(" %z")
    return Cell(parsed.strftime("%Y-%m-%d %H:%M") + zone, exact=text)


def markdown_inline(cell: Cell) -> str:
    """A cell in running Markdown text: names from the data as code spans, the rest escaped."""
    return code_span(cell.text) if cell.code else markdown_text(cell.text)
