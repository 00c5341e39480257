"""Tables built once and written twice: as GitHub-flavoured Markdown and as HTML.

A report describes each table as a :class:`Table` of already formatted
:class:`Cell` values; the Markdown writer here and the HTML macro in
``templates/macros.html`` both draw from it, so the two formats cannot drift
apart in what they show.

Cells that hold names from the data (tools, models, trace ids) are marked
``code``: Markdown puts them in code spans, where no ``*``, ``_`` or ``<tag>``
in a name is interpreted, and HTML in ``<code>``, escaped by the template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Cell", "Column", "Table", "code_span", "markdown_text", "markdown_table"]


@dataclass(frozen=True)
class Cell:
    """One formatted value; ``exact`` is the unrounded figure, shown on hover in HTML.

    ``badge`` is a short flag shown after the value (``small sample``);
    ``tone`` colours it in HTML (``good``, ``bad``, ``unsure``) and says
    nothing in Markdown, so the text alone must carry the meaning.
    ``link`` is an anchor on the same page (``#cluster-3``), built by the
    report and never from user data; HTML makes the value a link to it.
    """

    text: str
    exact: str | None = None
    code: bool = False
    badge: str = ""
    tone: str = ""
    link: str = ""


@dataclass(frozen=True)
class Column:
    """A heading, and whether the column holds numbers (right-aligned, tabular digits).

    ``nowrap`` keeps each value on one line in HTML (ids, times), where a
    break would read as two values.
    """

    name: str
    numeric: bool = False
    nowrap: bool = False


@dataclass(frozen=True)
class Table:
    """A titled table with a sentence saying why it matters and what to say when empty."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""
    empty: str = "None."
    footnote: str = ""
    compact: bool = False
    """Many columns: smaller type, headings that wrap, names broken only between words."""


_BACKTICKS = re.compile("`+")
_LINE_BREAKS = re.compile(r"[\r\n\t\f\v]+")


def code_span(text: str, *, in_table: bool = False) -> str:
    """``text`` as a Markdown code span, literal whatever it holds.

    The fence is one backtick longer than any run inside, as CommonMark
    requires; inside a table a ``|`` must still be escaped or it splits the
    cell (GFM strips the backslash again).
    """
    text = _LINE_BREAKS.sub(" ", text)
    if not text.strip():
        return "(blank)"
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    if in_table:
        padded = padded.replace("|", "\\|")
    return f"{fence}{padded}{fence}"


_MARKUP = re.compile(r"([\\`*\[<|])")
_EMPHASIS_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def markdown_text(text: str) -> str:
    """Plain text that stays plain in Markdown, on one line, whatever it holds.

    Escapes what could open markup anywhere in a line (code, emphasis, links,
    HTML, table cells); an underscore only where it could start emphasis, so
    ``baseline_usd`` stays readable.

    >>> print(markdown_text("*bold* <b>x</b> [a](b) a|b snake_case _x_"))
    \\*bold\\* \\<b>x\\</b> \\[a](b) a\\|b snake_case \\_x\\_
    """
    text = _MARKUP.sub(r"\\\1", " ".join(text.split()))
    return _EMPHASIS_UNDERSCORE.sub(r"\\_", text)


def _markdown_cell(cell: Cell) -> str:
    text = code_span(cell.text, in_table=True) if cell.code else markdown_text(cell.text)
    return f"{text} _({markdown_text(cell.badge)})_" if cell.badge else text


def markdown_table(table: Table, *, level: int = 2) -> str:
    """The table as GFM under a heading of ``level``; the ``empty`` sentence when it has no rows."""
    lines = [f"{'#' * level} {markdown_text(table.title)}", ""]
    if table.note:
        lines += [markdown_text(table.note), ""]
    if not table.rows:
        lines.append(f"_{markdown_text(table.empty)}_")
        return "\n".join(lines)
    lines.append("| " + " | ".join(markdown_text(column.name) for column in table.columns)
                 + " |")
    lines.append("|" + "|".join("---:" if column.numeric else "---"
                                for column in table.columns) + "|")
    lines.extend("| " + " | ".join(_markdown_cell(cell) for cell in row) + " |"
                 for row in table.rows)
    if table.footnote:
        lines += ["", markdown_text(table.footnote)]
    return "\n".join(lines)
